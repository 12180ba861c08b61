/*
 * backtest — `gantry backtest` and `gantry check`: options, the deploy
 * config, the strategies, the data, the run and its files.
 */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli.h"
#include "clock.h"
#include "config.h"
#include "datacheck_config.h"
#include "engine.h"
#include "log.h"
#include "outdir.h"
#include "output.h"
#include "live.h"
#include "journal_cmd.h"
#include "paper.h"
#include "risk.h"
#include "http_config.h"
#include "risk_config.h"
#include "sim.h"
#include "simbook.h"
#include "timefmt.h"
#include "tz.h"
#include "venue_async.h"
#include "vm.h"

#define MAX_ARGS 256
#define MAX_DATA 4096 /* --data files, a directory's as well */

struct bt_opts {
	const char *strategies[ENGINE_MAX_STRATEGIES];
	int nstrat;
	const char *data[MAX_DATA];
	unsigned char data_owned[MAX_DATA]; /* a directory's files: allocated here */
	int ndata;
	struct param params[MAX_ARGS];
	int nparams;
	const char *config, *out, *symbol, *venue;
	double cash, fee_bps, fee_share, slippage_bps, memory_mb, callback_ms;
	unsigned long long seed;
	int no_report, quiet;
	/* CSV data (--columns: each a FIELD=NAME list, applied in order) */
	const char *columns[MAX_ARGS], *header, *time_format, *tz;
	int ncolumns, adjust;
	/* order-book (ITCH) data; lenient for CSV too */
	int itch, lenient, preload;
	double latency_us;
	const char *date;
	/* paper */
	int net;	    /* --feed soup:// or mold:// */
	const char *record; /* --record FILE */
	const char *ctl;
	const char *http; /* --http ADDR (http.c) */
	double speed;
	int linger, no_watch;
	/* the out directory and the log (outdir.c, log.c) */
	int overwrite, resume;
	const char *log;
	const char *warmup; /* paper: history before the first event */
	struct journal_flags journal; /* journal_cmd.h */
};

static const char backtest_usage[] =
	"usage: gantry backtest STRATEGY [STRATEGY...] --data FILE|DIR [FILE|DIR...] [--data ...]\n"
	"                       [--param [NAME.]K=V ...] [--config DEPLOY.lua] [--out DIR]\n"
	"                       [--cash N] [--symbol SYM] [--fee-bps N] [--fee-per-share N]\n"
	"                       [--slippage-bps N] [--seed N] [--memory-mb N] [--callback-ms N]\n"
	"                       [--no-report] [--quiet] [--venue sim|async:N] [--overwrite]\n"
	"                       [--log FILE] [--journal DIR [--journal-fsync always|group|off]]\n"
	"                       CSV data: [--columns FIELD=NAME,...] [--header NAME,...]\n"
	"                       [--time-format auto|iso|s|ms|us|ns] [--tz ZONE] [--adjust]\n"
	"                       [--lenient]\n"
	"                       ITCH data: --data DAY.itch[.gz] [--symbol A,B] [--latency-us N]\n"
	"                       [--date YYYY-MM-DD] [--lenient] [--preload]\n"
	"\n"
	"Runs each strategy in its own sandbox over CSV bars (several files, or every\n"
	"*.csv of a directory, are merged by time) or a NASDAQ ITCH 5.0 day (order\n"
	"books; on_book, on_trade), and\n"
	"writes summary.json, fills.csv, orders.csv, equity.csv and report.html into\n"
	"--out DIR (default ./out/<strategy>-<UTC time>, -2, -3... when taken); an --out\n"
	"holding an earlier run's files is refused unless --overwrite. --log FILE: the log\n"
	"lines go to FILE too (appended).\n"
	"Exit status: 0 done, 1 a strategy failed at run time, 2 bad usage or input.\n";

static const char paper_usage[] =
	"usage: gantry paper STRATEGY [STRATEGY...] --feed file:PATH[?speed=X] [--feed ...]\n"
	"                    [--ctl PATH] [--linger] [--no-watch] [--param [NAME.]K=V ...]\n"
	"                    [--http HOST:PORT] (/metrics, /api, /dashboard; README: Monitoring)\n"
	"                    [--config DEPLOY.lua] [--out DIR] [--cash N] [--seed N]\n"
	"                    [--memory-mb N] [--callback-ms N] [--no-report] [--quiet]\n"
	"                    [--venue sim|async:N] [--resume | --overwrite] [--log FILE]\n"
	"                    [--warmup FILE]\n"
	"                    [--journal DIR] [--journal-fsync always|group[:N(us|ms)]|off]\n"
	"                    [--snapshot-every N]\n"
	"                    CSV bars: [--columns FIELD=NAME,...] [--header NAME,...]\n"
	"                    [--time-format auto|iso|s|ms|us|ns] [--tz ZONE] [--adjust] [--lenient]\n"
	"                    ITCH days: --feed file:DAY.itch[.gz] [--symbol A,B] [--latency-us N]\n"
	"                    [--date YYYY-MM-DD] [--lenient] [--preload]\n"
	"                    ITCH from the network (README \"Network feeds\"): --feed\n"
	"                    soup://HOST:PORT?user=U&passfile=F[&session=S&seq=N] or\n"
	"                    mold://GROUP:PORT?rerequest=HOST:PORT[&iface=IP] [--record FILE]\n"
	"\n"
	"Runs the strategies as a live process on a replayed feed (CSV bars or an ITCH\n"
	"day) with the simulated venue: as fast as possible, or speed=1 for real time\n"
	"(speed=10: ten times faster).\n"
	"Listens on the control socket (default DIR/ctl.sock, mode 0600) for `gantry ctl`.\n"
	"Saving a strategy file (or a module beside it that it required) reloads it\n"
	"between two events (--no-watch: not); so do SIGHUP and `gantry ctl SOCK reload`.\n"
	"SIGTERM stops cleanly. --linger keeps serving ctl after the feed ends, until\n"
	"`gantry ctl SOCKET stop`. Writes the same files as a backtest, each row as it\n"
	"happens. An --out holding an earlier run's files is refused unless --resume\n"
	"(recover from its journal, OUT/journal, and go on where it stopped; without a\n"
	"journal, append to them) or --overwrite (replace them); a second host on one\n"
	"--out too.\n"
	"--warmup FILE (CSV bars or an ITCH day; or the config's `warmup`) replays history\n"
	"through the strategies first, their orders refused (warming_up), so indicators\n"
	"and ctx:bars are ready at the first event; it writes nothing but log lines.\n";

static const char check_usage[] =
	"usage: gantry check STRATEGY [--param [NAME.]K=V ...] [--config DEPLOY.lua]\n"
	"\n"
	"Compiles the strategy in the sandbox and lists its name, callbacks, parameters\n"
	"(defaults merged with the overrides) and symbols. Exit 2 with FILE:LINE on error.\n";

/* The value of an option given as `--opt V` or `--opt=V`; NULL when absent. */
static const char *opt_value(int argc, char **argv, int *i, const char *name, int *bad)
{
	size_t n = strlen(name);
	const char *a = argv[*i];
	if (strncmp(a, name, n) != 0)
		return NULL;
	if (a[n] == '=')
		return a + n + 1;
	if (a[n] != '\0')
		return NULL;
	if (*i + 1 >= argc) {
		log_user_error("%s needs a value", name);
		*bad = 1;
		return NULL;
	}
	return argv[++*i];
}

static int parse_double(const char *opt, const char *v, double min, double *out)
{
	char *end;
	errno = 0;
	double x = strtod(v, &end);
	if (!*v || *end || errno || !isfinite(x) || x < min || (min > 0 && x == 0)) {
		log_user_error("%s %s: expected a %s number", opt, v,
			       min > 0 ? "positive" : "non-negative");
		return -1;
	}
	*out = x;
	return 0;
}

static int add_param(struct bt_opts *o, const char *kv)
{
	const char *eq = strchr(kv, '=');
	if (!eq || eq == kv) {
		log_user_error("--param %s: expected KEY=VALUE or NAME.KEY=VALUE", kv);
		return -1;
	}
	if (o->nparams == MAX_ARGS || (size_t)(eq - kv) >= sizeof o->params[0].key) {
		log_user_error("--param %s: too many parameters or name too long", kv);
		return -1;
	}
	struct param *p = &o->params[o->nparams++];
	memset(p, 0, sizeof *p);
	memcpy(p->key, kv, (size_t)(eq - kv));
	p->kind = PARAM_TEXT;
	p->str = eq + 1;
	p->origin = "--param";
	return 0;
}

enum { MODE_BACKTEST, MODE_CHECK, MODE_PAPER, MODE_LIVE };

/* soup:// or mold://: an ITCH day from the network, the run's only feed. */
static int add_net_feed(struct bt_opts *o, const char *url)
{
	if (o->ndata)
		return log_user_error("--feed %s: a network feed is a run's only --feed", url), -1;
	o->data[o->ndata++] = url;
	o->net = o->itch = 1;
	return 0;
}

/* file:PATH[?speed=X] */
static int add_feed(struct bt_opts *o, const char *url)
{
	static char paths[MAX_ARGS][4096];
	if (strncmp(url, "file:", 5) != 0 && !feed_net_scheme(url)) {
		log_user_error("--feed %s: expected file:PATH[?speed=X], soup://HOST:PORT?... or "
			       "mold://GROUP:PORT?...", url);
		return -1;
	}
	if (o->ndata == MAX_ARGS)
		return log_user_error("too many --feed"), -1;
	if (feed_net_scheme(url) || o->net) /* soup://, mold:// (host/feed/feed_net.c) */
		return add_net_feed(o, url);
	const char *path = url + 5, *q = strchr(path, '?');
	size_t n = q ? (size_t)(q - path) : strlen(path);
	if (n == 0 || n >= sizeof paths[0]) {
		log_user_error("--feed %s: no file path", url);
		return -1;
	}
	memcpy(paths[o->ndata], path, n);
	paths[o->ndata][n] = '\0';
	if (q) {
		char *end;
		if (strncmp(q, "?speed=", 7) != 0 || (o->speed = strtod(q + 7, &end), *end) ||
		    !(o->speed >= 0) || !isfinite(o->speed)) {
			log_user_error("--feed %s: expected ?speed=X with X >= 0 (0: full speed)", url);
			return -1;
		}
	}
	o->data[o->ndata] = paths[o->ndata];
	o->ndata++;
	return 0;
}

static int ends_with(const char *s, const char *tail)
{
	size_t n = strlen(s), k = strlen(tail);
	return n > k && strcmp(s + n - k, tail) == 0;
}

static int is_dir(const char *path)
{
	struct stat sb;
	return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

/* What --data takes after its value, until the next option: data files by
 * their extension, and directories. */
static int is_data_arg(const char *a)
{
	return a[0] != '-' && (ends_with(a, ".csv") || ends_with(a, ".itch") ||
			       ends_with(a, ".itch.gz") || is_dir(a));
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name); /* bytes, not the locale's order */
}

static int csv_entry(const struct dirent *d)
{
	return d->d_name[0] != '.' && ends_with(d->d_name, ".csv");
}

/* A data file, or every *.csv in a directory in the order of their names. */
static int add_data(struct bt_opts *o, const char *path)
{
	if (!is_dir(path)) {
		if (o->ndata == MAX_DATA)
			return log_user_error("too many --data files (at most %d)", MAX_DATA), -1;
		o->data[o->ndata++] = path;
		return 0;
	}
	struct dirent **list;
	int n = scandir(path, &list, csv_entry, by_name), rc = 0;
	size_t dir_len = strlen(path);
	while (dir_len > 1 && path[dir_len - 1] == '/')
		dir_len--;
	if (n < 0)
		return log_user_error("%s: cannot read the directory: %s", path, strerror(errno)),
		       -1;
	if (n == 0) {
		log_user_error("%s: no .csv files in the directory", path);
		rc = -1;
	}
	for (int i = 0; i < n; i++) {
		char *p = NULL;
		if (rc == 0 && o->ndata == MAX_DATA) {
			log_user_error("%s: too many --data files (at most %d)", path, MAX_DATA);
			rc = -1;
		} else if (rc == 0 &&
			   asprintf(&p, "%.*s/%s", (int)dir_len, path, list[i]->d_name) < 0) {
			log_user_error("out of memory");
			rc = -1;
		} else if (rc == 0) {
			o->data_owned[o->ndata] = 1;
			o->data[o->ndata++] = p;
		}
		free(list[i]);
	}
	free(list);
	return rc;
}

/* 0 parsed, 1 --help printed, -1 error (printed). */
static int parse_args(int argc, char **argv, struct bt_opts *o, int mode)
{
	int check = mode == MODE_CHECK, paper = mode == MODE_PAPER || mode == MODE_LIVE;
	int live = mode == MODE_LIVE;
	memset(o, 0, sizeof *o);
	o->cash = o->fee_bps = o->fee_share = o->slippage_bps = o->memory_mb = o->callback_ms = -1;
	o->seed = 1;
	for (int i = 1; i < argc; i++) {
		int bad = 0;
		const char *v, *a = argv[i];
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			fputs(check ? check_usage : live ? live_usage : paper ? paper_usage : backtest_usage,
			      stdout);
			return 1;
		} else if (paper && (v = opt_value(argc, argv, &i, "--feed", &bad))) {
			if (add_feed(o, v))
				return -1;
		} else if (!check && (v = opt_value(argc, argv, &i, "--journal", &bad))) {
			o->journal.dir = v;
		} else if (!check && (v = opt_value(argc, argv, &i, "--journal-fsync", &bad))) {
			o->journal.fsync = v;
		} else if (!check && (v = opt_value(argc, argv, &i, "--snapshot-every", &bad))) {
			o->journal.snapshot_every = v;
		} else if (paper && (v = opt_value(argc, argv, &i, "--record", &bad))) {
			o->record = v;
		} else if (paper && (v = opt_value(argc, argv, &i, "--ctl", &bad))) {
			o->ctl = v;
		} else if (paper && (v = opt_value(argc, argv, &i, "--http", &bad))) {
			o->http = v;
		} else if (paper && !strcmp(a, "--linger")) {
			o->linger = 1;
		} else if (paper && !strcmp(a, "--no-watch")) {
			o->no_watch = 1;
		} else if (paper && (v = opt_value(argc, argv, &i, "--warmup", &bad))) {
			o->warmup = v;
		} else if ((v = opt_value(argc, argv, &i, "--param", &bad))) {
			if (add_param(o, v))
				return -1;
		} else if ((v = opt_value(argc, argv, &i, "--config", &bad))) {
			o->config = v;
		} else if (!check && !paper && (v = opt_value(argc, argv, &i, "--data", &bad))) {
			if (add_data(o, v) != 0)
				return -1;
			while (i + 1 < argc && is_data_arg(argv[i + 1]))
				if (add_data(o, argv[++i]) != 0)
					return -1;
		} else if (!check && (v = opt_value(argc, argv, &i, "--out", &bad))) {
			o->out = v;
		} else if (!check && (v = opt_value(argc, argv, &i, "--symbol", &bad))) {
			o->symbol = v;
		} else if (!check && (v = opt_value(argc, argv, &i, "--cash", &bad))) {
			if (parse_double("--cash", v, 1e-300, &o->cash))
				return -1;
		} else if (!check && (v = opt_value(argc, argv, &i, "--fee-bps", &bad))) {
			if (parse_double("--fee-bps", v, 0, &o->fee_bps))
				return -1;
		} else if (!check && (v = opt_value(argc, argv, &i, "--fee-per-share", &bad))) {
			if (parse_double("--fee-per-share", v, 0, &o->fee_share))
				return -1;
		} else if (!check && (v = opt_value(argc, argv, &i, "--slippage-bps", &bad))) {
			if (parse_double("--slippage-bps", v, 0, &o->slippage_bps))
				return -1;
		} else if (!check && (v = opt_value(argc, argv, &i, "--memory-mb", &bad))) {
			if (parse_double("--memory-mb", v, 1e-300, &o->memory_mb))
				return -1;
		} else if (!check && (v = opt_value(argc, argv, &i, "--callback-ms", &bad))) {
			if (parse_double("--callback-ms", v, 1e-300, &o->callback_ms))
				return -1;
		} else if (!check && (v = opt_value(argc, argv, &i, "--venue", &bad))) {
			o->venue = v;
		} else if (!check && (v = opt_value(argc, argv, &i, "--latency-us", &bad))) {
			if (parse_double("--latency-us", v, 0, &o->latency_us))
				return -1;
		} else if (!check && (v = opt_value(argc, argv, &i, "--date", &bad))) {
			o->date = v;
		} else if (!check && !strcmp(a, "--lenient")) {
			o->lenient = 1;
		} else if (!check && (v = opt_value(argc, argv, &i, "--columns", &bad))) {
			char err[512];
			struct bars_options scratch = {0};
			if (bars_columns(&scratch, v, err, sizeof err) != 0)
				return log_user_error("--columns %s", err), -1;
			if (o->ncolumns == MAX_ARGS)
				return log_user_error("too many --columns"), -1;
			o->columns[o->ncolumns++] = v;
		} else if (!check && (v = opt_value(argc, argv, &i, "--header", &bad))) {
			o->header = v;
		} else if (!check && (v = opt_value(argc, argv, &i, "--time-format", &bad))) {
			if (time_form_from_name(v) < 0)
				return log_user_error("--time-format %s: expected auto, iso, s, "
						      "ms, us or ns", v),
				       -1;
			o->time_format = v;
		} else if (!check && (v = opt_value(argc, argv, &i, "--tz", &bad))) {
			o->tz = v;
		} else if (!check && !strcmp(a, "--adjust")) {
			o->adjust = 1;
		} else if (!check && !strcmp(a, "--preload")) {
			o->preload = 1;
		} else if (!check && (v = opt_value(argc, argv, &i, "--seed", &bad))) {
			char *end;
			errno = 0;
			o->seed = strtoull(v, &end, 10);
			if (!*v || *end || errno || *v == '-')
				return log_user_error("--seed %s: expected a whole number", v), -1;
		} else if (!check && !strcmp(a, "--no-report")) {
			o->no_report = 1;
		} else if (!check && !strcmp(a, "--quiet")) {
			o->quiet = 1;
		} else if (!check && !strcmp(a, "--overwrite")) {
			o->overwrite = 1;
		} else if (!check && !strcmp(a, "--resume")) {
			if (!paper)
				return log_user_error("--resume: a backtest starts again from its first "
						      "event; use --overwrite, or another --out"), -1;
			o->resume = 1;
		} else if (!check && (v = opt_value(argc, argv, &i, "--log", &bad))) {
			o->log = v;
		} else if (bad) {
			return -1;
		} else if (a[0] == '-' && a[1] != '\0') {
			log_user_error("%s: unknown option (try 'gantry %s --help')", a,
				       check ? "check" : live ? "live" : paper ? "paper" : "backtest");
			return -1;
		} else {
			if (ends_with(a, ".csv") || is_dir(a)) {
				log_user_error("%s: %s, not a strategy (a Lua file)%s", a,
					       is_dir(a) ? "a directory" : "a CSV file",
					       check ? "" : paper ? ": data is --feed file:PATH"
								  : ": data files go after --data");
				return -1;
			}
			if (o->nstrat == ENGINE_MAX_STRATEGIES)
				return log_user_error("too many strategies"), -1;
			o->strategies[o->nstrat++] = a;
		}
		if (bad)
			return -1;
	}
	if (o->nstrat == 0) {
		log_user_error("no strategy file given (try 'gantry %s --help')",
			       check ? "check" : paper ? "paper" : "backtest");
		return -1;
	}
	if (live && (!live_is_venue_url(o->venue) || !o->config)) {
		log_user_error("live needs --venue fix://HOST:PORT?sender=S&target=T (or "
			       "fixs://) and --config DEPLOY.lua");
		return -1;
	}
	if (paper && o->ndata == 0) {
		log_user_error("no --feed given (file:PATH of CSV bars or an ITCH day)");
		return -1;
	}
	if (o->record && !o->net) {
		log_user_error("--record applies to network feeds (soup://, mold://)");
		return -1;
	}
	if (o->resume && o->overwrite) {
		log_user_error("--resume and --overwrite: choose one");
		return -1;
	}
	if (!check && o->ndata == 0) {
		log_user_error("no --data file given (CSV bars: datetime,open,high,low,close,volume)");
		return -1;
	}
	for (int i = 0; i < o->ndata; i++) {
		size_t n = strlen(o->data[i]);
		int itch = (n > 5 && !strcmp(o->data[i] + n - 5, ".itch")) ||
			   (n > 8 && !strcmp(o->data[i] + n - 8, ".itch.gz"));
		if (itch && o->ndata > 1) {
			log_user_error("%s: an ITCH file is a run's only %s", o->data[i],
				       paper ? "--feed" : "--data");
			return -1;
		}
		o->itch |= itch;
	}
	if (!o->itch && (o->latency_us > 0 || o->date || o->preload)) {
		log_user_error("--latency-us, --date and --preload apply to ITCH data "
			       "(.itch, .itch.gz)");
		return -1;
	}
	if (o->itch && (o->ncolumns || o->header || o->time_format || o->tz || o->adjust)) {
		log_user_error("--columns, --header, --time-format, --tz and --adjust apply to CSV "
			       "data");
		return -1;
	}
	return 0;
}

static void opts_free(struct bt_opts *o)
{
	for (int i = 0; i < o->ndata; i++)
		if (o->data_owned[i])
			free((void *)o->data[i]);
	o->ndata = 0;
}

static int parse_opts(int argc, char **argv, struct bt_opts *o, int mode)
{
	int p = parse_args(argc, argv, o, mode);
	if (p != 0)
		opts_free(o);
	return p;
}

static const char *base_name(const char *path, char *buf, size_t len)
{
	const char *b = strrchr(path, '/');
	b = b ? b + 1 : path;
	snprintf(buf, len, "%.*s", (int)strcspn(b, "."), b);
	return buf;
}

/* The overrides that apply to one strategy: config first, then the command
 * line; `NAME.K` only for strategy NAME, `K` for all. */
static int params_for(const char *name, const struct param *all, int n, struct param *out)
{
	int k = 0;
	size_t len = strlen(name);
	for (int i = 0; i < n; i++) {
		const char *key = all[i].key, *dot = strchr(key, '.');
		if (dot && ((size_t)(dot - key) != len || strncmp(key, name, len) != 0))
			continue;
		out[k] = all[i];
		if (dot)
			memmove(out[k].key, dot + 1, strlen(dot + 1) + 1);
		k++;
	}
	return k;
}

static int scope_is(const char *key, const char *dot, const char *name)
{
	return (size_t)(dot - key) == strlen(name) && strncmp(key, name, strlen(name)) == 0;
}

/* Every NAME.K names a strategy of the run, by its name or its file's. */
static int check_scopes(const struct param *all, int n, char names[][64], char files[][64],
			int nstrat)
{
	for (int i = 0; i < n; i++) {
		const char *dot = strchr(all[i].key, '.');
		if (!dot)
			continue;
		int found = 0;
		for (int s = 0; s < nstrat; s++)
			found |= scope_is(all[i].key, dot, names[s]) ||
				 scope_is(all[i].key, dot, files[s]);
		if (!found) {
			log_user_error("%s %s: no strategy named '%.*s' in this run", all[i].origin,
				       all[i].key, (int)(dot - all[i].key), all[i].key);
			return -1;
		}
	}
	return 0;
}

static double pick(double cli, double cfg, double def)
{
	return cli >= 0 ? cli : cfg >= 0 ? cfg : def;
}

struct run {
	struct bt_opts o;
	struct deploy_config cfg;
	struct param *all;
	int nall;
	struct symtab *st;
	struct engine *e;
	struct feed *feed;
	struct tz *tz; /* CSV times in a zone (--tz); read by the feed */
	struct feed *warm; /* --warmup's history, and its zone */
	struct tz *warm_tz;
	int paper;
	struct live *live; /* gantry live: the FIX venue's settings and hooks (live.c) */
	int lock_fd;	     /* the out directory's lock (outdir.c), when lock_dir[0] */
	char lock_dir[4096];
};

static void run_free(struct run *r)
{
	engine_free(r->e); /* before the feed: its venue may read the feed's books */
	feed_close(r->feed);
	feed_close(r->warm);
	tz_free(r->tz);
	tz_free(r->warm_tz);
	symtab_free(r->st);
	live_free(r->live);
	config_free(&r->cfg);
	free(r->all);
	opts_free(&r->o);
	if (r->lock_dir[0])
		outdir_unlock(r->lock_dir, r->lock_fd);
	log_flush(); /* what the rate limit held back, before the log file closes */
	if (r->o.log)
		log_set_file(NULL, NULL, 0);
}

/* Config and command-line params in one list, the command line last. */
static int gather_params(struct run *r)
{
	r->all = calloc((size_t)(r->cfg.nparams + r->o.nparams + 1), sizeof *r->all);
	if (!r->all)
		return -1;
	if (r->cfg.nparams > 0)
		memcpy(r->all, r->cfg.params, (size_t)r->cfg.nparams * sizeof *r->all);
	if (r->o.nparams > 0)
		memcpy(r->all + r->cfg.nparams, r->o.params, (size_t)r->o.nparams * sizeof *r->all);
	r->nall = r->cfg.nparams + r->o.nparams;
	return 0;
}

/* A strategy's name is `name` in its table, else the file's base name. The
 * table's name is known only once the file has run: when a --param scope
 * names no file, load each file once, bare, to learn it. */
static void strategy_name(struct run *r, int i, int probe, char *out, size_t len)
{
	char err[2048];
	base_name(r->o.strategies[i], out, len);
	if (!probe)
		return;
	struct vm_config vc = {.path = r->o.strategies[i], .memory_limit = 64u << 20, .seed = 1};
	struct vm *v = vm_backend.open(&vc, err, sizeof err);
	if (!v)
		return; /* the real load reports it */
	struct vm_info info;
	vm_backend.info(v, &info);
	snprintf(out, len, "%s", info.name);
	vm_backend.close(v);
}

static int load_strategies(struct run *r)
{
	char err[2048];
	char names[ENGINE_MAX_STRATEGIES][64], files[ENGINE_MAX_STRATEGIES][64];
	int probe = 0;
	for (int i = 0; i < r->o.nstrat; i++)
		base_name(r->o.strategies[i], files[i], sizeof files[i]);
	for (int k = 0; k < r->nall && !probe; k++) {
		const char *dot = strchr(r->all[k].key, '.');
		int known = 0;
		for (int i = 0; dot && i < r->o.nstrat; i++)
			known |= scope_is(r->all[k].key, dot, files[i]);
		probe = dot && !known;
	}
	/* two passes of params_for may each take every unscoped param */
	struct param *mine = calloc(2 * (size_t)r->nall + 1, sizeof *mine);
	if (!mine)
		return EXIT_USAGE;
	for (int i = 0; i < r->o.nstrat; i++) {
		strategy_name(r, i, probe, names[i], sizeof names[i]);
		/* scoped by the strategy's name, or else by its file's */
		int n = params_for(names[i], r->all, r->nall, mine);
		if (probe && strcmp(names[i], files[i]) != 0)
			n += params_for(files[i], r->all, r->nall, mine + n);
		if (engine_add_strategy(r->e, r->o.strategies[i], mine, n, err, sizeof err) != 0) {
			log_user_error("%s", err);
			free(mine);
			return EXIT_USAGE;
		}
		struct strategy_view sv;
		engine_describe(engine_strategy(r->e, i), &sv);
		snprintf(names[i], sizeof names[i], "%s", sv.name);
	}
	free(mine);
	return check_scopes(r->all, r->nall, names, files, r->o.nstrat) ? EXIT_USAGE : EXIT_OK;
}

/* The out directory: --out (made as needed), or a default name no other
 * run has (outdir_make_unique); locked for this run; an earlier run's files
 * in it only with --resume or --overwrite. 0, or -1 with err. */
static int prepare_outdir(struct run *r, char *outdir, size_t outlen, char *err, size_t errlen)
{
	const struct bt_opts *o = &r->o;
	if (o->out) {
		snprintf(outdir, outlen, "%s", o->out);
		if (output_mkdirs(outdir, err, errlen) != 0)
			return -1;
	} else {
		struct strategy_view sv;
		engine_describe(engine_strategy(r->e, 0), &sv);
		time_t now = time(NULL);
		struct tm tm;
		gmtime_r(&now, &tm);
		char stamp[32], base[4096];
		strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
		snprintf(base, sizeof base, "out/%s-%s", sv.name, stamp);
		if (outdir_make_unique(base, outdir, outlen, err, errlen) != 0)
			return -1;
	}
	if ((r->lock_fd = outdir_lock(outdir, err, errlen)) < 0)
		return -1;
	snprintf(r->lock_dir, sizeof r->lock_dir, "%s", outdir);
	char found[256];
	if (outdir_earlier_run(outdir, found, sizeof found) == 0 || o->resume)
		return 0;
	if (o->overwrite)
		return outdir_clear(outdir, err, errlen);
	if (r->paper)
		errf(err, errlen, "%s: holds the files of an earlier run (%s); --resume appends to "
				  "them, --overwrite replaces them", outdir, found);
	else
		errf(err, errlen, "%s: holds the files of an earlier run (%s); --overwrite replaces "
				  "them (or give another --out)", outdir, found);
	return -1;
}

static int intern_symbol(void *ud, const char *sym)
{
	return symtab_intern(ud, sym, strlen(sym));
}

/* The deploy config's `risk` (every strategy's limits) and `firm_risk` (all
 * strategies together) tables. */
static int load_risk(struct run *r, char *err, size_t errlen)
{
	static const char *const keys[] = {"risk", "firm_risk"};
	struct risk_limits *dst[] = {engine_limits(r->e, 0), engine_limits(r->e, 1)};
	for (int k = 0; k < 2; k++) {
		if (!(r->cfg.has_risk & (1 << k)))
			continue;
		char inner[1024];
		lua_getfield(r->cfg.L, 1, keys[k]);
		int rc = risk_limits_from_lua(r->cfg.L, -1, dst[k], intern_symbol, r->st, inner,
					      sizeof inner);
		lua_pop(r->cfg.L, 1);
		if (rc != 0) {
			/* the loader says "risk.KEY": name the table it came from */
			errf(err, errlen, "%s: %s%s", r->cfg.path, k ? "firm_" : "", inner);
			return -1;
		}
	}
	engine_limits_changed(r->e);
	return 0;
}

/* --symbol A,B for ITCH data: the names, split in place of a copy. */
static int split_symbols(const char *list, char *buf, size_t len, const char **out, int max)
{
	int n = 0;
	snprintf(buf, len, "%s", list ? list : "");
	for (char *save = NULL, *t = strtok_r(buf, ",", &save); t && n < max;
	     t = strtok_r(NULL, ",", &save))
		out[n++] = t;
	return n;
}

/* The ITCH day: books for --symbol and every strategy's symbols. */
static struct feed *open_itch(struct run *r, char *err, size_t errlen)
{
	struct bt_opts *o = &r->o;
	char buf[4096];
	const char *syms[512];
	int n = split_symbols(o->symbol, buf, sizeof buf, syms, 256);
	n += engine_symbols(r->e, syms + n, 512 - n);
	struct itch_feed_config c = {.path = o->data[0],
				     .symbols = syms,
				     .nsymbols = n,
				     .lenient = o->lenient,
				     .preload = o->preload};
	if (o->date &&
	    (time_parse(o->date, strlen(o->date), &c.date_ns) != 0 || strlen(o->date) != 10)) {
		errf(err, errlen, "--date %s: expected YYYY-MM-DD", o->date);
		return NULL;
	}
	/* the feed keeps no pointer into syms: it subscribes by name at open */
	if (o->net) {
		feed_net_default_passfile(r->cfg.feed_passfile);
		return feed_net_open(o->data[0], o->record, &c, r->st, err, errlen);
	}
	return feed_itch_open(&c, r->st, err, errlen);
}

/* CSV bars, read as the config's `data` table says and then the command
 * line (which wins; --columns add to the config's). */
static struct feed *open_csv(struct run *r, char *err, size_t errlen)
{
	const struct bt_opts *o = &r->o;
	const struct deploy_config *c = &r->cfg;
	char inner[512];
	struct bars_options bo = {
		.symbol = o->symbol,
		.header = o->header ? o->header : c->data_header,
		.time_form = o->time_format ? time_form_from_name(o->time_format)
			     : c->data_time_form >= 0 ? c->data_time_form
						      : TIME_AUTO,
		.adjust = o->adjust,
		.lenient = o->lenient,
	};
	/* both were checked when read: these cannot fail */
	if (c->data_columns)
		bars_columns(&bo, c->data_columns, inner, sizeof inner);
	for (int i = 0; i < o->ncolumns; i++)
		bars_columns(&bo, o->columns[i], inner, sizeof inner);
	const char *zone = o->tz ? o->tz : c->data_tz;
	if (zone && !(r->tz = tz_load(zone, inner, sizeof inner))) {
		if (o->tz)
			errf(err, errlen, "--tz: %s", inner);
		else
			errf(err, errlen, "%s: data.tz: %s", c->path, inner);
		return NULL;
	}
	bo.tz = r->tz;
	return feed_csv_open(o->data, o->ndata, r->st, &bo, err, errlen);
}

/* The venue: the simulator of the data's kind, or (tests) one that answers
 * N market events late over it. 0, or -1 with err. */
static int open_venue(struct run *r, const struct sim_config *sc, struct venue *out, char *err,
		      size_t errlen)
{
	const char *v = r->o.venue ? r->o.venue : "sim";
	if (r->paper && live_is_venue_url(v)) {
		struct oms *oms = engine_open_oms(r->e);
		return oms ? live_open_venue(v, &r->cfg, r->e, oms, out, &r->live, err, errlen)
			   : errf_fail(err, errlen, "out of memory");
	}
	long late = 0;
	char *end = NULL;
	if (strncmp(v, "async:", 6) == 0)
		late = strtol(v + 6, &end, 10);
	if (strcmp(v, "sim") != 0 && !(end && end != v + 6 && !*end && late > 0 && late < 1000000)) {
		errf(err, errlen, "--venue %s: expected sim (this build's venue) or async:N (a test "
				  "venue that answers N market events late)", v);
		return -1;
	}
	struct oms *oms = engine_open_oms(r->e);
	if (!oms)
		return errf(err, errlen, "out of memory"), -1;
	if (r->o.itch)
		*out = (struct venue){&simbook_venue,
				      simbook_new(oms, r->feed, sc, (int64_t)(r->o.latency_us * 1000))};
	else
		*out = (struct venue){&sim_venue, sim_new(oms, sc)};
	if (out->self && late) {
		struct venue_async *a = venue_async_new(oms, *out, (int)late);
		if (!a)
			out->ops->free(out->self);
		*out = (struct venue){&venue_async_ops, a};
	}
	if (!out->self)
		return errf(err, errlen, "out of memory"), -1;
	return 0;
}

/* Config, engine, strategies, data, venue, out dir: everything before the run. */
static int run_prepare(struct run *r, char *outdir, size_t outlen)
{
	char err[2048];
	struct bt_opts *o = &r->o;
	if (o->log && log_set_file(o->log, err, sizeof err) != 0)
		return log_user_error("%s", err), EXIT_USAGE;
	if (o->config && config_load(&r->cfg, o->config, err, sizeof err) != 0)
		return log_user_error("%s", err), EXIT_USAGE;
	if (gather_params(r) != 0 || !(r->st = symtab_new()))
		return log_user_error("out of memory"), EXIT_USAGE;
	struct engine_config ec = {
		.cash = pick(o->cash, r->cfg.cash, 100000),
		.seed = o->seed,
		.memory_limit = (size_t)(pick(o->memory_mb, r->cfg.memory_mb, 64) * 1048576.0),
		.callback_ms = pick(o->callback_ms, r->cfg.callback_ms, 5),
		.leave_orders_on_halt = r->cfg.on_halt_leave,
		.fail_fast = !r->paper,
		.write_through = r->paper,
		.log_event_time = !r->paper,
		.timezone = r->cfg.timezone,
		.has_session_open = r->cfg.has_session_open,
		.session_open_sec = r->cfg.session_open_sec,
	};
	struct sim_config sc = {.fee_per_share = pick(o->fee_share, r->cfg.fee_per_share, 0),
				.fee_bps = pick(o->fee_bps, r->cfg.fee_bps, 0),
				.slippage_bps = pick(o->slippage_bps, r->cfg.slippage_bps, 0),
				.trail_extreme = r->cfg.trail_extreme,
				.stop_on_touch = r->cfg.stop_on_touch};
	if (!(r->e = engine_new(&ec, r->st)))
		return log_user_error("out of memory"), EXIT_USAGE;
	int rc = load_strategies(r);
	if (rc != EXIT_OK)
		return rc;
	if (r->cfg.has_risk && load_risk(r, err, sizeof err) != 0)
		return log_user_error("%s", err), EXIT_USAGE;
	for (int i = 0; i < r->cfg.nsymbols; i++) { /* the config's lots and ticks */
		const struct config_symbol *y = &r->cfg.symbols[i];
		int sym = symtab_intern(r->st, y->name, strlen(y->name));
		if (sym < 0 || engine_set_instrument(r->e, sym, y->lot > 0 ? y->lot : 1, y->tick) != 0)
			return log_user_error("%s: symbols.%s: bad symbol", r->cfg.path, y->name),
			       EXIT_USAGE;
	}
	/* symbol ids in order of first sight: the strategies' own before an
	 * ITCH day's, the files' before the strategies' */
	if (o->itch && engine_subscribe(r->e, NULL, -1, err, sizeof err) != 0)
		return log_user_error("%s", err), EXIT_USAGE;
	r->feed = o->itch ? open_itch(r, err, sizeof err) : open_csv(r, err, sizeof err);
	if (!r->feed)
		return log_user_error("%s", err), EXIT_USAGE;
	int syms[MAX_DATA];
	int nsyms = r->feed->ops->symbols(r->feed, syms, MAX_DATA);
	if (!o->itch && engine_subscribe(r->e, syms, nsyms, err, sizeof err) != 0)
		return log_user_error("%s", err), EXIT_USAGE;
	struct venue venue;
	if (open_venue(r, &sc, &venue, err, sizeof err) != 0)
		return log_user_error("%s", err), EXIT_USAGE;
	engine_attach(r->e, r->feed, venue);
	struct datacheck_config dcc; /* the deploy config's data_checks, for this feed */
	if (config_data_checks(&r->cfg, o->itch != 0, &dcc, err, sizeof err) != 0 ||
	    engine_set_data_checks(r->e, &dcc) != 0)
		return log_user_error("%s", err), EXIT_USAGE;
	if (prepare_outdir(r, outdir, outlen, err, sizeof err) != 0 ||
	    journal_setup(r->e, &r->cfg, &o->journal, r->paper, o->resume | o->overwrite << 1,
			  outdir, err, sizeof err) != 0 ||
	    engine_open_outputs(r->e, outdir, o->resume, err, sizeof err) != 0)
		return log_user_error("%s", err), EXIT_USAGE;
	return EXIT_OK;
}

/* The files at the end and the exit status of the run. */
static int run_finish(struct run *r, int status, const char *err, const char *outdir, double t0)
{
	char werr[2048];
	struct bt_opts *o = &r->o;
	if (status == 2) {
		log_user_error("%s", err);
		return EXIT_USAGE;
	}
	struct run_summary sum;
	output_summarize(r->e, clock_mono_s() - t0, &sum);
	if (o->lenient && !o->itch)
		sum.skipped_rows = feed_csv_skipped(r->feed);
	if (output_summary_json(outdir, &sum, werr, sizeof werr) != 0 ||
	    output_orders_csv(outdir, r->e, werr, sizeof werr) != 0 ||
	    (!o->no_report && output_report(outdir, r->e, &sum, werr, sizeof werr) != 0)) {
		log_user_error("%s", werr);
		return EXIT_RUNTIME;
	}
	if (!o->quiet)
		output_print(stdout, &sum, o->no_report ? NULL : outdir);
	/* a strategy's failure was printed once, whole, when it happened */
	return status == 1 ? EXIT_RUNTIME : EXIT_OK;
}

static int run_backtest(struct run *r)
{
	char err[2048], outdir[4096];
	double t0 = clock_mono_s();
	int rc = run_prepare(r, outdir, sizeof outdir);
	if (rc != EXIT_OK)
		return rc;
	int status = engine_run(r->e, err, sizeof err);
	return run_finish(r, status, err, outdir, t0);
}

int cmd_backtest(int argc, char **argv)
{
	struct run r;
	memset(&r, 0, sizeof r);
	config_init(&r.cfg);
	int p = parse_opts(argc, argv, &r.o, MODE_BACKTEST);
	if (p != 0)
		return p > 0 ? EXIT_OK : EXIT_USAGE;
	int rc = run_backtest(&r);
	run_free(&r);
	return rc;
}

/* --warmup PATH (or the config's `warmup`): the history as a feed of its
 * own, read as --data would read it (CSV bars with the same options, or an
 * ITCH day). */
static struct feed *open_warmup(struct run *r, const char *path, char *err, size_t errlen)
{
	struct bt_opts *o = &r->o;
	const char *first = o->data[0];
	int ndata = o->ndata, itch = o->itch;
	struct tz *tz = r->tz;
	size_t n = strlen(path);
	o->data[0] = path;
	o->ndata = 1;
	o->itch = (n > 5 && !strcmp(path + n - 5, ".itch")) ||
		  (n > 8 && !strcmp(path + n - 8, ".itch.gz"));
	r->tz = NULL;
	struct feed *f = o->itch ? open_itch(r, err, errlen) : open_csv(r, err, errlen);
	r->warm_tz = r->tz;
	r->tz = tz;
	o->data[0] = first;
	o->ndata = ndata;
	o->itch = itch;
	return f;
}

static int run_paper(struct run *r)
{
	char err[2048], outdir[4096], ctl[4096];
	double t0 = clock_mono_s();
	int rc = run_prepare(r, outdir, sizeof outdir);
	if (rc != EXIT_OK)
		return rc;
	if (r->o.ctl)
		snprintf(ctl, sizeof ctl, "%s", r->o.ctl);
	else
		snprintf(ctl, sizeof ctl, "%s/ctl.sock", outdir);
	const char *warm = r->o.warmup ? r->o.warmup : r->cfg.warmup;
	if (warm && !(r->warm = open_warmup(r, warm, err, sizeof err)))
		return log_user_error("--warmup %s", err), EXIT_USAGE;
	struct paper_opts po = {.ctl_path = ctl,
				.speed = r->o.speed,
				.linger = r->o.linger,
				.watch_files = !r->o.no_watch,
				.warmup = r->warm,
				.warmup_path = warm};
	struct http_config hc; /* http_config.h: the http and alerts sections, --http */
	char audit[4200];
	snprintf(audit, sizeof audit, "%s/audit.jsonl", outdir);
	if (http_config_load(&hc, r->o.config ? &r->cfg : NULL, r->o.http, err, sizeof err) != 0)
		return run_finish(r, 2, err, outdir, t0);
	po.http = &hc;
	po.audit_path = audit;
	struct paper_venue pv;
	if (r->live) {
		live_hooks(r->live, outdir, &pv);
		po.venue = &pv;
		po.mode = "live";
	}
	int status = paper_run(r->e, &po, err, sizeof err);
	http_config_free(&hc);
	return run_finish(r, status, err, outdir, t0);
}

int cmd_paper(int argc, char **argv)
{
	struct run r;
	memset(&r, 0, sizeof r);
	config_init(&r.cfg);
	r.paper = 1;
	int p = parse_opts(argc, argv, &r.o, MODE_PAPER);
	if (p != 0)
		return p > 0 ? EXIT_OK : EXIT_USAGE;
	int rc = run_paper(&r);
	run_free(&r);
	return rc;
}

int cmd_live(int argc, char **argv)
{
	struct run r;
	memset(&r, 0, sizeof r);
	config_init(&r.cfg);
	r.paper = 1;
	int p = parse_opts(argc, argv, &r.o, MODE_LIVE);
	if (p != 0)
		return p > 0 ? EXIT_OK : EXIT_USAGE;
	int rc = run_paper(&r);
	run_free(&r);
	return rc;
}

static void print_check(const struct vm_info *info, struct vm *v, const char *path)
{
	static const char *const cbs[] = {"on_start", "on_bar",	  "on_book",   "on_trade",
					  "on_order", "on_fill",  "on_timer",  "on_reload",
					  "on_stop",  "on_params", "on_feed"}; /* enum vm_callback's bits */
	char params[8192];
	printf("%s: ok\nname: %s\ncallbacks:", path, info->name);
	for (int i = 0; i < 11; i++)
		if (info->callbacks & (1 << i))
			printf(" %s", cbs[i]);
	printf("\nsymbols:");
	for (int i = 0; i < info->nsymbols; i++)
		printf(" %s", info->symbols[i]);
	if (info->nsymbols == 0)
		printf(" (every symbol in the data)");
	vm_backend.describe_params(v, params, sizeof params);
	printf("\nparams:\n%s", params);
}

int cmd_check(int argc, char **argv)
{
	struct run r;
	char err[2048];
	memset(&r, 0, sizeof r);
	config_init(&r.cfg);
	int p = parse_opts(argc, argv, &r.o, MODE_CHECK);
	if (p != 0)
		return p > 0 ? EXIT_OK : EXIT_USAGE;
	int rc = EXIT_OK;
	if (r.o.config && config_load(&r.cfg, r.o.config, err, sizeof err) != 0) {
		log_user_error("%s", err);
		rc = EXIT_USAGE;
	}
	if (rc == EXIT_OK && gather_params(&r) != 0)
		rc = EXIT_USAGE;
	struct param *mine = calloc((size_t)r.nall + 1, sizeof *mine);
	for (int i = 0; rc == EXIT_OK && i < r.o.nstrat && mine; i++) {
		char name[64];
		base_name(r.o.strategies[i], name, sizeof name);
		struct vm_config vc = {.path = r.o.strategies[i],
				       .params = mine,
				       .nparams = params_for(name, r.all, r.nall, mine),
				       .memory_limit = 64u << 20,
				       .callback_ms = 0,
				       .seed = 1};
		struct vm *v = vm_backend.open(&vc, err, sizeof err);
		if (!v) {
			log_user_error("%s", err);
			rc = EXIT_USAGE;
			break;
		}
		struct vm_info info;
		vm_backend.info(v, &info);
		print_check(&info, v, r.o.strategies[i]);
		vm_backend.close(v);
	}
	free(mine);
	run_free(&r);
	return rc;
}
