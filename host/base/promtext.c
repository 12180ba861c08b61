/*
 * promtext — see promtext.h. HELP text escapes \ and newline only (the
 * format's rule); label values escape the double quote too.
 */
#include "promtext.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static void puts_(const char *s, json_sink put, void *ud)
{
	put(ud, s, strlen(s));
}

static void escape(const char *s, int quote, json_sink put, void *ud)
{
	const char *run = s;
	for (; *s; s++) {
		const char *rep = *s == '\\' ? "\\\\" : *s == '\n' ? "\\n"
			       : (quote && *s == '"') ? "\\\"" : NULL;
		if (!rep)
			continue;
		if (s > run)
			put(ud, run, (size_t)(s - run));
		puts_(rep, put, ud);
		run = s + 1;
	}
	if (s > run)
		put(ud, run, (size_t)(s - run));
}

void prom_escape(const char *s, json_sink put, void *ud)
{
	escape(s, 1, put, ud);
}

void prom_value(double v, json_sink put, void *ud)
{
	char b[40];
	if (isnan(v))
		snprintf(b, sizeof b, "NaN");
	else if (isinf(v))
		snprintf(b, sizeof b, "%sInf", v > 0 ? "+" : "-");
	else
		snprintf(b, sizeof b, "%.17g", v);
	puts_(b, put, ud);
}

void prom_sample(const char *name, const char *labels, double v, json_sink put, void *ud)
{
	puts_(name, put, ud);
	if (labels && *labels) {
		put(ud, "{", 1);
		puts_(labels, put, ud);
		put(ud, "}", 1);
	}
	put(ud, " ", 1);
	prom_value(v, put, ud);
	put(ud, "\n", 1);
}

void prom_histo(const char *name, const char *labels, const struct histo *h, json_sink put,
		void *ud)
{
	char n[160], l[640];
	uint64_t cum = 0;
	snprintf(n, sizeof n, "%s_bucket", name);
	for (int i = 0; i <= HISTO_BUCKETS; i++) {
		cum += h->count[i];
		char le[40];
		if (i < HISTO_BUCKETS)
			snprintf(le, sizeof le, "%g", (double)histo_bounds_ns[i] / 1e9);
		else
			snprintf(le, sizeof le, "+Inf");
		snprintf(l, sizeof l, "%s%sle=\"%s\"", labels, *labels ? "," : "", le);
		prom_sample(n, l, (double)cum, put, ud);
	}
	snprintf(n, sizeof n, "%s_sum", name);
	prom_sample(n, labels, (double)h->sum_ns / 1e9, put, ud);
	snprintf(n, sizeof n, "%s_count", name);
	prom_sample(n, labels, (double)h->n, put, ud);
}

void prom_header(const char *name, const char *type, const char *help, json_sink put, void *ud)
{
	puts_("# HELP ", put, ud);
	puts_(name, put, ud);
	put(ud, " ", 1);
	escape(help, 0, put, ud);
	puts_("\n# TYPE ", put, ud);
	puts_(name, put, ud);
	put(ud, " ", 1);
	puts_(type, put, ud);
	put(ud, "\n", 1);
}
