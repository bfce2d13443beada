#ifndef VK_OUTPUT_REPORT_HTML_H
#define VK_OUTPUT_REPORT_HTML_H
/* Self-contained HTML reports (docs/OUTPUTS.md, report.html): one file with inline CSS and inline
 * SVG charts, no script, no font, no request of any kind, so it opens offline and can be mailed.
 * Each writer reads only the files already in the directory (with cJSON), so it can run after every
 * other output is written and on any run directory; a missing input leaves its section out (or says
 * "not available"), it never fails the report. */

/* <run_dir>/metrics/report.html from the run's metrics/ files, config.yml and server.json.
 * 0, or -1 when the file could not be written (logged with the reason). */
int report_html_write_run(const char *run_dir);

/* <sweep_dir>/report.html from sweep_summary.json: every metric against the swept value.
 * 0, or -1 when sweep_summary.json is unreadable or the file could not be written (logged). */
int report_html_write_sweep(const char *sweep_dir);

/* <search_dir>/report.html from capacity_search_results.json: each SLO's observed value against the
 * probed value, the thresholds and the capacity found. 0, or -1 as above. */
int report_html_write_capacity(const char *search_dir);

#endif
