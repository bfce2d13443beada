/* libFuzzer target for the Prometheus text-format parser (src/observe/prom_parse.c) and the
 * scraper's ingestion (series table, online statistics).
 * Properties: never reads past the input; every parsed sample, printed back as
 * name{labels} value, parses to the same name, labels and value; ingesting a page twice
 * gives every series listed once per page a zero increase. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "observe/observe_internal.h"
#include "observe/prom_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* an exact-size copy, so ASan catches any read past the end */
	char *in = malloc(size ? size : 1);
	if (size)
		memcpy(in, data, size);
	struct prom_page pg;
	prom_parse(in, size, &pg);
	struct buf b;
	buf_init(&b);
	for (size_t i = 0; i < pg.n_samples; i++) {
		const struct prom_sample *s = &pg.samples[i];
		buf_reset(&b);
		buf_printf(&b, "%s{%s} %.17g\n", s->name, s->labels_text, s->value);
		struct prom_page again;
		if (prom_parse(b.data, b.len, &again) != 0 || again.n_samples != 1)
			abort();
		const struct prom_sample *t = &again.samples[0];
		if (strcmp(t->name, s->name) || strcmp(t->labels_text, s->labels_text) ||
		    strcmp(t->series_text, s->series_text))
			abort();
		if (!(t->value == s->value || (isnan(t->value) && isnan(s->value))))
			abort();
		prom_page_free(&again);
	}
	buf_free(&b);
	prom_page_free(&pg);

	static const char *const prefixes[] = {""};
	struct obs_scraper *sc = obs_scraper_new_for_test("fuzz", prefixes, 1);
	obs_scraper_ingest(sc, 1, in, size, NULL);
	obs_scraper_ingest(sc, 2, in, size, NULL);
	/* (a series listed twice in one page changes within the page: no claim then) */
	for (size_t i = 0; i < sc->n_series; i++)
		if (sc->series[i].n == 2 && sc->series[i].delta != 0 && isfinite(sc->series[i].first))
			abort();
	obs_scraper_free(sc);
	free(in);
	return 0;
}
