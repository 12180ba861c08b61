/*
 * output — files at the end of a run. JSON numbers that are not finite
 * are written as 0 (JSON has no NaN); the README says where that can happen.
 */
#include "output.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "engine-internal.h"
#include "jsonfmt.h"
#include "lua_compat.h"
#include "log.h"
#include "numfmt.h"
#include "timefmt.h"
#include "vm.h"

int output_mkdirs(const char *dir, char *err, size_t errlen)
{
	char buf[4096];
	if (snprintf(buf, sizeof buf, "%s", dir) >= (int)sizeof buf) {
		errf(err, errlen, "%s: path too long", dir);
		return -1;
	}
	for (char *p = buf + 1;; p++) {
		if (*p == '/' || *p == '\0') {
			char c = *p;
			*p = '\0';
			if (mkdir(buf, 0755) != 0 && errno != EEXIST) {
				errf(err, errlen, "%s: cannot create: %s", buf, strerror(errno));
				return -1;
			}
			*p = c;
			if (!c)
				break;
		}
	}
	struct stat sb;
	if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
		errf(err, errlen, "%s: not a directory", dir);
		return -1;
	}
	return 0;
}

void output_summarize(struct engine *e, double elapsed_s, struct run_summary *s)
{
	memset(s, 0, sizeof *s);
	size_t n = 0;
	double start = 0;
	for (int i = 0; i < e->nstrat; i++) {
		n += (size_t)snprintf(s->strategy + n, sizeof s->strategy - n, "%s%s", i ? "," : "",
				      e->strats[i].name);
		if (n >= sizeof s->strategy)
			n = sizeof s->strategy - 1;
		if (!e->oms)
			continue;
		struct account *a = oms_account(e->oms, i);
		start += a->start_cash;
		s->fills += a->fills;
		s->round_trips += a->round_trips;
		s->wins += a->wins;
		s->orders += a->orders;
		s->rejects += a->rejects;
	}
	s->events = engine_events(e);
	if (e->oms) {
		metrics_finish(&e->eqlog.perf, &s->m);
	} else {
		struct metrics_acc a;
		metrics_init(&a, start);
		metrics_finish(&a, &s->m);
	}
	s->win_rate = s->round_trips ? (double)s->wins / (double)s->round_trips : 0;
	s->elapsed_s = elapsed_s;
	s->events_per_s = elapsed_s > 0 ? (double)s->events / elapsed_s : 0;
}

static double fin(double v)
{
	return isfinite(v) ? v : 0;
}

static void to_file(void *ud, const char *p, size_t n)
{
	fwrite(p, 1, n, ud);
}

static void json_string(FILE *f, const char *s)
{
	json_quote(s, to_file, f);
}

FILE *output_create(const char *dir, const char *name, char *err, size_t errlen)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	if (!f)
		errf(err, errlen, "%s: cannot write: %s", path, strerror(errno));
	return f;
}

/* Closes an output file; a failed flush is a failed write. */
static int output_close(FILE *f, const char *dir, const char *name, char *err, size_t errlen)
{
	if (fclose(f) != 0) {
		errf(err, errlen, "%s/%s: write failed: %s", dir, name, strerror(errno));
		return -1;
	}
	return 0;
}

int output_summary_json(const char *dir, const struct run_summary *s, char *err, size_t errlen)
{
	FILE *f = output_create(dir, "summary.json", err, errlen);
	if (!f)
		return -1;
	fputs("{\"strategy\": ", f);
	json_string(f, s->strategy);
	fprintf(f,
		", \"events\": %ld, \"fills\": %ld, \"round_trips\": %ld, "
		"\"start_equity\": %.10g, \"final_equity\": %.10g, \"total_return\": %.10g, "
		"\"sharpe\": %.10g, \"sortino\": %.10g, \"max_drawdown\": %.10g, "
		"\"win_rate\": %.10g, \"elapsed_s\": %.6g, \"events_per_s\": %.6g, "
		"\"orders\": %ld, \"rejects\": %ld, \"periods_per_year\": %.10g}\n",
		s->events, s->fills, s->round_trips, fin(s->m.start_equity), fin(s->m.final_equity),
		fin(s->m.total_return), fin(s->m.sharpe), fin(s->m.sortino), fin(s->m.max_drawdown),
		fin(s->win_rate), fin(s->elapsed_s), fin(s->events_per_s), s->orders, s->rejects,
		fin(s->m.periods_per_year));
	return output_close(f, dir, "summary.json", err, errlen);
}

int output_orders_csv(const char *dir, struct engine *e, char *err, size_t errlen)
{
	FILE *f = output_create(dir, "orders.csv", err, errlen);
	if (!f)
		return -1;
	fputs("id,time,strategy,symbol,side,type,qty,price,tif,status,filled,avg_price,fees,"
	      "reason,version,updated\n", f);
	int64_t n = e->oms ? oms_count(e->oms) : 0;
	for (int64_t id = 1; id <= n; id++) {
		const struct order *o = oms_get(e->oms, id);
		char t[TIME_ISO_LEN + 1], u[TIME_ISO_LEN + 1];
		time_format_iso(o->created, t);
		time_format_iso(o->updated, u);
		fprintf(f, "%lld,%s,%s,%s,%s,%s,%.0f,", (long long)o->id, t, e->strats[o->strat].name,
			symtab_name(e->symtab, o->sym), oms_side_name(o->side),
			o->type == ORD_LIMIT ? "limit" : "market", o->qty);
		char num[40];
		if (o->type == ORD_LIMIT) {
			size_t len = (size_t)(numfmt(num, o->price, 8) - num);
			fwrite(num, 1, len, f);
		}
		fprintf(f, ",%s,%s,%.0f,", oms_tif_name(o->tif), oms_status_name(o->status), o->filled);
		if (o->filled > 0) {
			size_t len = (size_t)(numfmt(num, o->avg_price, 8) - num);
			fwrite(num, 1, len, f);
		}
		fputc(',', f);
		size_t nf = (size_t)(numfmt(num, o->fees, 8) - num);
		fwrite(num, 1, nf, f);
		fprintf(f, ",%s,%d,%s\n", o->reason ? o->reason : "", o->version, u);
	}
	return output_close(f, dir, "orders.csv", err, errlen);
}

void output_print(FILE *f, const struct run_summary *s, const char *dir)
{
	fprintf(f, "strategy      %s\n", s->strategy);
	fprintf(f, "events        %ld (%.0f/s in %.3f s)\n", s->events, s->events_per_s,
		s->elapsed_s);
	fprintf(f, "orders        %ld (%ld rejected), fills %ld, round trips %ld\n", s->orders,
		s->rejects, s->fills, s->round_trips);
	fprintf(f, "equity        %.2f -> %.2f (%+.2f%%)\n", s->m.start_equity, s->m.final_equity,
		s->m.total_return * 100);
	fprintf(f, "sharpe        %.2f   sortino %.2f   max drawdown %.2f%%   win rate %.1f%%\n",
		s->m.sharpe, s->m.sortino, s->m.max_drawdown * 100, s->win_rate * 100);
	if (dir)
		fprintf(f, "report        %s/report.html\n", dir);
}

/* ------------------------------------------------------------ report */

#define REPORT_POINTS 2000
/* The report's sandbox (vm_script): room and time far beyond what a tear
 * sheet of REPORT_POINTS points a series takes, so that only a runaway stops. */
#define REPORT_MEMORY (256u << 20)
#define REPORT_CPU_MS 30000.0

static void push_series(lua_State *L, const struct series *ser, const char *vname)
{
	static int64_t t[SERIES_CAP + 1];
	static double v[SERIES_CAP + 1];
	size_t n = series_points(ser, t, v);
	size_t step = n > REPORT_POINTS ? (n + REPORT_POINTS - 1) / REPORT_POINTS : 1;
	lua_createtable(L, 0, 2);
	lua_createtable(L, (int)(n / step + 2), 0);
	lua_createtable(L, (int)(n / step + 2), 0);
	int k = 0;
	for (size_t i = 0; i < n; i += step) {
		/* keep the last point whatever the stride */
		size_t j = (i + step >= n) ? n - 1 : i;
		lua_pushinteger(L, (lua_Integer)t[j]);
		lua_rawseti(L, -3, ++k);
		lua_pushnumber(L, v[j]);
		lua_rawseti(L, -2, k);
	}
	lua_setfield(L, -3, vname);
	lua_setfield(L, -2, "t");
}

static void set_num(lua_State *L, const char *k, double v)
{
	lua_pushnumber(L, v);
	lua_setfield(L, -2, k);
}

static void push_summary(lua_State *L, const struct run_summary *s)
{
	lua_createtable(L, 0, 14);
	lua_pushstring(L, s->strategy);
	lua_setfield(L, -2, "strategy");
	set_num(L, "events", (double)s->events);
	set_num(L, "fills", (double)s->fills);
	set_num(L, "round_trips", (double)s->round_trips);
	set_num(L, "start_equity", s->m.start_equity);
	set_num(L, "final_equity", s->m.final_equity);
	set_num(L, "total_return", s->m.total_return);
	set_num(L, "sharpe", s->m.sharpe);
	set_num(L, "sortino", s->m.sortino);
	set_num(L, "max_drawdown", s->m.max_drawdown);
	set_num(L, "win_rate", s->win_rate);
	set_num(L, "elapsed_s", s->elapsed_s);
	set_num(L, "events_per_s", s->events_per_s);
	lua_setfield(L, -2, "summary");
}

static void push_fills(lua_State *L, struct engine *e)
{
	lua_createtable(L, (int)e->nfills, 0);
	for (size_t i = 0; i < e->nfills; i++) {
		const struct fill *f = &e->fills[i];
		lua_createtable(L, 0, 5);
		lua_pushinteger(L, (lua_Integer)f->time);
		lua_setfield(L, -2, "t");
		lua_pushstring(L, symtab_name(e->symtab, f->sym));
		lua_setfield(L, -2, "symbol");
		lua_pushstring(L, oms_side_name(f->side));
		lua_setfield(L, -2, "side");
		set_num(L, "qty", f->qty);
		set_num(L, "price", f->price);
		lua_rawseti(L, -2, (lua_Integer)i + 1);
	}
	lua_setfield(L, -2, "fills");
}

static int report_data(lua_State *L)
{
	struct engine *e = lua_touserdata(L, 1);
	const struct run_summary *s = lua_touserdata(L, 2);
	lua_createtable(L, 0, 6);
	lua_pushfstring(L, "%s", s->strategy);
	lua_setfield(L, -2, "title");
	push_summary(L, s);
	lua_newtable(L); /* params, as text, from the first strategy */
	if (e->nstrat > 0 && e->strats[0].vm) {
		char buf[4096];
		vm_backend.describe_params(e->strats[0].vm, buf, sizeof buf);
		for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
			char *eq = strstr(line, " = ");
			if (!eq)
				continue;
			*eq = '\0';
			while (*line == ' ')
				line++;
			char *val = eq + 3, *type = strrchr(val, '(');
			if (type && type > val)
				type[-1] = '\0';
			lua_pushstring(L, val);
			lua_setfield(L, -2, line);
		}
	}
	lua_setfield(L, -2, "params");
	push_series(L, &e->eqlog.chart, "equity");
	lua_setfield(L, -2, "equity");
	lua_newtable(L);
	for (int sym = 0; sym < e->nprices; sym++)
		if (e->prices[sym].count > 0) {
			push_series(L, &e->prices[sym], "close");
			lua_setfield(L, -2, symtab_name(e->symtab, sym));
		}
	lua_setfield(L, -2, "prices");
	push_fills(L, e);
	return 1;
}

int output_report(const char *dir, struct engine *e, const struct run_summary *s, char *err,
		  size_t errlen)
{
	const char *env = getenv("GANTRY_STDLIB");
	char lib[4096], path[4096];
	snprintf(lib, sizeof lib, "%s/gantry/report.lua", env && *env ? env : GANTRY_ROOT "/stdlib");
	snprintf(path, sizeof path, "%s/report.html", dir);
	/* a sandbox like a strategy's: report.lua is pure, and gets no more */
	struct vm_script *vs = vm_script_open(REPORT_MEMORY, REPORT_CPU_MS);
	if (!vs) {
		errf(err, errlen, "report: cannot create a Lua state");
		return -1;
	}
	lua_State *L = vm_script_state(vs);
	int rc = -1;
	if (luaL_loadfilex(L, lib, "t") != LUA_OK || vm_script_call(vs, 0, 1) != VM_OK) {
		errf(err, errlen, "report: %s", lua_tostring(L, -1));
		goto done;
	}
	lua_getfield(L, -1, "render");
	lua_pushcfunction(L, report_data);
	lua_pushlightuserdata(L, e);
	lua_pushlightuserdata(L, (void *)s);
	if (vm_script_call(vs, 2, 1) != VM_OK || vm_script_call(vs, 1, 1) != VM_OK) {
		errf(err, errlen, "report: %s", lua_tostring(L, -1));
		goto done;
	}
	size_t len;
	const char *html = lua_tolstring(L, -1, &len);
	FILE *f = fopen(path, "w");
	if (!html || !f || fwrite(html, 1, len, f) != len || fclose(f) != 0) {
		errf(err, errlen, "%s: cannot write the report", path);
		goto done;
	}
	rc = 0;
done:
	vm_script_close(vs);
	return rc;
}
