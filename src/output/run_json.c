/* Reading back a run's JSON files (see run_json.h). */
#include "output/run_json.h"

#include <cjson/cJSON.h>
#include <stdlib.h>

#include "core/fsutil.h"
#include "core/jsonw.h"

cJSON *run_json_read(const char *dir, const char *name)
{
	char *path = fs_path_join(dir, name);
	char *text = fs_read_file(path, NULL);
	free(path);
	if (!text)
		return NULL;
	char *strict = jsonw_python_to_strict(text);
	free(text);
	cJSON *j = cJSON_Parse(strict);
	free(strict);
	return j;
}
