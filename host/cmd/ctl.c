/*
 * ctl — see ctl.h. Commands act between two events: the loop runs them
 * from its own callbacks, never inside a strategy callback.
 */
#include "ctl.h"

#include <errno.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "cli.h"
#include "jsonfmt.h"
#include "journal_rec.h"
#include "log.h"
#include "timefmt.h"

struct ctl_server {
	struct evconnlistener *listener;
	struct engine *e;
	struct ctl_hooks hooks;
	char path[108];
};

static void to_evbuffer(void *ud, const char *p, size_t n)
{
	evbuffer_add(ud, p, n);
}

void ctl_json_str(struct evbuffer *out, const char *s)
{
	json_quote(s, to_evbuffer, out);
}

#define json_str ctl_json_str

static const char *state_name(int st)
{
	return st == STRAT_RUNNING ? "running" : st == STRAT_HALTED ? "halted" : "quarantined";
}

static void status_strategy(struct engine *e, struct strategy *strat, struct evbuffer *out)
{
	struct oms *oms = engine_oms(e);
	const struct symtab *st = engine_symtab(e);
	struct strategy_view v, *s = &v;
	engine_describe(strat, &v);
	struct account *a = oms_account(oms, s->id);
	evbuffer_add_printf(out, "{\"name\": ");
	json_str(out, s->name);
	evbuffer_add_printf(out, ", \"version\": %d, \"hash\": \"%016llx\", \"state\": \"%s\", "
				 "\"reason\": ",
			    s->version, (unsigned long long)s->hash, state_name(s->state));
	json_str(out, s->reason);
	evbuffer_add_printf(out, ", \"params\": ");
	engine_params_json(strat, to_evbuffer, out);
	evbuffer_add_printf(out, ", \"positions\": {");
	for (int i = 0; i < a->nheld; i++) {
		evbuffer_add_printf(out, "%s", i ? ", " : "");
		json_str(out, symtab_name(st, a->held[i]));
		evbuffer_add_printf(out, ": %.10g", oms_position(oms, s->id, a->held[i])->qty);
	}
	evbuffer_add_printf(out, "}, \"open_orders\": [");
	for (int i = 0; i < oms_open_count(oms, s->id); i++) {
		const struct order *o = oms_open_at(oms, s->id, i);
		evbuffer_add_printf(out, "%s{\"id\": %lld, \"symbol\": ", i ? ", " : "",
				    (long long)o->id);
		json_str(out, symtab_name(st, o->sym));
		evbuffer_add_printf(out, ", \"side\": \"%s\", \"qty\": %.10g, \"filled\": %.10g, "
					 "\"price\": %.10g, \"status\": \"%s\", ",
				    oms_side_name(o->side), o->qty, o->filled,
				    o->type == ORD_LIMIT || o->type == ORD_STOP_LIMIT ? o->price : 0,
				    oms_status_name(o->status));
		ctl_order_marks(out, o);
		evbuffer_add_printf(out, "\"version\": %d, \"origin\": \"%s\"}", o->version,
				    oms_origin_name(o->origin));
	}
	evbuffer_add_printf(out, "], \"cash\": %.10g, \"equity\": %.10g, \"pnl\": %.10g, "
				 "\"orders\": %ld, \"fills\": %ld, \"rejects\": %ld, \"memory\": %zu}",
			    a->cash, oms_equity(oms, s->id), oms_pnl(oms, s->id, -1), a->orders,
			    a->fills, a->rejects, s->memory);
}

static void cmd_status(struct engine *e, const struct ctl_hooks *h, struct evbuffer *out)
{
	evbuffer_add_printf(out, "{\"ok\": true, ");
	if (h && h->status)
		h->status(h->ud, out);
	char iso[TIME_ISO_LEN + 1];
	time_format_iso(engine_now(e), iso);
	evbuffer_add_printf(out, "\"events\": %ld, \"time\": %lld, \"time_iso\": \"%s\", "
				 "\"strategies\": [",
			    engine_events(e), (long long)engine_now(e), iso);
	for (int i = 0; engine_oms(e) && i < engine_nstrat(e); i++) {
		if (i)
			evbuffer_add_printf(out, ", ");
		status_strategy(e, engine_strategy(e, i), out);
	}
	evbuffer_add_printf(out, "]}\n");
}

static void error_reply(struct evbuffer *out, const char *fmt, const char *arg)
{
	char msg[512];
	snprintf(msg, sizeof msg, fmt, arg);
	evbuffer_add_printf(out, "{\"ok\": false, \"error\": ");
	json_str(out, msg);
	evbuffer_add_printf(out, "}\n");
}

/* The strategies a command names: one by name, or all. */
static int targets(struct engine *e, const char *name, struct strategy **list, struct evbuffer *out)
{
	if (!name || !*name) {
		for (int i = 0; i < engine_nstrat(e); i++)
			list[i] = engine_strategy(e, i);
		return engine_nstrat(e);
	}
	struct strategy *s = engine_find(e, name);
	if (!s) {
		error_reply(out, "no strategy named '%s'", name);
		return -1;
	}
	list[0] = s;
	return 1;
}

static void for_each(struct engine *e, const char *verb, const char *arg, struct evbuffer *out)
{
	struct strategy *list[ENGINE_MAX_STRATEGIES];
	int n = targets(e, arg, list, out);
	if (n < 0)
		return;
	evbuffer_add_printf(out, "{\"ok\": true, \"%s\": [", verb);
	for (int i = 0; i < n; i++) {
		int count = 0;
		if (!strcmp(verb, "halted"))
			count = engine_halt(list[i], "operator");
		else if (!strcmp(verb, "resumed"))
			count = engine_resume(list[i]);
		else
			count = engine_flatten(list[i]);
		struct strategy_view v;
		engine_describe(list[i], &v);
		evbuffer_add_printf(out, "%s{\"name\": ", i ? ", " : "");
		json_str(out, v.name);
		evbuffer_add_printf(out, ", \"count\": %d, \"state\": \"%s\"}", count,
				    state_name(v.state));
	}
	evbuffer_add_printf(out, "]}\n");
}

static void cmd_set(struct engine *e, const char *kv, struct evbuffer *out)
{
	char err[512], old[128];
	if (!kv || !strchr(kv, '=')) {
		log_msg(LOG_WARN, "ctl", "set %s refused: expected KEY=VALUE", kv ? kv : "");
		error_reply(out, "set: expected KEY=VALUE, got '%s'", kv ? kv : "");
		return;
	}
	if (engine_set(e, kv, old, sizeof old, err, sizeof err) != 0) {
		/* the audit log has what was refused as well as what was changed;
		 * err may begin with the command itself ("set k=v: ...") */
		const char *why = err;
		size_t n = strlen(kv);
		if (strncmp(why, "set ", 4) == 0 && strncmp(why + 4, kv, n) == 0 &&
		    strncmp(why + 4 + n, ": ", 2) == 0)
			why += 4 + n + 2;
		log_msg(LOG_WARN, "ctl", "set %s refused: %s", kv, why);
		error_reply(out, "%s", err);
		return;
	}
	log_msg(LOG_WARN, "ctl", "set %s (was %s)", kv, old);
	jrec_set(e, kv, old);
	evbuffer_add_printf(out, "{\"ok\": true, \"set\": ");
	json_str(out, kv);
	evbuffer_add_printf(out, ", \"old\": ");
	json_str(out, old);
	evbuffer_add_printf(out, "}\n");
}

void ctl_execute(struct engine *e, const struct ctl_hooks *h, const char *line, struct evbuffer *out)
{
	char buf[1024];
	snprintf(buf, sizeof buf, "%s", line);
	char *save = NULL, *cmd = strtok_r(buf, " \t\r\n", &save);
	char *arg = strtok_r(NULL, " \t\r\n", &save);
	if (!cmd) {
		error_reply(out, "empty command (status, halt, resume, flatten, reload, set, stop)%s", "");
		return;
	}
	/* status is read-only and polled (the dashboard: once a second): debug */
	log_msg(strcmp(cmd, "status") ? LOG_INFO : LOG_DEBUG, "ctl", "%s%s%s", cmd, arg ? " " : "",
		arg ? arg : "");
	int journaled = strcmp(cmd, "status") != 0 && engine_oms(e); /* journal_rec.h */
	if (journaled)
		jrec_operator(e, line, "ctl");
	if (!strcmp(cmd, "status")) {
		cmd_status(e, h, out);
	} else if (!engine_oms(e)) {
		error_reply(out, "the host has not started yet%s", "");
	} else if (!strcmp(cmd, "halt")) {
		for_each(e, "halted", arg, out);
	} else if (!strcmp(cmd, "resume")) {
		for_each(e, "resumed", arg, out);
	} else if (!strcmp(cmd, "flatten")) {
		for_each(e, "flattened", arg, out);
	} else if (!strcmp(cmd, "set")) {
		cmd_set(e, arg, out);
	} else if (!strcmp(cmd, "reload")) {
		struct strategy *list[ENGINE_MAX_STRATEGIES];
		int n = targets(e, arg, list, out);
		if (n > 0 && h && h->reload)
			h->reload(h->ud, arg ? list[0] : NULL, out);
		else if (n > 0)
			error_reply(out, "reload is not available in this host%s", "");
	} else if (!strcmp(cmd, "stop")) {
		evbuffer_add_printf(out, "{\"ok\": true, \"stopping\": true}\n");
		if (h && h->stop)
			h->stop(h->ud);
	} else {
		error_reply(out, "unknown command '%s' (status, halt, resume, flatten, reload, set, "
				 "stop)", cmd);
	}
	if (journaled)
		jrec_operator_done(e);
}

/* ------------------------------------------------------------ server */

static void on_written(struct bufferevent *bev, void *arg)
{
	(void)arg;
	if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		bufferevent_free(bev);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	(void)arg;
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		bufferevent_free(bev);
}

static void on_read(struct bufferevent *bev, void *arg)
{
	struct ctl_server *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t n;
	char *line = evbuffer_readln(in, &n, EVBUFFER_EOL_LF);
	if (!line) {
		if (evbuffer_get_length(in) > 4096)
			bufferevent_free(bev);
		return;
	}
	struct evbuffer *out = evbuffer_new();
	if (out) {
		ctl_execute(c->e, &c->hooks, line, out);
		if (c->hooks.halt_reply && strncmp(line, "halt", 4) == 0 &&
		    (line[4] == '\0' || line[4] == ' ') &&
		    evbuffer_search(out, "\"ok\": true", 10, NULL).pos >= 0) {
			free(line);
			bufferevent_setcb(bev, NULL, NULL, NULL, NULL); /* the hook owns it now */
			bufferevent_disable(bev, EV_READ);
			c->hooks.halt_reply(c->hooks.ud, bev, out); /* takes out */
			return;
		}
		bufferevent_write_buffer(bev, out);
		evbuffer_free(out);
	}
	free(line);
	bufferevent_setcb(bev, NULL, on_written, on_event, c);
	bufferevent_disable(bev, EV_READ);
	on_written(bev, c);
}

void ctl_reply(struct bufferevent *bev, struct evbuffer *reply)
{
	bufferevent_write_buffer(bev, reply);
	evbuffer_free(reply);
	bufferevent_setcb(bev, NULL, on_written, on_event, NULL);
	on_written(bev, NULL);
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int len,
		      void *arg)
{
	(void)sa;
	(void)len;
	struct ctl_server *c = arg;
	struct bufferevent *bev = bufferevent_socket_new(evconnlistener_get_base(l), fd,
							 BEV_OPT_CLOSE_ON_FREE);
	if (!bev) {
		close(fd);
		return;
	}
	bufferevent_setcb(bev, on_read, NULL, on_event, c);
	bufferevent_enable(bev, EV_READ);
}

/* What is at path before we bind it: nothing; a socket a live host answers
 * on (refused: the second host would take the first's commands); a stale
 * one a host that died left (connect is refused: replaced); or something
 * else, not ours to remove. 0, or -1 with err. */
static int clear_stale(const char *path, const struct sockaddr_un *sa, char *err, size_t errlen)
{
	struct stat sb;
	if (lstat(path, &sb) != 0)
		return 0;
	if (!S_ISSOCK(sb.st_mode)) {
		errf(err, errlen, "%s: exists and is not a socket; remove it, or give another --ctl",
		     path);
		return -1;
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		errf(err, errlen, "%s: socket: %s", path, strerror(errno));
		return -1;
	}
	int rc = connect(fd, (const struct sockaddr *)sa, sizeof *sa), why = errno;
	if (rc == 0 || why == EAGAIN) { /* EAGAIN: alive, its backlog full */
		struct ucred cr;
		socklen_t len = sizeof cr;
		long pid = 0;
		if (rc == 0 && getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) == 0)
			pid = cr.pid;
		close(fd);
		char who[48] = "";
		if (pid > 0)
			snprintf(who, sizeof who, " (pid %ld)", pid);
		errf(err, errlen, "%s: another gantry%s is listening on it; stop it, or give this host "
				  "another --ctl", path, who);
		return -1;
	}
	close(fd);
	if (why != ECONNREFUSED && why != ENOENT) {
		errf(err, errlen, "%s: cannot tell whether a host listens on it: %s", path,
		     strerror(why));
		return -1;
	}
	if (unlink(path) == 0)
		log_msg(LOG_INFO, "ctl", "%s: replaced the stale socket of a host that is gone", path);
	return 0;
}

struct ctl_server *ctl_listen(struct event_base *base, const char *path, struct engine *e,
			      const struct ctl_hooks *hooks, char *err, size_t errlen)
{
	struct sockaddr_un sa;
	if (strlen(path) >= sizeof sa.sun_path) {
		errf(err, errlen, "%s: control socket path too long (at most %zu bytes)", path,
		     sizeof sa.sun_path - 1);
		return NULL;
	}
	struct ctl_server *c = calloc(1, sizeof *c);
	if (!c) {
		errf(err, errlen, "out of memory");
		return NULL;
	}
	c->e = e;
	if (hooks)
		c->hooks = *hooks;
	snprintf(c->path, sizeof c->path, "%s", path);
	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		errf(err, errlen, "%s: socket: %s", path, strerror(errno));
		free(c);
		return NULL;
	}
	if (clear_stale(path, &sa, err, errlen) != 0) {
		close(fd);
		free(c);
		return NULL;
	}
	mode_t old = umask(077);
	int rc = bind(fd, (struct sockaddr *)&sa, sizeof sa);
	umask(old);
	if (rc != 0 || chmod(path, 0600) != 0 || listen(fd, 16) != 0) {
		errf(err, errlen, "%s: cannot listen: %s", path, strerror(errno));
		close(fd);
		free(c);
		return NULL;
	}
	c->listener = evconnlistener_new(base, on_accept, c, LEV_OPT_CLOSE_ON_FREE, -1, fd);
	if (!c->listener) {
		errf(err, errlen, "%s: cannot listen", path);
		close(fd);
		free(c);
		return NULL;
	}
	return c;
}

void ctl_close(struct ctl_server *c)
{
	if (!c)
		return;
	evconnlistener_free(c->listener);
	unlink(c->path);
	free(c);
}

/* ------------------------------------------------------------ client */

int cmd_ctl(int argc, char **argv)
{
	if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		printf("usage: gantry ctl SOCKET COMMAND [ARG]\n\n"
		       "commands: status, halt [STRATEGY], resume [STRATEGY], flatten [STRATEGY],\n"
		       "          reload [STRATEGY], set KEY=VALUE, stop\n"
		       "Prints the host's JSON answer; exit 0 when it says ok, 1 when not.\n");
		return EXIT_OK;
	}
	if (argc < 3) {
		log_user_error("usage: gantry ctl SOCKET COMMAND [ARG] (try 'gantry ctl --help')");
		return EXIT_USAGE;
	}
	struct sockaddr_un sa;
	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	if (strlen(argv[1]) >= sizeof sa.sun_path) {
		log_user_error("%s: socket path too long", argv[1]);
		return EXIT_USAGE;
	}
	memcpy(sa.sun_path, argv[1], strlen(argv[1]) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		log_user_error("%s: cannot connect: %s (is the host running?)", argv[1],
			       strerror(errno));
		if (fd >= 0)
			close(fd);
		return EXIT_USAGE;
	}
	struct timeval tv = {10, 0};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	char line[1024];
	size_t n = 0;
	for (int i = 2; i < argc && n < sizeof line - 2; i++)
		n += (size_t)snprintf(line + n, sizeof line - n, "%s%s", i > 2 ? " " : "", argv[i]);
	line[n++] = '\n';
	if (write(fd, line, n) != (ssize_t)n) {
		log_user_error("%s: write failed: %s", argv[1], strerror(errno));
		close(fd);
		return EXIT_USAGE;
	}
	char buf[65536];
	size_t got = 0;
	ssize_t r;
	while (got < sizeof buf - 1 && (r = read(fd, buf + got, sizeof buf - 1 - got)) > 0)
		got += (size_t)r;
	close(fd);
	buf[got] = '\0';
	if (got == 0) {
		log_user_error("%s: no answer from the host", argv[1]);
		return EXIT_USAGE;
	}
	fputs(buf, stdout);
	return strstr(buf, "\"ok\": true") ? EXIT_OK : EXIT_RUNTIME;
}
