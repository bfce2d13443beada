/* placeholder so vk_client has a source */ typedef int vk_client_placeholder;
