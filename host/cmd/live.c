/*
 * live — the venue URL, the deploy config's `venue` table and the loop's
 * hooks for `gantry live` (see live.h). Every key of `venue` is checked:
 * an unknown key, a wrong type or an unreadable file is `gantry: CONFIG:
 * venue.KEY: what is wrong` and exit 2 before anything connects.
 */
#include "live.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "clock.h"
#include "ctl.h"
#include "log.h"
#include "lua_compat.h"
#include "output.h"
#include "tz.h"
#include "venue_fix.h"

const char live_usage[] =
    "usage: gantry live STRATEGY [STRATEGY...] --feed URL --venue "
    "fix://HOST:PORT?sender=S&target=T\n"
    "                   --config DEPLOY.lua [--ctl PATH] [--linger] [--no-watch]\n"
    "                   [--param [NAME.]K=V ...] [--out DIR] [--cash N] [--seed N]\n"
    "                   [--memory-mb N] [--callback-ms N] [--no-report] [--quiet]\n"
    "                   [--resume | --overwrite] [--log FILE] [--warmup FILE]\n"
    "                   (the CSV and ITCH options of paper)\n"
    "\n"
    "Runs the strategies as paper does (same outputs, control socket, hot reload and\n"
    "risk), with orders routed over FIX 4.4 to the venue (fixs:// for TLS); positions\n"
    "and P&L come from the venue's execution reports. The deploy config's `venue`\n"
    "table holds the session settings (heartbeat_s, reset_on_logon, username_file,\n"
    "password_file, store, resend_max_age_s, too_low_seq, reconnect_s,\n"
    "reconnect_max_s, connect_timeout_s, order_types, cancel_on_reconnect, account,\n"
    "schedule, tls, mass_status). While the session is down orders are refused\n"
    "(venue_down). --resume rebuilds the book from the journal and asks the venue\n"
    "about every working order (docs/journal.md).\n"
    "Exit status: 0 done, 1 a strategy failed at run time, 2 bad usage or input, a\n"
    "certificate the host cannot trust or a refused logon.\n";

struct live {
	struct venue_fix *vf; /* owned by the engine (its venue) */
	struct venue_fix_config c;
	struct engine *e;
	char host[256], sender[64], target[64], url[600];
	char *username, *password;
	struct tz *tz;
	char store[4096];
	int store_set;
	void (*wake)(void *);
	void *wake_ud;
	const char *cfg_path;
	double halt_timeout_s;
	struct event_base *base;
	struct held_halt {
		struct bufferevent *bev; /* NULL: a free slot */
		struct evbuffer *reply;
		struct event *ev;
		double since;
	} halts[8];
};

int live_is_venue_url(const char *url)
{
	return url && (strncmp(url, "fix://", 6) == 0 || strncmp(url, "fixs://", 7) == 0);
}

/* fix://HOST:PORT?sender=S&target=T */
static int parse_url(struct live *lv, const char *url, char *err, size_t errlen)
{
	int tls = strncmp(url, "fixs://", 7) == 0;
	const char *p = url + (tls ? 7 : 6), *q = strchr(p, '?');
	const char *colon = memrchr(p, ':', q ? (size_t)(q - p) : strlen(p));
	snprintf(lv->url, sizeof lv->url, "%s", url);
	lv->c.url = lv->url;
	if (!colon || colon == p || (size_t)(colon - p) >= sizeof lv->host)
		return errf_fail(err, errlen,
				 "--venue %s: expected %s://HOST:PORT?sender=S&target=T", url,
				 tls ? "fixs" : "fix");
	memcpy(lv->host, p, (size_t)(colon - p));
	lv->host[colon - p] = '\0';
	char *end;
	long port = strtol(colon + 1, &end, 10);
	if (end == colon + 1 || (q ? end != q : *end != '\0') || port < 1 || port > 65535)
		return errf_fail(err, errlen, "--venue %s: the port must be a number 1..65535",
				 url);
	for (const char *k = q ? q + 1 : NULL; k && *k;) {
		const char *amp = strchr(k, '&'), *eq = strchr(k, '=');
		size_t n = amp ? (size_t)(amp - k) : strlen(k);
		char *dst = NULL;
		if (eq && eq < k + n) {
			size_t kl = (size_t)(eq - k), vl = n - kl - 1;
			if (kl == 6 && !memcmp(k, "sender", 6))
				dst = lv->sender;
			else if (kl == 6 && !memcmp(k, "target", 6))
				dst = lv->target;
			if (dst && vl > 0 && vl < 64) {
				memcpy(dst, eq + 1, vl);
				dst[vl] = '\0';
			} else {
				dst = NULL;
			}
		}
		if (!dst)
			return errf_fail(err, errlen,
					 "--venue %s: '%.*s': expected sender=S or "
					 "target=T (1 to 63 characters)",
					 url, (int)n, k);
		k = amp ? amp + 1 : NULL;
	}
	if (!lv->sender[0] || !lv->target[0])
		return errf_fail(err, errlen,
				 "--venue %s: sender=S and target=T are required "
				 "(SenderCompID, TargetCompID)",
				 url);
	lv->c.s.host = lv->host;
	lv->c.s.port = (int)port;
	lv->c.s.tls = tls;
	lv->c.s.sender = lv->sender;
	lv->c.s.target = lv->target;
	return 0;
}

/* ------------------------------------------------------------ the venue table */

struct reader {
	lua_State *L;
	const char *path;
	char *err;
	size_t errlen;
};

static int bad(struct reader *r, const char *key, const char *what)
{
	return errf_fail(r->err, r->errlen, "%s: venue.%s: %s", r->path, key, what);
}

static int get_num(struct reader *r, int t, const char *key, double min, double max, double *out)
{
	int ty = lua_getfield(r->L, t, key);
	double v = lua_tonumber(r->L, -1);
	lua_pop(r->L, 1);
	if (ty == LUA_TNIL)
		return 0;
	if (ty != LUA_TNUMBER || !(v >= min && v <= max)) {
		char what[96];
		snprintf(what, sizeof what, "expected a number from %g to %g", min, max);
		return bad(r, key, what);
	}
	*out = v;
	return 0;
}

static int get_bool(struct reader *r, int t, const char *key, int *out)
{
	int ty = lua_getfield(r->L, t, key);
	int v = lua_toboolean(r->L, -1);
	lua_pop(r->L, 1);
	if (ty == LUA_TNIL)
		return 0;
	if (ty != LUA_TBOOLEAN)
		return bad(r, key, "expected true or false");
	*out = v;
	return 0;
}

/* A string that stays in the config's state (borrowed). */
static int get_str(struct reader *r, int t, const char *key, const char **out)
{
	int ty = lua_getfield(r->L, t, key);
	const char *v = ty == LUA_TSTRING ? lua_tostring(r->L, -1) : NULL;
	lua_pop(r->L, 1);
	if (ty == LUA_TNIL)
		return 0;
	if (!v || !*v)
		return bad(r, key, "expected a non-empty string");
	*out = v;
	return 0;
}

/* A secret: the first line of the file a key names. */
static int get_secret(struct reader *r, int t, const char *key, char **out)
{
	const char *path = NULL;
	if (get_str(r, t, key, &path) != 0 || !path)
		return path ? -1 : 0;
	FILE *f = fopen(path, "r");
	char line[512];
	if (!f) {
		snprintf(line, sizeof line, "%s: %s", path, strerror(errno));
		return bad(r, key, line);
	}
	struct stat sb;
	if (fstat(fileno(f), &sb) == 0 && (sb.st_mode & 077))
		log_msg(LOG_WARN, "live", "%s: readable by others (chmod 600 it)", path);
	if (!fgets(line, sizeof line, f))
		line[0] = '\0';
	fclose(f);
	line[strcspn(line, "\r\n")] = '\0';
	if (!line[0]) {
		char what[600];
		snprintf(what, sizeof what, "%s: empty", path);
		return bad(r, key, what);
	}
	if (!(*out = strdup(line)))
		return bad(r, key, "out of memory");
	return 0;
}

static int check_keys(struct reader *r, int t, const char *section, const char *const *known)
{
	lua_State *L = r->L;
	lua_pushnil(L);
	while (lua_next(L, t) != 0) {
		lua_pop(L, 1);
		int ok = 0;
		if (lua_type(L, -1) == LUA_TSTRING)
			for (int i = 0; known[i]; i++)
				ok |= strcmp(lua_tostring(L, -1), known[i]) == 0;
		if (!ok) {
			char key[128];
			snprintf(key, sizeof key, "%s%s%s", section, *section ? "." : "",
				 lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "?");
			lua_pop(L, 1);
			return bad(r, key, "unknown key (see `gantry live --help`)");
		}
	}
	return 0;
}

/* "HH:MM" or "HH:MM:SS": seconds into the day, -1 when malformed. */
static int day_seconds(const char *s)
{
	int v[3] = {0, 0, 0}, n = 0;
	for (const char *p = s; n < 3; n++) {
		if (p[0] < '0' || p[0] > '9' || p[1] < '0' || p[1] > '9')
			return -1;
		v[n] = (p[0] - '0') * 10 + (p[1] - '0');
		p += 2;
		if (*p == '\0') {
			n++;
			break;
		}
		if (*p++ != ':')
			return -1;
	}
	size_t len = strlen(s);
	if ((len != 5 && len != 8) || v[0] > 23 || v[1] > 59 || v[2] > 59)
		return -1;
	return v[0] * 3600 + v[1] * 60 + v[2];
}

static int read_schedule(struct live *lv, struct reader *r, int t)
{
	static const char *const keys[] = {"start", "end", "days", "tz", NULL};
	static const char *const names[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};
	if (check_keys(r, t, "schedule", keys) != 0)
		return -1;
	const char *start = NULL, *end = NULL, *zone = NULL;
	if (get_str(r, t, "start", &start) || get_str(r, t, "end", &end) ||
	    get_str(r, t, "tz", &zone))
		return -1;
	if (!start || !end)
		return bad(r, "schedule", "start and end are required (\"HH:MM[:SS]\")");
	lv->c.s.start_s = day_seconds(start);
	lv->c.s.end_s = day_seconds(end);
	if (lv->c.s.start_s < 0 || lv->c.s.end_s < 0)
		return bad(r, "schedule", "start and end: expected \"HH:MM\" or \"HH:MM:SS\"");
	int ty = lua_getfield(r->L, t, "days");
	if (ty == LUA_TTABLE) {
		for (lua_Integer i = 1;; i++) {
			int et = lua_rawgeti(r->L, -1, i);
			const char *d = et == LUA_TSTRING ? lua_tostring(r->L, -1) : NULL;
			lua_pop(r->L, 1);
			if (et == LUA_TNIL)
				break;
			int k = 0;
			while (d && k < 7 && strcmp(d, names[k]) != 0)
				k++;
			if (!d || k == 7) {
				lua_pop(r->L, 1);
				return bad(r, "schedule.days",
					   "expected a list of sun mon tue wed thu fri sat");
			}
			lv->c.s.days_mask |= 1u << k;
		}
	} else if (ty != LUA_TNIL) {
		lua_pop(r->L, 1);
		return bad(r, "schedule.days", "expected a list of sun mon tue wed thu fri sat");
	}
	lua_pop(r->L, 1);
	if (zone) {
		char inner[256];
		if (!(lv->tz = tz_load(zone, inner, sizeof inner)))
			return bad(r, "schedule.tz", inner);
		lv->c.s.tz = lv->tz;
	}
	lv->c.s.has_schedule = 1;
	return 0;
}

static int read_tls(struct live *lv, struct reader *r, int t)
{
	static const char *const keys[] = {"ca_file", "cert_file", "key_file", "server_name", NULL};
	if (check_keys(r, t, "tls", keys) != 0 || get_str(r, t, "ca_file", &lv->c.s.ca_file) ||
	    get_str(r, t, "cert_file", &lv->c.s.cert_file) ||
	    get_str(r, t, "key_file", &lv->c.s.key_file) ||
	    get_str(r, t, "server_name", &lv->c.s.server_name))
		return -1;
	if (!lv->c.s.cert_file != !lv->c.s.key_file)
		return bad(r, "tls", "cert_file and key_file go together");
	return 0;
}

static int read_order_types(struct live *lv, struct reader *r, int t)
{
	int ty = lua_getfield(r->L, t, "order_types");
	if (ty == LUA_TNIL) {
		lua_pop(r->L, 1);
		return 0;
	}
	int ok = ty == LUA_TTABLE;
	for (lua_Integer i = 1; ok; i++) {
		int et = lua_rawgeti(r->L, -1, i);
		const char *s = et == LUA_TSTRING ? lua_tostring(r->L, -1) : NULL;
		lua_pop(r->L, 1);
		if (et == LUA_TNIL)
			break;
		if (s && (strcmp(s, "stop") == 0 || strcmp(s, "stop_limit") == 0))
			lv->c.native_stops = 1;
		else if (!s || (strcmp(s, "market") != 0 && strcmp(s, "limit") != 0))
			ok = 0;
	}
	lua_pop(r->L, 1);
	return ok ? 0 : bad(r, "order_types", "expected a list of market, limit, stop, stop_limit");
}

static int read_venue(struct live *lv, const struct deploy_config *cfg, char *err, size_t errlen)
{
	static const char *const keys[] = {"heartbeat_s",
					   "reset_on_logon",
					   "username_file",
					   "password_file",
					   "store",
					   "resend_max_age_s",
					   "too_low_seq",
					   "reconnect_s",
					   "reconnect_max_s",
					   "connect_timeout_s",
					   "order_types",
					   "cancel_on_reconnect",
					   "account",
					   "schedule",
					   "tls",
					   "halt_timeout_s",
					   "mass_status",
					   NULL};
	struct reader r = {cfg->L, cfg->path, err, errlen};
	lua_State *L = cfg->L;
	int ty = lua_getfield(L, 1, "venue");
	int t = lua_gettop(L);
	int rc = 0;
	double hb = 30, age = 60, rmin = 1, rmax = 30, cto = 10, halt = 5;
	const char *too_low = NULL, *store = NULL;
	if (ty == LUA_TNIL) {
		lua_pop(L, 1);
		if (lv->c.s.tls)
			return errf_fail(err, errlen, "%s: venue.tls.ca_file: required for fixs://",
					 cfg->path);
		goto fill;
	}
	if (ty != LUA_TTABLE) {
		lua_pop(L, 1);
		return bad(&r, "", "expected a table");
	}
	if (check_keys(&r, t, "", keys) || get_num(&r, t, "heartbeat_s", 1, 3600, &hb) ||
	    get_bool(&r, t, "reset_on_logon", &lv->c.s.reset_on_logon) ||
	    get_secret(&r, t, "username_file", &lv->username) ||
	    get_secret(&r, t, "password_file", &lv->password) || get_str(&r, t, "store", &store) ||
	    get_num(&r, t, "resend_max_age_s", -1, 1e9, &age) ||
	    get_str(&r, t, "too_low_seq", &too_low) ||
	    get_num(&r, t, "reconnect_s", 0.01, 3600, &rmin) ||
	    get_num(&r, t, "reconnect_max_s", 0.01, 86400, &rmax) ||
	    get_num(&r, t, "connect_timeout_s", 0.1, 600, &cto) || read_order_types(lv, &r, t) ||
	    get_bool(&r, t, "cancel_on_reconnect", &lv->c.cancel_on_reconnect) ||
	    get_bool(&r, t, "mass_status", &lv->c.mass_status) ||
	    get_str(&r, t, "account", &lv->c.account) ||
	    get_num(&r, t, "halt_timeout_s", 0, 3600, &halt)) {
		lua_pop(L, 1);
		return -1;
	}
	if (too_low && strcmp(too_low, "logout") != 0 && strcmp(too_low, "reject") != 0)
		rc = bad(&r, "too_low_seq", "expected \"logout\" (the FIX rule) or \"reject\"");
	if (!rc && hb != (int)hb)
		rc = bad(&r, "heartbeat_s", "expected whole seconds");
	if (!rc && lua_getfield(L, t, "schedule") != LUA_TNIL)
		rc = lua_type(L, -1) == LUA_TTABLE ? read_schedule(lv, &r, lua_gettop(L))
						   : bad(&r, "schedule", "expected a table");
	if (!rc)
		lua_pop(L, 1);
	if (!rc && lua_getfield(L, t, "tls") != LUA_TNIL) {
		rc = lua_type(L, -1) == LUA_TTABLE ? read_tls(lv, &r, lua_gettop(L))
						   : bad(&r, "tls", "expected a table");
	}
	if (!rc)
		lua_pop(L, 1);
	lua_settop(L, t - 1);
	if (rc)
		return -1;
	if (lv->c.s.tls && !lv->c.s.ca_file)
		return bad(&r, "tls.ca_file",
			   "required for fixs:// (the CA that signs the venue's "
			   "certificate)");
	if (!lv->c.s.tls && lv->c.s.ca_file)
		log_msg(LOG_WARN, "live",
			"venue.tls is set but the venue URL is fix:// (plain TCP)");
fill:
	lv->halt_timeout_s = halt;
	lv->c.s.heartbeat_s = (int)hb;
	lv->c.s.resend_max_age_s = age;
	lv->c.s.too_low =
	    too_low && strcmp(too_low, "reject") == 0 ? FIX_TOO_LOW_REJECT : FIX_TOO_LOW_LOGOUT;
	lv->c.s.reconnect_min_s = rmin;
	lv->c.s.reconnect_max_s = rmax < rmin ? rmin : rmax;
	lv->c.s.connect_timeout_s = cto;
	lv->c.s.username = lv->username;
	lv->c.s.password = lv->password;
	if (store) {
		snprintf(lv->store, sizeof lv->store, "%s", store);
		lv->store_set = 1;
	}
	lv->c.s.store_dir = lv->store;
	return 0;
}

/* ------------------------------------------------------------ hooks */

static int64_t engine_clock(void *ud)
{
	return engine_now(ud);
}

static void on_venue(void *ud, int ev, const char *detail)
{
	struct live *lv = ud;
	if (ev == VF_UP)
		log_msg(LOG_INFO, "live", "venue up: orders go to %s", lv->url);
	else if (ev == VF_UNSETTLED) /* recovery: nothing settles it; an operator must */
		for (int i = 0; i < engine_nstrat(lv->e); i++) {
			char why[300];
			snprintf(why, sizeof why, "recovery: %s", detail ? detail : "");
			engine_halt(engine_strategy(lv->e, i), why);
		}
	else if (ev == VF_DOWN)
		log_msg(LOG_WARN, "live",
			"venue down (%s): orders are refused (venue_down) until "
			"it is back",
			detail ? detail : "");
	engine_deliver(lv->e);
	if (lv->wake)
		lv->wake(lv->wake_ud);
}

/* ------------------------------------------------------------ ctl halt */

/* Working orders of halted strategies (a bracket's exits stay by design):
 * written as a JSON list of ids into out when out is not NULL. */
static int still_working(struct live *lv, struct evbuffer *out)
{
	struct oms *oms = engine_oms(lv->e);
	int n = 0;
	for (int i = 0; i < engine_nstrat(lv->e); i++) {
		struct strategy_view v;
		engine_describe(engine_strategy(lv->e, i), &v);
		if (v.state == STRAT_RUNNING)
			continue;
		for (int k = 0; k < oms_open_count(oms, v.id); k++) {
			struct order *o = oms_open_at(oms, v.id, k);
			if (o->role != ROLE_NONE)
				continue;
			if (out)
				evbuffer_add_printf(out, "%s%lld", n ? ", " : "", (long long)o->id);
			n++;
		}
	}
	return n;
}

static void halt_answer(struct live *lv, struct held_halt *h, int timed_out)
{
	/* the reply is `{... "halted": [...]}\n`: the confirmation goes inside */
	size_t len = evbuffer_get_length(h->reply);
	struct evbuffer *out = evbuffer_new();
	if (out && len >= 2) {
		evbuffer_remove_buffer(h->reply, out, len - 2);
		evbuffer_add_printf(out, ", \"confirmed\": %s, \"working\": [",
				    timed_out ? "false" : "true");
		int n = still_working(lv, out);
		evbuffer_add_printf(out, "]");
		if (timed_out)
			evbuffer_add_printf(out, ", \"timeout_s\": %g", lv->halt_timeout_s);
		evbuffer_add_printf(out, "}\n");
		if (timed_out)
			log_msg(LOG_WARN, "live",
				"halt: %d orders still working after %g s "
				"(see `gantry ctl SOCKET status`)",
				n, lv->halt_timeout_s);
		else
			log_msg(LOG_INFO, "live", "halt: the venue confirmed every cancel");
		evbuffer_free(h->reply);
	} else {
		if (out)
			evbuffer_free(out);
		out = h->reply;
	}
	ctl_reply(h->bev, out);
	if (h->ev)
		event_free(h->ev);
	memset(h, 0, sizeof *h);
}

/* Every 20 ms while a halt waits: answered once nothing works, or at the timeout. */
static void on_halt_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct live *lv = arg;
	int working = still_working(lv, NULL);
	for (int i = 0; i < 8; i++) {
		struct held_halt *h = &lv->halts[i];
		if (!h->bev)
			continue;
		if (working == 0)
			halt_answer(lv, h, 0);
		else if (clock_mono_s() - h->since >= lv->halt_timeout_s)
			halt_answer(lv, h, 1);
	}
}

static void h_halt_reply(void *ud, struct bufferevent *bev, struct evbuffer *reply)
{
	struct live *lv = ud;
	struct held_halt *h = NULL;
	for (int i = 0; i < 8 && !h; i++)
		if (!lv->halts[i].bev)
			h = &lv->halts[i];
	if (!h) { /* eight halts waiting already: this one is answered as it is */
		ctl_reply(bev, reply);
		return;
	}
	h->bev = bev;
	h->reply = reply;
	h->since = clock_mono_s();
	h->ev = event_new(lv->base, -1, EV_PERSIST, on_halt_tick, lv);
	if (!h->ev) {
		ctl_reply(bev, reply);
		memset(h, 0, sizeof *h);
		return;
	}
	struct timeval tv = {0, 20000};
	event_add(h->ev, &tv);
	on_halt_tick(-1, 0, lv); /* nothing working: at once */
}

static int h_start(void *ud, struct event_base *base, void (*wake)(void *), void *wake_ud,
		   char *err, size_t errlen)
{
	struct live *lv = ud;
	lv->base = base;
	lv->wake = wake;
	lv->wake_ud = wake_ud;
	if (output_mkdirs(lv->store, err, errlen) != 0)
		return -1;
	return venue_fix_start(lv->vf, base, err, errlen);
}

static int h_busy(void *ud)
{
	return venue_fix_busy(((struct live *)ud)->vf);
}

static void h_stop(void *ud)
{
	venue_fix_stop(((struct live *)ud)->vf);
}

static int h_closed(void *ud)
{
	return venue_fix_closed(((struct live *)ud)->vf);
}

static const char *h_fatal(void *ud)
{
	return venue_fix_fatal(((struct live *)ud)->vf);
}

static int h_up(void *ud)
{
	return venue_fix_up(((struct live *)ud)->vf);
}

static void h_detach(void *ud)
{
	struct live *lv = ud;
	for (int i = 0; i < 8; i++) { /* the loop ends: a halt still waiting gets no answer */
		struct held_halt *h = &lv->halts[i];
		if (!h->bev)
			continue;
		bufferevent_free(h->bev);
		evbuffer_free(h->reply);
		event_free(h->ev);
		memset(h, 0, sizeof *h);
	}
	venue_fix_detach(lv->vf);
}

static void h_status(void *ud, struct evbuffer *out)
{
	struct live *lv = ud;
	struct venue_fix_stats st;
	venue_fix_stats(lv->vf, &st);
	evbuffer_add_printf(
	    out,
	    "\"venue\": {\"url\": \"%s://%s:%d\", \"state\": \"%s\", \"next_out\": %lld, "
	    "\"next_in\": %lld, \"orders_sent\": %ld, \"cancels_sent\": %ld, "
	    "\"replaces_sent\": %ld, \"reports\": %ld, \"unknown_reports\": %ld, "
	    "\"unhandled\": %ld, \"garbled\": %ld, \"rejects_sent\": %ld, "
	    "\"resend_requests_sent\": %ld, \"resend_requests_received\": %ld, "
	    "\"logons\": %ld, \"disconnects\": %ld}, ",
	    lv->c.s.tls ? "fixs" : "fix", lv->host, lv->c.s.port,
	    venue_fix_up(lv->vf) ? "up" : "down", (long long)st.session.next_out,
	    (long long)st.session.next_in, st.sent_new, st.sent_cancel, st.sent_replace, st.reports,
	    st.unknown_reports, st.unhandled, st.session.garbled, st.session.rejects_sent,
	    st.session.resend_requests_sent, st.session.resend_requests_received, st.session.logons,
	    st.session.disconnects);
}

int live_open_venue(const char *url, const struct deploy_config *cfg, struct engine *e,
		    struct oms *oms, struct venue *out, struct live **lvp, char *err, size_t errlen)
{
	struct live *lv = calloc(1, sizeof *lv);
	if (!lv)
		return errf_fail(err, errlen, "out of memory");
	*lvp = lv;
	lv->e = e;
	lv->cfg_path = cfg->path;
	if (parse_url(lv, url, err, errlen) != 0)
		return -1;
	if (!cfg->L)
		return errf_fail(err, errlen,
				 "--venue %s: gantry live needs --config DEPLOY.lua "
				 "(its `venue` table: credentials files, TLS, schedule)",
				 url);
	if (read_venue(lv, cfg, err, errlen) != 0)
		return -1;
	lv->c.now = engine_clock;
	lv->c.now_ud = e;
	char inner[1024];
	lv->vf = venue_fix_new(oms, engine_symtab(e), &lv->c, inner, sizeof inner);
	if (!lv->vf)
		return errf_fail(err, errlen, "%s: venue: %s", cfg->path, inner);
	venue_fix_listen(lv->vf, on_venue, lv);
	*out = (struct venue){&venue_fix_ops, lv->vf};
	return 0;
}

void live_hooks(struct live *lv, const char *outdir, struct paper_venue *out)
{
	if (!lv->store_set)
		snprintf(lv->store, sizeof lv->store, "%s", outdir);
	*out = (struct paper_venue){
	    .start = h_start,
	    .busy = h_busy,
	    .stop = h_stop,
	    .closed = h_closed,
	    .fatal = h_fatal,
	    .up = h_up,
	    .detach = h_detach,
	    .status = h_status,
	    .halt_reply = h_halt_reply,
	    .wait_s = lv->c.s.connect_timeout_s + 2,
	    .ud = lv,
	};
}

void live_free(struct live *lv)
{
	if (!lv)
		return;
	free(lv->username);
	free(lv->password);
	tz_free(lv->tz);
	free(lv);
}
