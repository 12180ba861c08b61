/*
 * promtext — pieces of the Prometheus text exposition format 0.0.4, written
 * through a json_sink (the same sink type as jsonfmt): label values escaped
 * (\\, \", \n), sample values as Go's ParseFloat reads them (+Inf, -Inf,
 * NaN), histograms as cumulative _bucket{le=...}, _sum and _count lines.
 */
#ifndef GANTRY_PROMTEXT_H
#define GANTRY_PROMTEXT_H

#include "histo.h"
#include "jsonfmt.h"

/* A label value with \, " and newline escaped (no quotes around it). */
void prom_escape(const char *s, json_sink put, void *ud);
/* A sample value: %.17g, or +Inf / -Inf / NaN. */
void prom_value(double v, json_sink put, void *ud);
/* One sample line: NAME{LABELS} VALUE\n; labels is the text between the
 * braces, already escaped ("" for none). */
void prom_sample(const char *name, const char *labels, double v, json_sink put, void *ud);
/* A histogram's lines for one label set (labels "" or `k="v"`), in seconds. */
void prom_histo(const char *name, const char *labels, const struct histo *h, json_sink put,
		void *ud);
/* `# HELP` and `# TYPE` lines. */
void prom_header(const char *name, const char *type, const char *help, json_sink put, void *ud);

#endif
