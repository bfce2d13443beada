#ifndef VK_OUTPUT_RUN_JSON_H
#define VK_OUTPUT_RUN_JSON_H
/* Reading back a JSON file a run wrote (summary_stats.json, client_usage.json, ...): the reports,
 * the sweep summary and the capacity search read runs' outputs this one way (docs/OUTPUTS.md). */

struct cJSON;

/* <dir>/<name> parsed with cJSON, Python's Infinity/NaN tokens accepted (Infinity as inf, NaN as
 * null); NULL when missing or not JSON. */
struct cJSON *run_json_read(const char *dir, const char *name);

#endif
