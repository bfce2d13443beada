/* Deep copy of a server section (used by microbenchmarks, which embed a server config). */
#include <string.h>

#include "config/config.h"
#include "core/xalloc.h"

void config_server_copy(struct cfg_server *dst, const struct cfg_server *src)
{
	*dst = *src;
	dst->env_path = xstrdup(src->env_path);
	dst->model = xstrdup(src->model);
	dst->host = xstrdup(src->host);
	dst->api_key = xstrdup(src->api_key);
	dst->dtype = xstrdup(src->dtype);
	dst->additional_args = xstrdup(src->additional_args);
	dst->gpu_ids = NULL;
	if (src->gpu_ids && src->n_gpu_ids) {
		dst->gpu_ids = xcalloc(src->n_gpu_ids, sizeof *dst->gpu_ids);
		memcpy(dst->gpu_ids, src->gpu_ids, src->n_gpu_ids * sizeof *dst->gpu_ids);
	}
}
