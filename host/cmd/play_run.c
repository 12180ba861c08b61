/*
 * play_run — see play_run.h. One run is the same in both: a fresh engine,
 * the strategy loaded in a fresh sandbox with its parameters, the bar
 * simulator, and the bars of a data set read once into memory (a worker
 * keeps them for every combination it runs). summary.json is written by
 * the engine's own writer (output.c), so every metric it has reaches the
 * sweep's lines too (a worker has it write to memory, not to a file read
 * back); elapsed_s and events_per_s are dropped from those, as they differ
 * from run to run and a sweep must not. A worker also keeps the stdlib's
 * compiled chunks and the order book's first chunk from run to run
 * (sandbox_cache_stdlib, oms_keep_spare_chunk): nothing else is shared
 * between its runs, each in a fresh engine and a fresh Lua state.
 *
 * Sweep protocol: the parent hands each idle worker the index of the next
 * combination (4 bytes on its task pipe); the worker answers on its result
 * pipe with [u32 index][u32 length][the JSON line]. The parent appends each
 * line to FILE.part as it comes (resume: a line whose key is in the grid is
 * not run again), and at the end writes FILE in grid order and removes the
 * part file.
 */
#include "play_run.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "config.h"
#include "engine.h"
#include "jsonfmt.h"
#include "log.h"
#include "lua_compat.h"
#include "oms.h"
#include "output.h"
#include "play_record.h"
#include "risk_config.h"
#include "sandbox.h"
#include "sim.h"
#include "symtab.h"
#include "vm.h"

#define MAX_FILES 64
#define MAX_KV 64
#define MAX_JOBS 64

/* ------------------------------------------------------------ the data, once */

struct play_data {
	struct symtab *st;
	struct feed_event *ev;
	size_t n;
	int syms[512];
	int nsyms;
	struct deploy_config cfg;
	int has_cfg;
};

static void data_free(struct play_data *d)
{
	free(d->ev);
	symtab_free(d->st);
	if (d->has_cfg)
		config_free(&d->cfg);
	memset(d, 0, sizeof *d);
}

static int data_load(struct play_data *d, const char *const *paths, int n, const char *config,
		     char *err, size_t errlen)
{
	memset(d, 0, sizeof *d);
	config_init(&d->cfg);
	if (config) {
		if (config_load(&d->cfg, config, err, errlen) != 0)
			return -1;
		d->has_cfg = 1;
	}
	if (!(d->st = symtab_new()))
		return errf_fail(err, errlen, "out of memory");
	struct feed *f = feed_csv_open(paths, n, d->st, NULL, err, errlen);
	if (!f)
		return -1;
	struct feed_sink sink = {0};
	int rc = f->ops->start(f, &sink, err, errlen);
	size_t cap = 0;
	struct feed_event ev;
	while (rc == 0) {
		memset(&ev, 0, sizeof ev);
		int r = f->ops->next(f, &ev, err, errlen);
		if (r <= 0) {
			rc = r;
			break;
		}
		if (d->n == cap) {
			size_t nc = cap ? 2 * cap : 4096;
			struct feed_event *ne = realloc(d->ev, nc * sizeof *ne);
			if (!ne) {
				rc = errf_fail(err, errlen, "out of memory");
				break;
			}
			d->ev = ne;
			cap = nc;
		}
		d->ev[d->n++] = ev;
		int seen = 0;
		for (int i = 0; i < d->nsyms && !seen; i++)
			seen = d->syms[i] == ev.sym;
		if (!seen && d->nsyms < (int)(sizeof d->syms / sizeof d->syms[0]))
			d->syms[d->nsyms++] = ev.sym;
	}
	f->ops->close(f);
	return rc;
}

/* The bars in memory as a feed: [lo, hi) of the data (from/to). */
struct mem_feed {
	struct feed base;
	const struct play_data *d;
	size_t i, lo, hi;
};

static int mem_symbols(struct feed *f, int *syms, int max)
{
	const struct play_data *d = ((struct mem_feed *)f)->d;
	int n = d->nsyms < max ? d->nsyms : max;
	memcpy(syms, d->syms, (size_t)n * sizeof *syms);
	return n;
}

static int mem_start(struct feed *f, const struct feed_sink *sink, char *err, size_t errlen)
{
	(void)f, (void)sink, (void)err, (void)errlen;
	return 0;
}

static int mem_next(struct feed *f, struct feed_event *ev, char *err, size_t errlen)
{
	(void)err, (void)errlen;
	struct mem_feed *m = (struct mem_feed *)f;
	if (m->i >= m->hi)
		return 0;
	*ev = m->d->ev[m->i++];
	return 1;
}

static long mem_messages(const struct feed *f)
{
	const struct mem_feed *m = (const struct mem_feed *)f;
	return (long)(m->i - m->lo);
}

static void mem_close(struct feed *f)
{
	(void)f; /* on the stack of the run */
}

static const struct feed_ops mem_ops = {
    .name = "bars in memory",
    .symbols = mem_symbols,
    .start = mem_start,
    .next = mem_next,
    .messages = mem_messages,
    .close = mem_close,
};

/* The first event at or after t (events are in time order). */
static size_t first_at(const struct play_data *d, int64_t t)
{
	size_t lo = 0, hi = d->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (d->ev[mid].time < t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* ------------------------------------------------------------ one run */

struct run_req {
	const char *strategy;
	const char *kv[MAX_KV]; /* "k=v" */
	int nkv;
	int64_t from, to; /* [from, to), ns; INT64_MIN / INT64_MAX: open */
	double cash;	  /* < 0: config or default */
	const char *dir;  /* where summary.json (and with full, every file) goes */
	int full;
	char **sum; /* not NULL: summary.json's text here (malloc'd), no file, no dir */
	size_t *sumlen;
};

static int intern_symbol(void *ud, const char *sym)
{
	return symtab_intern(ud, sym, strlen(sym));
}

static double pick(double a, double b, double def)
{
	return a >= 0 ? a : b >= 0 ? b : def;
}

/* The config's params that apply to this strategy ("k", or "file.k"), then the request's. */
static int gather(const struct play_data *d, const struct run_req *rq, struct param *out)
{
	int n = 0;
	const char *b = strrchr(rq->strategy, '/');
	b = b ? b + 1 : rq->strategy;
	size_t blen = strcspn(b, ".");
	for (int i = 0; i < d->cfg.nparams && n < MAX_KV; i++) {
		const char *key = d->cfg.params[i].key, *dot = strchr(key, '.');
		if (dot && ((size_t)(dot - key) != blen || strncmp(key, b, blen) != 0))
			continue;
		out[n] = d->cfg.params[i];
		if (dot)
			memmove(out[n].key, dot + 1, strlen(dot + 1) + 1);
		n++;
	}
	for (int i = 0; i < rq->nkv && n < 2 * MAX_KV; i++) {
		const char *kv = rq->kv[i], *eq = strchr(kv, '=');
		if (!eq || (size_t)(eq - kv) >= sizeof out[n].key)
			continue;
		memset(&out[n], 0, sizeof out[n]);
		memcpy(out[n].key, kv, (size_t)(eq - kv));
		out[n].kind = PARAM_TEXT;
		out[n].str = eq + 1;
		out[n].origin = "the playbook";
		n++;
	}
	return n;
}

/* summary.json's text in memory: a sweep's worker sends it on, so a file
 * written and read back per run is not needed. 0, or -1 out of memory. */
static int summary_text(const struct run_summary *sum, char **out, size_t *len)
{
	*out = NULL;
	*len = 0;
	FILE *f = open_memstream(out, len);
	if (!f)
		return -1;
	output_summary_write(f, sum);
	int bad = ferror(f);
	if (fclose(f) != 0 || bad) {
		free(*out);
		*out = NULL;
		return -1;
	}
	return 0;
}

/* 0 done, 1 the strategy failed, 2 bad input (err). summary.json in rq->dir,
 * or its text in *rq->sum. */
static int run_one(struct play_data *d, const struct run_req *rq, char *err, size_t errlen)
{
	const struct deploy_config *c = &d->cfg;
	double t0 = clock_mono_s();
	struct engine_config ec = {
	    .cash = rq->cash > 0 ? rq->cash : pick(c->cash, -1, 100000),
	    .seed = 1,
	    .memory_limit = (size_t)(pick(c->memory_mb, -1, 64) * 1048576.0),
	    .callback_ms = pick(c->callback_ms, -1, 5),
	    .leave_orders_on_halt = c->on_halt_leave,
	    .fail_fast = 1,
	    .timezone = c->timezone,
	};
	struct sim_config sc = {.fee_per_share = pick(c->fee_per_share, -1, 0),
				.fee_bps = pick(c->fee_bps, -1, 0),
				.slippage_bps = pick(c->slippage_bps, -1, 0),
				.trail_extreme = c->trail_extreme,
				.stop_on_touch = c->stop_on_touch};
	struct engine *e = engine_new(&ec, d->st);
	if (!e)
		return errf(err, errlen, "out of memory"), 2;
	struct param params[2 * MAX_KV];
	int np = gather(d, rq, params), rc = 2;
	struct mem_feed mf = {.base = {.ops = &mem_ops, .path = "data"}, .d = d};
	mf.lo = mf.i = rq->from == INT64_MIN ? 0 : first_at(d, rq->from);
	mf.hi = rq->to == INT64_MAX ? d->n : first_at(d, rq->to);
	if (mf.hi < mf.lo)
		mf.hi = mf.lo;
	if (engine_add_strategy(e, rq->strategy, params, np, err, errlen) != 0)
		goto out;
	for (int k = 0; k < 2; k++) {
		if (!(c->has_risk & (1 << k)))
			continue;
		char inner[1024];
		lua_getfield(c->L, 1, k ? "firm_risk" : "risk");
		int r = risk_limits_from_lua(c->L, -1, engine_limits(e, k), intern_symbol, d->st,
					     inner, sizeof inner);
		lua_pop(c->L, 1);
		if (r != 0) {
			errf(err, errlen, "%s: %s%s", c->path, k ? "firm_" : "", inner);
			goto out;
		}
	}
	engine_limits_changed(e);
	if (engine_subscribe(e, d->syms, d->nsyms, err, errlen) != 0)
		goto out;
	struct oms *oms = engine_open_oms(e);
	struct sim *sim = oms ? sim_new(oms, &sc) : NULL;
	if (!sim) {
		errf(err, errlen, "out of memory");
		goto out;
	}
	engine_attach(e, &mf.base, (struct venue){&sim_venue, sim});
	if (rq->full && engine_open_outputs(e, rq->dir, 0, err, errlen) != 0)
		goto out;
	rc = engine_run(e, err, errlen);
	if (rc == 2)
		goto out;
	struct run_summary sum;
	char werr[2048];
	output_summarize(e, clock_mono_s() - t0, &sum);
	if (rq->sum && summary_text(&sum, rq->sum, rq->sumlen) != 0) {
		errf(err, errlen, "out of memory");
		rc = 2;
	} else if (rq->sum) {
		if (rc == 1)
			errf(err, errlen, "%s", sum.error);
	} else if (output_summary_json(rq->dir, &sum, werr, sizeof werr) != 0 ||
		   (rq->full && output_orders_csv(rq->dir, e, werr, sizeof werr) != 0) ||
		   (rq->full && output_report(rq->dir, e, &sum, werr, sizeof werr) != 0)) {
		errf(err, errlen, "%s", werr);
		rc = 2;
	} else if (rc == 1) {
		errf(err, errlen, "%s", sum.error);
	}
out:
	engine_free(e);
	return rc;
}

/* ------------------------------------------------------------ the request */

struct req {
	const char *files[MAX_FILES];
	int nfiles;
	struct run_req run;
	const char *config;
};

static int64_t time_field(lua_State *L, int t, const char *k, int64_t def)
{
	lua_getfield(L, t, k);
	int64_t v = def;
	if (!lua_isnil(L, -1)) {
		double s = lua_tonumber(L, -1);
		if (!lua_isnumber(L, -1) || !isfinite(s) || fabs(s) > 9e9)
			luaL_error(L, "%s: expected epoch seconds", k);
		v = (int64_t)llround(s * 1e9);
	}
	lua_pop(L, 1);
	return v;
}

/* Strings stay referenced by the request table at index 1 while we run. */
static const char *str_field(lua_State *L, int t, const char *k, int required)
{
	lua_getfield(L, t, k);
	const char *s = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
	lua_pop(L, 1);
	if (!s && required)
		luaL_error(L, "%s: expected a string", k);
	return s;
}

static int str_list(lua_State *L, int t, const char *k, const char **out, int max)
{
	lua_getfield(L, t, k);
	int n = 0;
	if (lua_istable(L, -1)) {
		int len = (int)lua_rawlen(L, -1);
		if (len > max)
			luaL_error(L, "%s: at most %d entries", k, max);
		for (int i = 1; i <= len; i++) {
			lua_rawgeti(L, -1, i);
			if (lua_type(L, -1) != LUA_TSTRING)
				luaL_error(L, "%s[%d]: expected a string", k, i);
			out[n++] = lua_tostring(L, -1);
			lua_pop(L, 1);
		}
	}
	lua_pop(L, 1);
	return n;
}

static void read_req(lua_State *L, struct req *r)
{
	memset(r, 0, sizeof *r);
	r->run.strategy = str_field(L, 1, "strategy", 1);
	r->config = str_field(L, 1, "config", 0);
	r->nfiles = str_list(L, 1, "data", r->files, MAX_FILES);
	if (r->nfiles == 0)
		luaL_error(L, "data: expected a list of CSV files");
	r->run.nkv = str_list(L, 1, "params", r->run.kv, MAX_KV);
	r->run.from = time_field(L, 1, "from", INT64_MIN);
	r->run.to = time_field(L, 1, "to", INT64_MAX);
	lua_getfield(L, 1, "cash");
	r->run.cash = lua_isnumber(L, -1) ? lua_tonumber(L, -1) : -1;
	lua_pop(L, 1);
}

/* ------------------------------------------------------------ backtest{} */

static int write_full(int fd, const void *p, size_t n)
{
	const char *c = p;
	while (n > 0) {
		ssize_t w = write(fd, c, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

static int read_full(int fd, void *p, size_t n)
{
	char *c = p;
	while (n > 0) {
		ssize_t r = read(fd, c, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		c += r;
		n -= (size_t)r;
	}
	return 0;
}

int play_run_backtest(lua_State *L)
{
	struct req r;
	read_req(L, &r);
	r.run.dir = str_field(L, 1, "out", 1);
	r.run.full = 1;
	int p[2];
	if (pipe(p) != 0)
		return luaL_error(L, "backtest: pipe: %s", strerror(errno));
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		return luaL_error(L, "backtest: fork: %s", strerror(errno));
	if (pid == 0) {
		close(p[0]);
		vm_after_fork();
		char err[4096] = "";
		struct play_data d;
		int rc = data_load(&d, r.files, r.nfiles, r.config, err, sizeof err) != 0
			     ? 2
			     : run_one(&d, &r.run, err, sizeof err);
		data_free(&d);
		uint32_t len = (uint32_t)strlen(err);
		unsigned char st = (unsigned char)rc;
		if (write_full(p[1], &st, 1) != 0 || write_full(p[1], &len, 4) != 0 ||
		    write_full(p[1], err, len) != 0)
			_exit(3);
		_exit(0);
	}
	close(p[1]);
	unsigned char st = 3;
	uint32_t len = 0;
	char err[4096] = "";
	if (read_full(p[0], &st, 1) != 0 || read_full(p[0], &len, 4) != 0 || len >= sizeof err ||
	    read_full(p[0], err, len) != 0) {
		st = 3;
		snprintf(err, sizeof err, "the backtest's process ended without a result");
	}
	close(p[0]);
	int ws;
	while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
		;
	lua_pushinteger(L, st);
	lua_pushstring(L, err);
	return 2;
}

/* ------------------------------------------------------------ sweep{} */

/* One combination, made from its index when it is needed: nothing per
 * combination is kept but its product index and its offset in the file. */
struct combo {
	char key[65];
	char json[4096]; /* {"k": v, ...}, keys sorted, as gantry.play.json writes it */
	char text[4096]; /* the k=v strings, one after the other */
	const char *kv[MAX_KV];
	int nkv;
};

/* A grid key, its values as JSON and as --param text (from the playbook). */
struct gkey {
	const char *name;
	int nvals;
	const char **vjson, **vtext;
};

struct sweep {
	struct req r;
	struct gkey keys[MAX_KV];
	int nkeys;
	const char *prefix; /* the hash of strategy, data, config, window: keys start from it */
	uint32_t *prod;	    /* [n]: each combination's index in the full product */
	size_t n;
	const char *out;
	int jobs, progress;
	/* results */
	long *offset; /* in the part file, -1: not yet */
	size_t done, resumed, errors;
	long first_err; /* index, -1 none */
	/* the best by metric= (minimize=), as gantry.play picks it: the first in
	 * grid order among equals; so the playbook decodes one line, not all */
	char needle[160]; /* "metric": ; "" none */
	int minimize;
	long best; /* index, -1 none */
	double best_v;
	char first_msg[2048];
	char first_params[1024];
};

/* Combination idx (in grid order): the product index's digits, the last
 * key varying fastest, as gantry.play expands a grid. */
static void combo_get(const struct sweep *s, size_t idx, struct combo *c)
{
	uint32_t p = s->prod[idx];
	int digit[MAX_KV];
	for (int k = s->nkeys - 1; k >= 0; k--) {
		digit[k] = (int)(p % (uint32_t)s->keys[k].nvals);
		p /= (uint32_t)s->keys[k].nvals;
	}
	size_t j = 0, t = 0;
	j += (size_t)snprintf(c->json, sizeof c->json, "{");
	c->nkv = s->nkeys;
	for (int k = 0; k < s->nkeys; k++) {
		const struct gkey *g = &s->keys[k];
		if (j < sizeof c->json)
			j += (size_t)snprintf(c->json + j, sizeof c->json - j, "%s\"%s\": %s",
					      k ? ", " : "", g->name, g->vjson[digit[k]]);
		c->kv[k] = c->text + (t < sizeof c->text ? t : sizeof c->text - 1);
		if (t < sizeof c->text)
			t += (size_t)snprintf(c->text + t, sizeof c->text - t, "%s=%s", g->name,
					      g->vtext[digit[k]]) +
			     1;
	}
	if (j < sizeof c->json)
		snprintf(c->json + j, sizeof c->json - j, "}");
	char buf[sizeof c->json + 65];
	int n = snprintf(buf, sizeof buf, "%s%s", s->prefix, c->json);
	play_sha256_hex(buf, (size_t)n, c->key);
}

static void to_buf(void *ud, const char *p, size_t n)
{
	char **b = ud;
	memcpy(*b, p, n);
	*b += n;
}

/* summary.json's object without elapsed_s and events_per_s (they differ from
 * run to run), on one line. Flat object: keys and values never nest. */
static size_t strip_summary(const char *in, size_t len, char *out)
{
	size_t o = 0, i = 0;
	while (len > 0 && (in[len - 1] == '\n' || in[len - 1] == ' '))
		len--;
	while (i < len) {
		/* one member at a time: find its end (a comma outside strings, or the close) */
		size_t start = i, j = i;
		int str = 0;
		for (; j < len; j++) {
			if (str) {
				if (in[j] == '\\')
					j++;
				else if (in[j] == '"')
					str = 0;
			} else if (in[j] == '"') {
				str = 1;
			} else if (in[j] == ',' || in[j] == '}') {
				break;
			}
		}
		const char *m = in + start;
		size_t mlen = j - start;
		while (mlen > 0 && (*m == ' ' || *m == '{'))
			m++, mlen--;
		int drop = (mlen > 12 && !strncmp(m, "\"elapsed_s\":", 12)) ||
			   (mlen > 15 && !strncmp(m, "\"events_per_s\":", 15));
		if (!drop && mlen > 0) {
			int first = o == 0;
			out[o++] = first ? '{' : ',';
			if (!first)
				out[o++] = ' ';
			memcpy(out + o, m, mlen);
			o += mlen;
		}
		i = j + 1;
	}
	if (o == 0)
		out[o++] = '{';
	out[o++] = '}';
	return o;
}

/* One combination in a worker: its line, malloc'd. */
static char *sweep_line(struct sweep *s, struct play_data *d, size_t idx, size_t *len)
{
	struct combo cb = {0}, *c = &cb;
	combo_get(s, idx, c);
	struct run_req rq = s->r.run;
	rq.nkv = c->nkv;
	memcpy(rq.kv, c->kv, sizeof c->kv);
	rq.dir = NULL;
	rq.full = 0;
	char err[2048] = "", *text = NULL, *sum = NULL;
	size_t textlen = 0, sumlen = 0;
	rq.sum = &text;
	rq.sumlen = &textlen;
	int rc = run_one(d, &rq, err, sizeof err);
	if (rc == 0) {
		if (text && (sum = malloc(textlen + 2)))
			sumlen = strip_summary(text, textlen, sum);
		if (!sum) {
			rc = 2;
			snprintf(err, sizeof err, "out of memory");
		}
	}
	free(text);
	size_t cap = strlen(c->key) + strlen(c->json) + 6 * strlen(err) + sumlen + 64;
	char *line = malloc(cap), *w = line;
	if (!line) {
		free(sum);
		return NULL;
	}
	w += sprintf(w, "{\"key\": \"%s\", \"params\": %s, ", c->key, c->json);
	if (rc == 0) {
		w += sprintf(w, "\"metrics\": ");
		memcpy(w, sum, sumlen);
		w += sumlen;
	} else {
		w += sprintf(w, "\"error\": ");
		json_quote(err[0] ? err : "failed", to_buf, &w);
	}
	*w++ = '}';
	*w++ = '\n';
	*len = (size_t)(w - line);
	free(sum);
	return line;
}

static void worker(struct sweep *s, int n, int task_fd, int res_fd)
{
	(void)n;
	char err[2048];
	/* gantry.ta and the rest of the stdlib compiled once here, not per run */
	sandbox_cache_stdlib(1);
	/* and the order book's first chunk kept between runs, only its used part zeroed */
	oms_keep_spare_chunk(1);
	/* Every run allocates and frees the order book's 1.75 MB chunk (and
	 * other large blocks). From mmap, each free is a munmap, and with the
	 * equity writer's thread alive a munmap is a TLB shootdown across the
	 * cores; glibc's default then moves between mmap and the heap. Kept in
	 * the heap and never trimmed, the blocks are reused run after run:
	 * measured, 5.5 -> 3 ms of CPU per sma_cross backtest (sys 1.8 -> 0.6). */
	mallopt(M_MMAP_THRESHOLD, 64 * 1024 * 1024);
	mallopt(M_TRIM_THRESHOLD, 128 * 1024 * 1024);
	struct play_data d;
	int bad = data_load(&d, s->r.files, s->r.nfiles, s->r.config, err, sizeof err);
	uint32_t idx;
	while (read_full(task_fd, &idx, 4) == 0 && idx < s->n) {
		size_t len = 0;
		char *line = NULL;
		if (bad) { /* every combination says why the data would not load */
			struct combo cb = {0};
			combo_get(s, idx, &cb);
			char *b = malloc(strlen(err) * 6 + strlen(cb.key) + strlen(cb.json) + 64),
			     *w = b;
			if (b) {
				w += sprintf(w, "{\"key\": \"%s\", \"params\": %s, \"error\": ",
					     cb.key, cb.json);
				json_quote(err, to_buf, &w);
				w += sprintf(w, "}\n");
				len = (size_t)(w - b);
				line = b;
			}
		} else {
			line = sweep_line(s, &d, idx, &len);
		}
		uint32_t l32 = (uint32_t)len;
		if (!line || write_full(res_fd, &idx, 4) != 0 || write_full(res_fd, &l32, 4) != 0 ||
		    write_full(res_fd, line, len) != 0)
			_exit(3);
		free(line);
	}
	data_free(&d);
	_exit(0);
}

/* The index of a combination by key: open addressing over the keys. */
struct keymap {
	size_t cap;
	long *slot;
};

static uint64_t key_hash(const char *k)
{
	uint64_t h = 1469598103934665603ull;
	for (; *k; k++)
		h = (h ^ (unsigned char)*k) * 1099511628211ull;
	return h;
}

static int keymap_build(struct keymap *m, const struct sweep *s)
{
	m->cap = 16;
	while (m->cap < 2 * s->n + 16)
		m->cap *= 2;
	if (!(m->slot = malloc(m->cap * sizeof *m->slot)))
		return -1;
	for (size_t i = 0; i < m->cap; i++)
		m->slot[i] = -1;
	for (size_t i = 0; i < s->n; i++) {
		struct combo c = {0};
		combo_get(s, i, &c);
		size_t h = key_hash(c.key) & (m->cap - 1);
		while (m->slot[h] >= 0)
			h = (h + 1) & (m->cap - 1);
		m->slot[h] = (long)i;
	}
	return 0;
}

static long keymap_find(const struct keymap *m, const struct sweep *s, const char *k, size_t klen)
{
	char key[129];
	if (klen >= sizeof key)
		return -1;
	memcpy(key, k, klen);
	key[klen] = '\0';
	for (size_t h = key_hash(key) & (m->cap - 1); m->slot[h] >= 0; h = (h + 1) & (m->cap - 1)) {
		struct combo c = {0};
		combo_get(s, (size_t)m->slot[h], &c);
		if (!strcmp(c.key, key))
			return m->slot[h];
	}
	return -1;
}

/* A result line's metric, if it is a number in its metrics object. */
static void note_best(struct sweep *s, size_t idx, const char *line, size_t len)
{
	const char *m = s->needle[0] ? memmem(line, len, "\"metrics\": {", 12) : NULL;
	const char *k =
	    m ? memmem(m, len - (size_t)(m - line), s->needle, strlen(s->needle)) : NULL;
	if (!k)
		return;
	const char *v = k + strlen(s->needle);
	if (v >= line + len || !(*v == '-' || (*v >= '0' && *v <= '9')))
		return;
	char num[64];
	size_t n = 0;
	while (v + n < line + len && n < sizeof num - 1 && strchr("0123456789+-.eE", v[n]))
		n++;
	memcpy(num, v, n);
	num[n] = '\0';
	char *end;
	double x = strtod(num, &end);
	if (end == num || !isfinite(x))
		return;
	int better = s->best < 0 || (s->minimize ? x < s->best_v : x > s->best_v) ||
		     (x == s->best_v && (long)idx < s->best);
	if (better) {
		s->best = (long)idx;
		s->best_v = x;
	}
}

static void note_error(struct sweep *s, size_t idx, const char *line, size_t len)
{
	const char *e = memmem(line, len, "\"error\": \"", 10);
	if (!e)
		return;
	s->errors++;
	if (s->first_err >= 0 && (size_t)s->first_err < idx)
		return;
	s->first_err = (long)idx;
	/* the JSON string's text, unescaped only for \" and \\ (a message) */
	size_t o = 0;
	for (const char *p = e + 10; p < line + len && *p != '"' && o < sizeof s->first_msg - 1;
	     p++) {
		if (*p == '\\' && p + 1 < line + len)
			p++;
		s->first_msg[o++] = *p;
	}
	s->first_msg[o] = '\0';
}

/* The part file of an interrupted run: its lines whose key is in this grid
 * count as done. A last line cut short is cut off. 0, or -1 (errno). */
static int resume_part(struct sweep *s, const struct keymap *m, const char *part)
{
	FILE *f = fopen(part, "r+b");
	if (!f)
		return errno == ENOENT ? 0 : -1;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	long off = 0, good = 0;
	while ((n = getline(&line, &cap, f)) > 0) {
		if (line[n - 1] != '\n')
			break;
		const char *k = strstr(line, "{\"key\": \"");
		if (k == line) {
			const char *end = strchr(line + 9, '"');
			long idx = end ? keymap_find(m, s, line + 9, (size_t)(end - line - 9)) : -1;
			if (idx >= 0 && s->offset[idx] < 0) {
				s->offset[idx] = off;
				s->resumed++;
				note_error(s, (size_t)idx, line, (size_t)n);
				note_best(s, (size_t)idx, line, (size_t)n);
			}
		}
		off += n;
		good = off;
	}
	free(line);
	int rc = ftruncate(fileno(f), good);
	fclose(f);
	return rc;
}

static void progress(const struct sweep *s, double t0, int final)
{
	size_t total = s->n, have = s->done + s->resumed;
	double el = clock_mono_s() - t0, rate = el > 0 ? (double)s->done / el : 0;
	double left = rate > 0 ? (double)(total - have) / rate : 0;
	int width = 30, fill = total ? (int)((double)have / (double)total * width) : width;
	fprintf(stderr, "\rsweep [%.*s%*s] %zu/%zu  %.0f/s  %.0fs left ", fill,
		"##############################", width - fill, "", have, total, rate, left);
	if (final)
		fputc('\n', stderr);
}

/* The final file, in grid order, from the part file's lines. */
static int write_ordered(struct sweep *s, const char *part, char *err, size_t errlen)
{
	char tmp[4200];
	snprintf(tmp, sizeof tmp, "%s.tmp", s->out);
	FILE *in = fopen(part, "rb"), *out = fopen(tmp, "wb");
	char *line = NULL;
	size_t cap = 0;
	int rc = in && out ? 0 : errf_fail(err, errlen, "%s: %s", s->out, strerror(errno));
	for (size_t i = 0; rc == 0 && i < s->n; i++) {
		if (s->offset[i] < 0)
			continue;
		if (fseek(in, s->offset[i], SEEK_SET) != 0 || getline(&line, &cap, in) <= 0 ||
		    fputs(line, out) == EOF)
			rc = errf_fail(err, errlen, "%s: cannot write the ordered file", s->out);
	}
	free(line);
	if (in)
		fclose(in);
	if (out && fclose(out) != 0 && rc == 0)
		rc = errf_fail(err, errlen, "%s: %s", tmp, strerror(errno));
	if (rc == 0 && rename(tmp, s->out) != 0)
		rc = errf_fail(err, errlen, "%s: %s", s->out, strerror(errno));
	if (rc == 0)
		unlink(part);
	return rc;
}

/* Each worker holds up to IN_FLIGHT combinations: the next is already in
 * its pipe when it finishes one, so it never waits for the parent to be
 * scheduled (on two busy cores that wait was a tenth of the wall time). */
#define IN_FLIGHT 2

struct wk {
	long busy[IN_FLIGHT]; /* indices in flight, oldest first */
	pid_t pid;
	int task, res;
	int nbusy;
};

static void give(struct wk *w, size_t *next, const struct sweep *s)
{
	while (*next < s->n && s->offset[*next] >= 0)
		(*next)++;
	if (*next >= s->n || w->task < 0 || w->nbusy == IN_FLIGHT)
		return;
	uint32_t idx = (uint32_t)*next;
	w->busy[w->nbusy++] = (long)*next;
	s->offset[*next] = -2; /* handed out */
	(*next)++;
	if (write_full(w->task, &idx, 4) != 0) {
		close(w->task);
		w->task = -1;
	}
}

/* Every combination handed out and answered: the workers' task pipes
 * closed, so they end. Not sooner: a worker that dies hands back what
 * waited behind the one it ran, and another must be there to take it. */
static void close_if_done(struct wk *w, int nw, size_t *next, const struct sweep *s)
{
	while (*next < s->n && s->offset[*next] >= 0)
		(*next)++;
	if (*next < s->n)
		return;
	for (int i = 0; i < nw; i++)
		if (w[i].nbusy > 0)
			return;
	for (int i = 0; i < nw; i++)
		if (w[i].task >= 0) {
			close(w[i].task);
			w[i].task = -1;
		}
}

/* The worker answered idx: no longer in flight. */
static void answered(struct wk *w, uint32_t idx)
{
	for (int i = 0; i < w->nbusy; i++)
		if (w->busy[i] == (long)idx) {
			memmove(&w->busy[i], &w->busy[i + 1],
				(size_t)(w->nbusy - i - 1) * sizeof w->busy[0]);
			w->nbusy--;
			return;
		}
}

/* Runs the combinations not done yet over the workers; each result line is
 * appended to the part file as it comes. 0, or -1 with err. */
static int sweep_run(struct sweep *s, int partfd, char *err, size_t errlen)
{
	struct wk w[MAX_JOBS];
	int nw = 0;
	size_t todo = s->n - s->resumed, next = 0;
	long off = lseek(partfd, 0, SEEK_END);
	double t0 = clock_mono_s(), shown = 0;
	fflush(NULL);
	for (int i = 0; i < s->jobs && (size_t)i < todo; i++) {
		int tp[2], rp[2];
		if (pipe(tp) != 0 || pipe(rp) != 0)
			return errf_fail(err, errlen, "sweep: pipe: %s", strerror(errno));
		pid_t pid = fork();
		if (pid < 0)
			return errf_fail(err, errlen, "sweep: fork: %s", strerror(errno));
		if (pid == 0) {
			for (int k = 0; k < nw; k++) {
				if (w[k].task >= 0)
					close(w[k].task);
				close(w[k].res);
			}
			close(tp[1]);
			close(rp[0]);
			close(partfd);
			vm_after_fork();
			worker(s, i, tp[0], rp[1]);
		}
		close(tp[0]);
		close(rp[1]);
		w[nw++] = (struct wk){.pid = pid, .task = tp[1], .res = rp[0]};
	}
	for (int k = 0; k < IN_FLIGHT; k++)
		for (int i = 0; i < nw; i++)
			give(&w[i], &next, s);
	close_if_done(w, nw, &next, s);
	int alive = nw, rc = 0;
	char *buf = NULL;
	size_t bufcap = 0;
	while (alive > 0) {
		struct pollfd pf[MAX_JOBS];
		for (int i = 0; i < nw; i++)
			pf[i] = (struct pollfd){w[i].res, POLLIN, 0};
		if (poll(pf, (nfds_t)nw, 250) < 0 && errno != EINTR) {
			rc = errf_fail(err, errlen, "sweep: poll: %s", strerror(errno));
			break;
		}
		for (int i = 0; i < nw; i++) {
			if (w[i].res < 0 || !(pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			uint32_t idx, len;
			int ok = read_full(w[i].res, &idx, 4) == 0 &&
				 read_full(w[i].res, &len, 4) == 0 && idx < s->n && len > 0;
			if (ok && len > bufcap) {
				char *nb = realloc(buf, len);
				if (nb) {
					buf = nb;
					bufcap = len;
				}
				ok = nb != NULL;
			}
			if (!ok || read_full(w[i].res, buf, len) != 0) {
				/* a worker gone: the combination it ran is an error
				 * line; the one waiting behind it goes to another worker */
				if (w[i].nbusy > 0) {
					char line[1024], *p = line;
					struct combo cb = {0}, *c = &cb;
					combo_get(s, (size_t)w[i].busy[0], c);
					p += snprintf(
					    line, sizeof line,
					    "{\"key\": \"%s\", \"params\": %.600s, \"error\": "
					    "\"the worker process died\"}\n",
					    c->key, c->json);
					idx = (uint32_t)w[i].busy[0];
					len = (uint32_t)(p - line);
					if (write_full(partfd, line, len) == 0) {
						s->offset[idx] = off;
						off += len;
						s->done++;
						note_error(s, idx, line, len);
					}
					for (int k = 1; k < w[i].nbusy; k++) {
						s->offset[w[i].busy[k]] = -1;
						if ((size_t)w[i].busy[k] < next)
							next = (size_t)w[i].busy[k];
					}
					w[i].nbusy = 0;
				}
				if (w[i].task >= 0)
					close(w[i].task);
				w[i].task = -1;
				for (int j = 0; j < nw; j++)
					give(&w[j], &next, s);
				close(w[i].res);
				w[i].res = -1;
				if (w[i].task >= 0)
					close(w[i].task);
				w[i].task = -1;
				alive--;
				continue;
			}
			if (write_full(partfd, buf, len) != 0) {
				rc = errf_fail(err, errlen, "%s.part: %s", s->out, strerror(errno));
				alive = 0;
				break;
			}
			s->offset[idx] = off;
			off += len;
			s->done++;
			note_error(s, idx, buf, len);
			note_best(s, idx, buf, len);
			answered(&w[i], idx);
			give(&w[i], &next, s);
		}
		close_if_done(w, nw, &next, s);
		if (s->progress && (clock_mono_s() - shown > 0.2)) {
			shown = clock_mono_s();
			progress(s, t0, 0);
		}
	}
	free(buf);
	for (int i = 0; i < nw; i++) {
		if (w[i].task >= 0)
			close(w[i].task);
		if (w[i].res >= 0)
			close(w[i].res);
		int st;
		while (waitpid(w[i].pid, &st, 0) < 0 && errno == EINTR)
			;
	}
	if (s->progress)
		progress(s, t0, 1);
	for (size_t i = 0; rc == 0 && i < s->n; i++)
		if (s->offset[i] < 0)
			rc = errf_fail(err, errlen, "sweep: combination %zu got no result", i + 1);
	return rc;
}

/* grid = {{name=, json={...}, text={...}}, ...} (keys sorted), accept = a
 * string of '1'/'0' per product index (nil: all), prefix = the key prefix. */
static void read_grid(lua_State *L, struct sweep *s)
{
	s->prefix = str_field(L, 1, "prefix", 1);
	lua_getfield(L, 1, "grid");
	luaL_checktype(L, -1, LUA_TTABLE);
	int t = lua_gettop(L);
	s->nkeys = (int)lua_rawlen(L, t);
	if (s->nkeys < 1 || s->nkeys > MAX_KV)
		luaL_error(L, "grid: 1 to %d keys", MAX_KV);
	luaL_checkstack(L, s->nkeys + 8, "grid");
	uint64_t total = 1;
	for (int k = 0; k < s->nkeys; k++) {
		struct gkey *g = &s->keys[k];
		lua_rawgeti(L, t, k + 1);
		int gi = lua_gettop(L);
		g->name = str_field(L, gi, "name", 1);
		lua_getfield(L, gi, "json");
		g->nvals = (int)lua_rawlen(L, -1);
		lua_pop(L, 1);
		if (g->nvals < 1 || g->nvals > 100000)
			luaL_error(L, "grid.%s: 1 to 100000 values", g->name);
		total *= (uint64_t)g->nvals;
		if (total > 100000000)
			luaL_error(L, "grid: more than 100,000,000 combinations");
		/* the lists are kept on the Lua stack: their strings stay alive */
		g->vjson = lua_newuserdata(L, 2 * (size_t)g->nvals * sizeof *g->vjson);
		g->vtext = g->vjson + g->nvals;
		lua_getfield(L, gi, "json");
		lua_getfield(L, gi, "text");
		for (int v = 0; v < g->nvals; v++) {
			lua_rawgeti(L, -2, v + 1);
			lua_rawgeti(L, -2, v + 1);
			g->vjson[v] = lua_tostring(L, -2);
			g->vtext[v] = lua_tostring(L, -1);
			if (!g->vjson[v] || !g->vtext[v])
				luaL_error(L, "grid.%s: value %d is not text", g->name, v + 1);
			lua_pop(L, 2);
		}
		lua_pop(L, 2);
		lua_replace(L, gi); /* the userdata in the key's slot, referenced from the stack */
	}
	size_t alen = 0;
	lua_getfield(L, 1, "accept");
	const char *accept = lua_tolstring(L, -1, &alen);
	lua_pop(L, 1); /* still referenced by the request table */
	if (accept && alen != total)
		luaL_error(L, "accept: %d flags for %d combinations", (int)alen, (int)total);
	s->prod = malloc((size_t)total * sizeof *s->prod + 1);
	if (!s->prod) {
		luaL_error(L, "sweep: out of memory");
		return;
	}
	for (uint64_t i = 0; i < total; i++)
		if (!accept || accept[i] == '1')
			s->prod[s->n++] = (uint32_t)i;
	s->offset = malloc((s->n + 1) * sizeof *s->offset);
	if (!s->offset) {
		free(s->prod);
		s->prod = NULL;
		luaL_error(L, "sweep: out of memory");
		return;
	}
	for (size_t i = 0; i < s->n; i++)
		s->offset[i] = -1;
}

int play_run_sweep(lua_State *L)
{
	struct sweep s;
	memset(&s, 0, sizeof s);
	s.first_err = -1;
	s.best = -1;
	read_req(L, &s.r);
	s.out = str_field(L, 1, "out", 1);
	lua_getfield(L, 1, "jobs");
	s.jobs = (int)luaL_optinteger(L, -1, 1);
	lua_pop(L, 1);
	if (s.jobs < 1 || s.jobs > MAX_JOBS) {
		return luaL_error(L, "jobs: expected 1 to %d", MAX_JOBS);
	}
	lua_getfield(L, 1, "progress");
	s.progress = lua_toboolean(L, -1);
	lua_pop(L, 1);
	const char *metric = str_field(L, 1, "metric", 0);
	if (metric && strlen(metric) < sizeof s.needle - 8 && !strpbrk(metric, "\"\\"))
		snprintf(s.needle, sizeof s.needle, "\"%s\": ", metric);
	lua_getfield(L, 1, "minimize");
	s.minimize = lua_toboolean(L, -1);
	lua_pop(L, 1);
	read_grid(L, &s);
	char part[4200], err[2048] = "";
	snprintf(part, sizeof part, "%s.part", s.out);
	struct keymap m = {0};
	int rc = keymap_build(&m, &s);
	/* a finished file of an earlier run counts as done too */
	struct stat sb;
	if (rc == 0 && stat(part, &sb) != 0 && stat(s.out, &sb) == 0 && rename(s.out, part) != 0)
		rc = errf_fail(err, sizeof err, "%s: %s", s.out, strerror(errno));
	if (rc == 0 && resume_part(&s, &m, part) != 0)
		rc = errf_fail(err, sizeof err, "%s: %s", part, strerror(errno));
	int fd = rc == 0 ? open(part, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644) : -1;
	if (rc == 0 && fd < 0)
		rc = errf_fail(err, sizeof err, "%s: %s", part, strerror(errno));
	if (rc == 0 && s.resumed < s.n)
		rc = sweep_run(&s, fd, err, sizeof err);
	if (fd >= 0)
		close(fd);
	if (rc == 0)
		rc = write_ordered(&s, part, err, sizeof err);
	if (rc == 0 && s.first_err >= 0) { /* its parameters, as k=v k=v */
		struct combo c = {0};
		combo_get(&s, (size_t)s.first_err, &c);
		size_t o = 0;
		for (int k = 0; k < c.nkv && o < sizeof s.first_params; k++)
			o += (size_t)snprintf(s.first_params + o, sizeof s.first_params - o, "%s%s",
					      k ? " " : "", c.kv[k]);
	}
	free(m.slot);
	free(s.prod);
	free(s.offset);
	if (rc != 0)
		return luaL_error(L, "%s", err);
	lua_pushinteger(L, (lua_Integer)s.done);
	lua_pushinteger(L, (lua_Integer)s.resumed);
	lua_pushinteger(L, (lua_Integer)s.errors);
	if (s.first_err >= 0) {
		lua_pushinteger(L, s.first_err + 1);
		lua_pushstring(L, s.first_msg);
		lua_pushstring(L, s.first_params);
	} else {
		lua_pushnil(L);
		lua_pushnil(L);
		lua_pushnil(L);
	}
	if (s.best >= 0)
		lua_pushinteger(L, s.best + 1); /* its line in the ordered file */
	else
		lua_pushnil(L);
	return 7;
}

/* ------------------------------------------------------------ span{} */

int play_run_span(lua_State *L)
{
	struct req r;
	read_req(L, &r);
	struct play_data d;
	char err[2048];
	if (data_load(&d, r.files, r.nfiles, NULL, err, sizeof err) != 0) {
		data_free(&d);
		return luaL_error(L, "%s", err);
	}
	if (d.n == 0) {
		data_free(&d);
		return luaL_error(L, "%s: no bars", r.files[0]);
	}
	lua_pushnumber(L, (double)d.ev[0].time / 1e9);
	lua_pushnumber(L, (double)d.ev[d.n - 1].time / 1e9);
	lua_pushinteger(L, (lua_Integer)d.n);
	data_free(&d);
	return 3;
}
