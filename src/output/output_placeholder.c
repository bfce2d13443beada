/* placeholder so vk_output has a source */ typedef int vk_output_placeholder;
