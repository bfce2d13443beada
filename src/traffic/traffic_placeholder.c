/* placeholder so vk_traffic has a source */ typedef int vk_traffic_placeholder;
