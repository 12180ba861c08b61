/*
 * data_cmd — `gantry data check FILE... [--html OUT.html] [--config DEPLOY.lua]`:
 * the integrity checks a run applies (market/datacheck.c) over CSV bars or
 * an ITCH day, read by the readers backtest uses (bars.c in raw mode, so
 * that what a run would refuse is reported instead; itch.c and book.c),
 * with the deploy config's `data_checks` (and its `data` section for CSV).
 *
 * Prints per check its level, its count and the first findings (FILE:LINE
 * or byte offset, symbol, time, what); --html writes a page with a chart
 * per symbol marking where the findings are. Exit 0 clean or warnings
 * only, 1 a finding at error level, 2 bad usage or unreadable input.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bars.h"
#include "book.h"
#include "cli.h"
#include "config.h"
#include "datacheck.h"
#include "datacheck_config.h"
#include "itch.h"
#include "jsonfmt.h"
#include "log.h"
#include "series.h"
#include "symtab.h"
#include "timefmt.h"
#include "tz.h"

#define SHOWN 5		 /* findings printed per check */
#define KEPT 5000	 /* findings kept for the chart */
#define CHART_SYMBOLS 64 /* symbols with a price line */
#define MAX_FILES 64

struct finding {
	int64_t t;
	int sym, kind, level;
	double y; /* where on the price chart */
	char where[96];
	char what[200];
};

struct data_run {
	const char *files[MAX_FILES];
	int nfiles;
	const char *html, *config;
	struct deploy_config cfg;
	struct symtab *st;
	struct datacheck *dc;
	int ticks; /* an ITCH day: times since midnight */
	long values;
	struct finding shown[DC__COUNT][SHOWN];
	struct finding *kept;
	size_t nkept;
	struct series *px; /* per symbol id < CHART_SYMBOLS */
	char names[CHART_SYMBOLS][16];
	struct tz *tz;
};

static void usage(FILE *out)
{
	fputs("usage: gantry data check FILE... [--html OUT.html] [--config DEPLOY.lua]\n"
	      "\n"
	      "Runs the data integrity checks a backtest or paper run applies over CSV bars\n"
	      "or an ITCH day (.itch, .itch.gz): prices, ohlc, time_back, duplicates, gaps,\n"
	      "jump, stale, volume_spike (bars); prices, time_back, jump, crossed (ticks).\n"
	      "Prints per check its level, count and first findings.\n"
	      "\n"
	      "  --html OUT    also write a page with a chart of where the findings are\n"
	      "  --config F    the deploy config: its data_checks (levels, thresholds) and,\n"
	      "                for CSV, its data section (columns, header, time_format, tz)\n"
	      "\n"
	      "Exit status: 0 clean or warnings only, 1 a finding at error level,\n"
	      "2 bad usage or a file that cannot be read.\n",
	      out);
}

static int is_itch(const char *p)
{
	size_t n = strlen(p);
	return (n > 5 && !strcmp(p + n - 5, ".itch")) || (n > 8 && !strcmp(p + n - 8, ".itch.gz"));
}

/* 0 ok, 1 help printed, 2 bad usage (printed). */
static int parse_args(int argc, char **argv, struct data_run *r)
{
	if (argc < 2 || strcmp(argv[1], "check") != 0) {
		if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
			usage(stdout);
			return 1;
		}
		log_user_error("data: expected 'check' (gantry data check FILE... [--html OUT] "
			       "[--config DEPLOY.lua])");
		return 2;
	}
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			usage(stdout);
			return 1;
		} else if (!strcmp(a, "--html") || !strcmp(a, "--config")) {
			if (!val || !*val) {
				log_user_error("data check: %s needs a file name", a);
				return 2;
			}
			*(a[2] == 'h' ? &r->html : &r->config) = argv[++i];
		} else if (a[0] == '-' && a[1] != '\0') {
			log_user_error(
			    "data check: unknown option '%s' (try 'gantry data check --help')", a);
			return 2;
		} else if (r->nfiles == MAX_FILES) {
			log_user_error("data check: at most %d files", MAX_FILES);
			return 2;
		} else {
			r->files[r->nfiles++] = a;
		}
	}
	if (r->nfiles == 0) {
		log_user_error("data check: no FILE given (CSV bars or an ITCH day)");
		return 2;
	}
	int itch = 0;
	for (int i = 0; i < r->nfiles; i++)
		itch += is_itch(r->files[i]);
	if (itch && r->nfiles > 1) {
		log_user_error("data check: an ITCH day is checked alone (%d files given)",
			       r->nfiles);
		return 2;
	}
	r->ticks = itch > 0;
	return 0;
}

static void format_time(const struct data_run *r, int64_t t, char *out, size_t len)
{
	if (r->ticks) { /* ns since midnight */
		int64_t s = t / 1000000000, ns = t % 1000000000;
		snprintf(out, len, "%02d:%02d:%02d.%09d", (int)(s / 3600), (int)(s / 60 % 60),
			 (int)(s % 60), (int)ns);
		return;
	}
	char iso[TIME_ISO_LEN + 1];
	time_format_iso(t, iso);
	snprintf(out, len, "%s", iso);
}

static void chart_point(struct data_run *r, int sym, const char *name, int64_t t, double v)
{
	if (sym < 0 || sym >= CHART_SYMBOLS || !isfinite(v) || v <= 0)
		return;
	if (!r->names[sym][0])
		snprintf(r->names[sym], sizeof r->names[sym], "%s", name);
	series_push(&r->px[sym], t, v);
}

/* Every finding of one value: kept for the report and the chart. */
static void record(struct data_run *r, const struct datacheck_result *res, int sym,
		   const char *name, int64_t t, double y, const char *where)
{
	const struct datacheck_config *c = datacheck_config_of(r->dc);
	for (int k = 0; k < DC__COUNT; k++) {
		if (!(res->mask & (1u << k)))
			continue;
		struct finding f = {.t = t, .sym = sym, .kind = k, .level = c->level[k], .y = y};
		char tt[48];
		format_time(r, t, tt, sizeof tt);
		snprintf(f.where, sizeof f.where, "%s  %s  %s", where, name, tt);
		datacheck_describe(k, res, f.what, sizeof f.what);
		long n = datacheck_count(r->dc, k);
		if (n <= SHOWN)
			r->shown[k][n - 1] = f;
		if (r->nkept < KEPT)
			r->kept[r->nkept++] = f;
	}
}

static int check_csv(struct data_run *r, const char *path)
{
	char err[1024], inner[512];
	struct bars_options bo = {.header = r->cfg.data_header,
				  .time_form = r->cfg.data_time_form >= 0 ? r->cfg.data_time_form
									  : TIME_AUTO,
				  .tz = r->tz,
				  .raw = 1};
	if (r->cfg.data_columns)
		bars_columns(&bo, r->cfg.data_columns, inner, sizeof inner);
	struct bars_file bf;
	if (bars_open(&bf, path, r->st, &bo, err, sizeof err) != 0) {
		log_user_error("%s", err);
		return EXIT_USAGE;
	}
	struct bar b;
	int rc;
	while ((rc = bars_next(&bf, &b, err, sizeof err)) > 0) {
		r->values++;
		struct datacheck_result res;
		const char *name = symtab_name(r->st, b.sym);
		chart_point(r, b.sym, name, b.time, b.close);
		if (datacheck_bar(r->dc, &b, &res)) {
			char where[80];
			snprintf(where, sizeof where, "%s:%d", path, bf.line);
			record(r, &res, b.sym, name, b.time, b.close, where);
		}
	}
	bars_close(&bf);
	if (rc < 0) {
		log_user_error("%s", err);
		return EXIT_USAGE;
	}
	return EXIT_OK;
}

/* The name of a locate, as the book knows it ("#LOCATE" before its R);
 * buf holds 16 bytes. */
static const char *locate_name(const struct book_set *bs, uint16_t loc, char *buf)
{
	struct book_status st;
	book_status(bs, loc, &st);
	if (st.name[0])
		snprintf(buf, 16, "%s", st.name);
	else
		snprintf(buf, 16, "#%u", (unsigned)loc);
	return buf;
}

static int check_itch(struct data_run *r, const char *path)
{
	char err[1024];
	struct itch_reader rd;
	if (itch_reader_open(&rd, path, err, sizeof err) != 0) {
		log_user_error("%s", err);
		return EXIT_USAGE;
	}
	rd.check_time = 0; /* time going back is the checks' finding, not a stop */
	struct book_config bc = {0};
	struct book_set *bs = book_set_new(&bc);
	if (!bs) {
		itch_reader_close(&rd);
		log_user_error("out of memory");
		return EXIT_USAGE;
	}
	long decode_errors = 0;
	int status = EXIT_OK;
	struct itch_msg m;
	for (;;) {
		int rc = itch_reader_next(&rd, &m);
		if (rc == 0)
			break;
		if (rc < 0) {
			/* a frame that cannot be decoded: the file is broken, not a value */
			if (++decode_errors <= SHOWN)
				fprintf(stderr, "gantry: %s: byte %" PRIu64 ": %s\n", path,
					rd.err_offset, rd.err_text);
			if (rc == ITCH_ERR_TRUNCATED || rc == ITCH_ERR_IO) {
				status = EXIT_USAGE;
				break;
			}
			continue;
		}
		struct book_event ev;
		if (book_apply(bs, &m, &ev) != 0) { /* the book's own integrity: counted, shown */
			if (++decode_errors <= SHOWN)
				fprintf(stderr,
					"gantry: %s: byte %" PRIu64 ": message '%c' does not fit "
					"the book (unknown, duplicate or over-reduced order)\n",
					path, itch_reader_offset(&rd), m.type);
			continue;
		}
		int has_trade = ev.has_trade && ev.trade_qty > 0;
		if (!ev.top_changed && !has_trade)
			continue;
		r->values++;
		int64_t t = (int64_t)m.ts;
		struct top_of_book top = {t, m.locate, 0, 0, 0, 0};
		struct trade_event tr = {t, m.locate, ev.trade_price / 1e4, (double)ev.trade_qty,
					 0};
		if (ev.top_changed) {
			struct book_top bt;
			book_top(bs, m.locate, &bt);
			top.bid = bt.bid / 1e4;
			top.ask = bt.ask / 1e4;
			top.bid_qty = (double)bt.bid_qty;
			top.ask_qty = (double)bt.ask_qty;
		}
		char name[16];
		locate_name(bs, m.locate, name);
		if (has_trade)
			chart_point(r, m.locate, name, t, tr.price);
		struct datacheck_result res;
		if (datacheck_tick(r->dc, t, m.locate, ev.top_changed ? &top : NULL,
				   has_trade ? &tr : NULL, &res)) {
			char where[80];
			snprintf(where, sizeof where, "%s: byte %" PRIu64, path,
				 itch_reader_offset(&rd));
			double y = has_trade ? tr.price : top.bid > 0 ? top.bid : top.ask;
			record(r, &res, m.locate, name, t, y, where);
		}
	}
	if (decode_errors > 0) {
		fprintf(stderr, "gantry: %s: %ld message%s could not be decoded or applied\n", path,
			decode_errors, decode_errors == 1 ? "" : "s");
		if (status == EXIT_OK)
			status = EXIT_RUNTIME;
	}
	book_set_free(bs);
	itch_reader_close(&rd);
	return status;
}

static void print_report(const struct data_run *r, int *worst)
{
	const struct datacheck_config *c = datacheck_config_of(r->dc);
	printf("data check: %d file%s, %ld %s, policy in a run: %s\n", r->nfiles,
	       r->nfiles == 1 ? "" : "s", r->values, r->ticks ? "quotes and trades" : "bars",
	       datacheck_policy_name(c->policy));
	long errors = 0, warnings = 0;
	for (int k = 0; k < DC__COUNT; k++) {
		long n = datacheck_count(r->dc, k);
		printf("%-13s %-5s %8ld\n", datacheck_name(k), datacheck_level_name(c->level[k]),
		       n);
		for (long i = 0; i < n && i < SHOWN; i++)
			printf("  %s  %s\n", r->shown[k][i].where, r->shown[k][i].what);
		if (n > SHOWN)
			printf("  ... %ld more\n", n - SHOWN);
		if (c->level[k] == DC_ERROR)
			errors += n;
		else
			warnings += n;
	}
	*worst = errors ? DC_ERROR : warnings ? DC_WARN : DC_OFF;
	printf("result: %ld finding%s at error level, %ld warning%s\n", errors,
	       errors == 1 ? "" : "s", warnings, warnings == 1 ? "" : "s");
}

/* ------------------------------------------------------------ html */

static void html_text(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&':
			fputs("&amp;", f);
			break;
		case '<':
			fputs("&lt;", f);
			break;
		case '>':
			fputs("&gt;", f);
			break;
		case '"':
			fputs("&quot;", f);
			break;
		case '\'':
			fputs("&#39;", f);
			break;
		default:
			fputc(*s, f);
		}
	}
}

static const char *const kind_color[DC__COUNT] = {"#b91c1c", "#dc2626", "#7c3aed",
						  "#9333ea", "#0284c7", "#ea580c",
						  "#64748b", "#ca8a04", "#db2777"};

/* One symbol's prices over time with its findings marked. */
static void html_chart(FILE *f, const struct data_run *r, int sym)
{
	static int64_t t[SERIES_CAP + 1];
	static double v[SERIES_CAP + 1];
	size_t n = series_points(&r->px[sym], t, v);
	if (n == 0)
		return;
	double lo = v[0], hi = v[0];
	int64_t t0 = t[0], t1 = t[n - 1];
	for (size_t i = 0; i < n; i++) {
		lo = fmin(lo, v[i]);
		hi = fmax(hi, v[i]);
	}
	for (size_t i = 0; i < r->nkept; i++)
		if (r->kept[i].sym == sym) {
			const struct finding *x = &r->kept[i];
			if (isfinite(x->y) && x->y > 0) {
				lo = fmin(lo, x->y);
				hi = fmax(hi, x->y);
			}
			t0 = x->t < t0 ? x->t : t0;
			t1 = x->t > t1 ? x->t : t1;
		}
	if (hi <= lo)
		hi = lo + 1;
	double W = 960, H = 220, L = 60, R = 10, T = 10, B = 24;
	double span = t1 > t0 ? (double)(t1 - t0) : 1;
#define X(tt) (L + ((double)((tt)-t0)) / span * (W - L - R))
#define Y(vv) (T + (hi - (vv)) / (hi - lo) * (H - T - B))
	fputs("<div class=\"card\"><h2>", f);
	html_text(f, r->names[sym]);
	fprintf(f, "</h2><svg viewBox=\"0 0 %.0f %.0f\" role=\"img\">", W, H);
	char a[48], b[48];
	format_time(r, t0, a, sizeof a);
	format_time(r, t1, b, sizeof b);
	fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" class=\"ax\">%s</text>", L, H - 6, a);
	fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" class=\"ax end\">%s</text>", W - R, H - 6, b);
	fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" class=\"ax end\">%.6g</text>", L - 6, T + 8, hi);
	fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" class=\"ax end\">%.6g</text>", L - 6, H - B, lo);
	fputs("<path class=\"px\" d=\"", f);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s%.1f %.1f", i ? "L" : "M", X(t[i]), Y(v[i]));
	fputs("\"/>", f);
	for (size_t i = 0; i < r->nkept; i++) {
		const struct finding *x = &r->kept[i];
		if (x->sym != sym)
			continue;
		double y = isfinite(x->y) && x->y > 0 ? Y(x->y) : H - B;
		fprintf(f,
			"<circle class=\"finding %s\" data-check=\"%s\" cx=\"%.1f\" cy=\"%.1f\" "
			"r=\"%s\" "
			"fill=\"%s\"><title>",
			datacheck_level_name(x->level), datacheck_name(x->kind), X(x->t), y,
			x->level == DC_ERROR ? "5" : "3.5", kind_color[x->kind]);
		html_text(f, datacheck_name(x->kind));
		fputs(": ", f);
		html_text(f, x->what);
		fputs(" (", f);
		html_text(f, x->where);
		fputs(")</title></circle>", f);
	}
	fputs("</svg></div>\n", f);
#undef X
#undef Y
}

static int write_html(const struct data_run *r)
{
	FILE *f = fopen(r->html, "w");
	if (!f) {
		log_user_error("%s: cannot write", r->html);
		return -1;
	}
	const struct datacheck_config *c = datacheck_config_of(r->dc);
	fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
	      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
	      "style-src 'unsafe-inline'\"><title>gantry data check</title><style>"
	      "body{font:14px system-ui,sans-serif;margin:0;background:#f4f6f9;color:#0f172a}"
	      "main{max-width:1040px;margin:0 auto;padding:24px}"
	      ".card{background:#fff;border:1px solid #e2e8f0;border-radius:8px;padding:12px 16px;"
	      "margin-bottom:14px}h2{font-size:13px;text-transform:uppercase;margin:0 0 8px}"
	      "table{border-collapse:collapse;width:100%}td,th{padding:4px 8px;border-bottom:1px "
	      "solid #e2e8f0;text-align:left}td.num{text-align:right}.error{color:#b91c1c}"
	      "svg{width:100%;height:auto}.px{fill:none;stroke:#334155;stroke-width:1.2}"
	      ".ax{font-size:11px;fill:#64748b}.end{text-anchor:end}circle.finding{stroke:#fff;"
	      "stroke-width:.8}</style></head><body><main><h1>Data check</h1>\n",
	      f);
	fputs("<div class=\"card\"><p>", f);
	for (int i = 0; i < r->nfiles; i++) {
		html_text(f, r->files[i]);
		fputs(i + 1 < r->nfiles ? ", " : "", f);
	}
	fprintf(f,
		": %ld %s</p><table><tr><th>check</th><th>level</th><th>count</th><th>first "
		"finding</th></tr>\n",
		r->values, r->ticks ? "quotes and trades" : "bars");
	for (int k = 0; k < DC__COUNT; k++) {
		long n = datacheck_count(r->dc, k);
		fprintf(f,
			"<tr class=\"check %s\" data-check=\"%s\"><td>%s</td><td>%s</td>"
			"<td class=\"num\">%ld</td><td>",
			n && c->level[k] == DC_ERROR ? "error" : "", datacheck_name(k),
			datacheck_name(k), datacheck_level_name(c->level[k]), n);
		if (n) {
			html_text(f, r->shown[k][0].where);
			fputs(": ", f);
			html_text(f, r->shown[k][0].what);
		}
		fputs("</td></tr>\n", f);
	}
	fputs("</table></div>\n", f);
	int charted = 0;
	for (int sym = 0; sym < CHART_SYMBOLS; sym++) {
		int any = 0;
		for (size_t i = 0; i < r->nkept && !any; i++)
			any = r->kept[i].sym == sym;
		if (any && r->px[sym].n > 0) {
			html_chart(f, r, sym);
			charted++;
		}
	}
	if (!charted)
		fputs("<div class=\"card\"><p>No findings to chart.</p></div>\n", f);
	fputs("</main></body></html>\n", f);
	if (fclose(f) != 0) {
		log_user_error("%s: write failed", r->html);
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------ main */

static int run_checks(struct data_run *r)
{
	char err[2048];
	struct datacheck_config dcc;
	if (r->config && config_load(&r->cfg, r->config, err, sizeof err) != 0) {
		log_user_error("%s", err);
		return EXIT_USAGE;
	}
	if (config_data_checks(&r->cfg, r->ticks, &dcc, err, sizeof err) != 0) {
		log_user_error("%s", err);
		return EXIT_USAGE;
	}
	if (!r->ticks && r->cfg.data_tz && !(r->tz = tz_load(r->cfg.data_tz, err, sizeof err))) {
		log_user_error("%s: data.tz: %s", r->cfg.path, err);
		return EXIT_USAGE;
	}
	r->dc = datacheck_new(&dcc);
	r->st = symtab_new();
	r->kept = malloc(KEPT * sizeof *r->kept);
	r->px = calloc(CHART_SYMBOLS, sizeof *r->px);
	if (!r->dc || !r->st || !r->kept || !r->px) {
		log_user_error("out of memory");
		return EXIT_USAGE;
	}
	int status = EXIT_OK;
	for (int i = 0; i < r->nfiles && status == EXIT_OK; i++)
		status = r->ticks ? check_itch(r, r->files[i]) : check_csv(r, r->files[i]);
	if (status == EXIT_USAGE)
		return status;
	int worst;
	print_report(r, &worst);
	if (r->html && write_html(r) != 0)
		return EXIT_USAGE;
	return worst == DC_ERROR ? EXIT_RUNTIME : status;
}

int cmd_data(int argc, char **argv)
{
	struct data_run r;
	memset(&r, 0, sizeof r);
	config_init(&r.cfg);
	int rc = parse_args(argc, argv, &r);
	if (rc != 0)
		return rc == 1 ? EXIT_OK : EXIT_USAGE;
	rc = run_checks(&r);
	datacheck_free(r.dc);
	if (r.st)
		symtab_free(r.st);
	for (int i = 0; r.px && i < CHART_SYMBOLS; i++)
		series_free(&r.px[i]);
	free(r.px);
	free(r.kept);
	tz_free(r.tz);
	config_free(&r.cfg);
	return rc;
}
