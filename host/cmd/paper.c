/*
 * paper — the loop. A pump event feeds the engine its events: at full speed
 * a batch at a time (so control commands get in between batches), at a
 * chosen speed each event when its replayed time comes due. Every command,
 * signal and reload runs from the loop, so always between two events.
 */
#include "paper.h"

#include <event2/event.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "clock.h"

#include "ctl.h"
#include "http.h"
#include "log.h"
#include "paper_venue.h"
#include "watch.h"

#define PUMP_BATCH 256

struct paper {
	struct engine *e;
	const struct paper_opts *po;
	struct event_base *base;
	struct event *pump, *sig_term, *sig_int, *sig_hup;
	struct event *tick; /* twice a second: equity rows to their file, held log lines said */
	struct ctl_server *ctl;
	struct http_server *http; /* http.h: /metrics, /api, alerts; NULL when not configured */
	struct watch *watch;
	/* reloads on save compile on a helper thread; done jobs come back through
	 * a pipe and commit on the loop, between two events */
	int done_pipe[2];
	struct event *done_ev;
	struct reload_job jobs[ENGINE_MAX_STRATEGIES];
	pthread_t threads[ENGINE_MAX_STRATEGIES];
	unsigned char busy[ENGINE_MAX_STRATEGIES], again[ENGINE_MAX_STRATEGIES];
	int feed_done, stopping, status, data_error;
	int64_t t0_data;
	double t0_wall;
	char err[2048];
	/* live: the feed's wait on the venue, the end of its session (paper_venue.c) */
	struct venue_wait vwait;
	struct venue_close *vclose;
	int fatal;
};

static void end_loop(struct paper *p);


static void finish(struct paper *p)
{
	if (p->feed_done)
		return;
	p->feed_done = 1;
	p->status = engine_end(p->e, p->data_error, p->err, sizeof p->err);
	log_msg(LOG_INFO, "paper", "feed done after %ld events%s", engine_events(p->e),
		p->po->linger && !p->stopping ? "; serving ctl until 'stop'" : "");
	if (!p->po->linger || p->stopping)
		end_loop(p);
}

/* 1 an event is waiting, 0 the end, -1 bad data. */
static int read_next(struct paper *p)
{
	int r = engine_fetch(p->e, p->err, sizeof p->err);
	if (r < 0)
		p->data_error = 1;
	return r;
}

static void pump(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct paper *p = arg;
	if (p->feed_done)
		return;
	int r = 1;
	for (int n = 0; n < PUMP_BATCH && !p->stopping; n++) {
		if (p->po->venue && venue_wait_hold(p->po->venue, &p->vwait)) {
			struct timeval tv = {0, 20000}; /* or sooner: wake() */
			evtimer_add(p->pump, &tv);
			return;
		}
		if ((r = read_next(p)) <= 0 || r == FEED_WAIT)
			break;
		if (p->po->speed > 0) {
			double due = p->t0_wall +
				     (double)(engine_next_time(p->e) - p->t0_data) / 1e9 / p->po->speed;
			double wait = due - clock_mono_s();
			if (wait > 0) {
				struct timeval tv = {(time_t)wait, (suseconds_t)((wait - (time_t)wait) * 1e6)};
				evtimer_add(p->pump, &tv);
				return;
			}
		}
		if (engine_dispatch(p->e, p->err, sizeof p->err) != 0) {
			p->data_error = 1;
			break;
		}
		if (engine_stopped(p->e))
			break;
	}
	if (!p->stopping && !p->data_error && (r == FEED_WAIT || (r = read_next(p)) == FEED_WAIT)) {
		struct timeval zero = {0, 0}; /* a live feed has nothing yet: through the poll, */
		evtimer_add(p->pump, &zero); /* so the control socket and signals get in */
		return;
	}
	if (p->stopping || p->data_error || r <= 0) {
		finish(p);
		return;
	}
	event_active(p->pump, EV_TIMEOUT, 0);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct paper *p = arg;
	engine_flush(p->e);
	log_flush();
}

static void stop(void *ud)
{
	struct paper *p = ud;
	p->stopping = 1;
	engine_set_stop_reason(p->e, "stopped");
	if (p->feed_done)
		end_loop(p);
	else
		event_active(p->pump, EV_TIMEOUT, 0);
}

static int reload(struct paper *p, struct strategy *only, char *msg, size_t msglen);

static void end_loop(struct paper *p)
{
	struct timeval flush = {0, 50000}; /* let the last ctl answers go out */
	if (p->vclose)
		venue_close_begin(p->vclose, p->fatal); /* live: the venue's answers, Logout */
	else
		event_base_loopexit(p->base, &flush);
}

/* The venue has news: a waiting pump looks again; a fatal error stops the run. */
static void wake(void *ud)
{
	struct paper *p = ud;
	const struct paper_venue *v = p->po->venue;
	const char *f = v->fatal(v->ud);
	if (f && !p->fatal) {
		p->fatal = 1;
		errf(p->err, sizeof p->err, "%s", f);
		stop(p);
		return;
	}
	if (p->vwait.waiting && !p->feed_done)
		event_active(p->pump, EV_TIMEOUT, 0);
	if (p->vclose)
		venue_close_poke(p->vclose);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	struct paper *p = arg;
	if (sig == SIGHUP) {
		char msg[4096];
		log_msg(LOG_INFO, "paper", "SIGHUP: reloading every strategy");
		reload(p, NULL, msg, sizeof msg);
		return;
	}
	log_msg(LOG_WARN, "paper", "%s: stopping (cancel working orders, flush files)",
		sig == SIGTERM ? "SIGTERM" : "SIGINT");
	stop(p);
}

/* Watches each strategy's file and the modules beside it that it required. */
static void watch_strategy(struct paper *p, struct strategy *s)
{
	const char *files[17];
	struct strategy_view v;
	engine_describe(s, &v);
	int n = engine_strategy_files(s, files, 17);
	for (int i = 0; i < n; i++)
		watch_add(p->watch, files[i], v.id);
}

/* One strategy, or all: 0 when every reload succeeded. */
static int reload(struct paper *p, struct strategy *only, char *msg, size_t msglen)
{
	int rc = 0;
	size_t used = 0;
	msg[0] = '\0';
	for (int i = 0; i < engine_nstrat(p->e); i++) {
		struct strategy *s = engine_strategy(p->e, i);
		if (only && s != only)
			continue;
		char one[2048];
		if (engine_reload(s, one, sizeof one) != 0)
			rc = -1;
		else if (p->watch)
			watch_strategy(p, s);
		int w = snprintf(msg + used, msglen - used, "%s%s", used ? "; " : "", one);
		if (w > 0 && (size_t)w < msglen - used)
			used += (size_t)w;
	}
	return rc;
}

struct done_note {
	struct paper *p;
	int id;
};

static void *compile_and_notify(void *arg)
{
	struct done_note *n = arg;
	struct reload_job *job = &n->p->jobs[n->id];
	engine_reload_prepare(job->s, job, 1);
	int id = n->id, fd = n->p->done_pipe[1];
	free(n);
	ssize_t w = write(fd, &id, sizeof id); /* atomic: under PIPE_BUF */
	(void)w;
	return NULL;
}

static void start_compile(struct paper *p, int id)
{
	struct done_note *n = malloc(sizeof *n);
	memset(&p->jobs[id], 0, sizeof p->jobs[id]);
	p->jobs[id].s = engine_strategy(p->e, id);
	p->jobs[id].off_thread = 1;
	if (n) {
		n->p = p;
		n->id = id;
	}
	if (!n || pthread_create(&p->threads[id], NULL, compile_and_notify, n) != 0) {
		free(n);
		char msg[4096]; /* no thread: compile in line */
		reload(p, engine_strategy(p->e, id), msg, sizeof msg);
		return;
	}
	p->busy[id] = 1;
}

static void on_compiled(evutil_socket_t fd, short what, void *arg)
{
	(void)what;
	struct paper *p = arg;
	int id;
	while (read(fd, &id, sizeof id) == (ssize_t)sizeof id) {
		if (id < 0 || id >= engine_nstrat(p->e) || !p->busy[id])
			continue;
		pthread_join(p->threads[id], NULL);
		p->busy[id] = 0;
		char msg[4096];
		struct strategy *s = engine_strategy(p->e, id);
		if (engine_reload_commit(&p->jobs[id], msg, sizeof msg) == 0 && p->watch)
			watch_strategy(p, s);
		if (p->again[id]) { /* saved again while compiling */
			p->again[id] = 0;
			start_compile(p, id);
		}
	}
}

static void on_file_changed(void *ud, int owner)
{
	struct paper *p = ud;
	if (owner >= engine_nstrat(p->e))
		return;
	if (p->done_ev == NULL) {
		char msg[4096];
		reload(p, engine_strategy(p->e, owner), msg, sizeof msg);
	} else if (p->busy[owner]) {
		p->again[owner] = 1;
	} else {
		start_compile(p, owner);
	}
}

static void ctl_reload(void *ud, struct strategy *s, struct evbuffer *out)
{
	struct paper *p = ud;
	char msg[4096];
	int rc = reload(p, s, msg, sizeof msg);
	evbuffer_add_printf(out, "{\"ok\": %s, \"message\": ", rc == 0 ? "true" : "false");
	ctl_json_str(out, msg);
	evbuffer_add_printf(out, "}\n");
}

static void ctl_status(void *ud, struct evbuffer *out)
{
	struct paper *p = ud;
	evbuffer_add_printf(out, "\"mode\": \"%s\", \"feed\": \"%s\", ",
			    p->po->mode ? p->po->mode : "paper", p->feed_done ? "done" : "running");
	if (p->po->venue)
		p->po->venue->status(p->po->venue->ud, out);
	evbuffer_add_printf(out, "\"rejects_by_reason\": {");
	int first = 1;
	for (int r = 1; r < RISK_REASON_COUNT; r++)
		if (engine_rejects(p->e, (enum risk_reason)r)) {
			evbuffer_add_printf(out, "%s\"%s\": %ld", first ? "" : ", ",
					    risk_reason_name((enum risk_reason)r),
					    engine_rejects(p->e, (enum risk_reason)r));
			first = 0;
		}
	evbuffer_add_printf(out, "}, ");
}

static void venue_halt_reply(void *ud, struct bufferevent *bev, struct evbuffer *reply)
{
	struct paper *p = ud;
	p->po->venue->halt_reply(p->po->venue->ud, bev, reply);
}

int paper_run(struct engine *e, const struct paper_opts *po, char *err, size_t errlen)
{
	struct paper p;
	memset(&p, 0, sizeof p);
	p.e = e;
	p.po = po;
	p.base = event_base_new();
	if (!p.base) {
		errf(err, errlen, "cannot create the event loop");
		return 2;
	}
	struct ctl_hooks hooks = {ctl_reload, stop, ctl_status, &p, NULL};
	if (po->venue)
		hooks.halt_reply = venue_halt_reply;
	p.ctl = ctl_listen(p.base, po->ctl_path, e, &hooks, err, errlen);
	if (!p.ctl) {
		event_base_free(p.base);
		return 2;
	}
	if (po->http && po->http->enabled &&
	    !(p.http = http_start(p.base, e, &hooks, po->http, &p.feed_done, po->audit_path, err,
				  errlen))) {
		ctl_close(p.ctl);
		event_base_free(p.base);
		return 2;
	}
	p.pump = event_new(p.base, -1, 0, pump, &p);
	if (po->venue) {
		p.vclose = venue_close_new(p.base, po->venue);
		if (po->venue->start(po->venue->ud, p.base, wake, &p, p.err, sizeof p.err) != 0) {
			p.fatal = 1;
			p.feed_done = 1; /* nothing ran: no engine_end */
			p.status = 2;
		}
	}
	p.sig_term = evsignal_new(p.base, SIGTERM, on_signal, &p);
	p.sig_int = evsignal_new(p.base, SIGINT, on_signal, &p);
	p.sig_hup = evsignal_new(p.base, SIGHUP, on_signal, &p);
	event_add(p.sig_term, NULL);
	event_add(p.sig_int, NULL);
	event_add(p.sig_hup, NULL);
	struct timeval half = {0, 500000};
	p.tick = event_new(p.base, -1, EV_PERSIST, on_tick, &p);
	if (p.tick)
		event_add(p.tick, &half);
	log_msg(LOG_INFO, po->mode ? po->mode : "paper", "control socket %s", po->ctl_path);
	if (po->watch_files) {
		if (pipe2(p.done_pipe, O_NONBLOCK | O_CLOEXEC) == 0)
			p.done_ev = event_new(p.base, p.done_pipe[0], EV_READ | EV_PERSIST, on_compiled, &p);
		if (p.done_ev)
			event_add(p.done_ev, NULL);
		p.watch = watch_new(p.base, on_file_changed, &p);
		for (int i = 0; p.watch && i < engine_nstrat(e); i++)
			watch_strategy(&p, engine_strategy(e, i));
	}

	if (p.fatal) {
		/* the venue could not start: nothing to run */
	} else if (engine_begin(e, p.err, sizeof p.err) != 0 ||
	    (po->warmup && engine_warmup(e, po->warmup, po->warmup_path, p.err, sizeof p.err) != 0)) {
		p.data_error = 1;
		finish(&p);
	} else if (read_next(&p) > 0) {
		p.t0_data = engine_next_time(e);
		p.t0_wall = clock_mono_s();
		event_active(p.pump, EV_TIMEOUT, 0);
	} else {
		finish(&p);
	}
	if (!p.fatal && (!p.feed_done || po->linger || po->venue))
		event_base_dispatch(p.base);
	if (!p.feed_done) {
		p.stopping = 1;
		finish(&p);
	}
	ctl_close(p.ctl);
	http_close(p.http);
	watch_free(p.watch);
	for (int i = 0; i < engine_nstrat(e); i++) /* compiles still running: wait, then drop */
		if (p.busy[i]) {
			pthread_join(p.threads[i], NULL);
			if (p.jobs[i].next)
				vm_backend.close(p.jobs[i].next);
		}
	if (p.done_ev) {
		event_free(p.done_ev);
		close(p.done_pipe[0]);
		close(p.done_pipe[1]);
	}
	event_free(p.pump);
	if (p.tick)
		event_free(p.tick);
	event_free(p.sig_term);
	event_free(p.sig_int);
	event_free(p.sig_hup);
	if (po->venue)
		po->venue->detach(po->venue->ud);
	venue_close_free(p.vclose);
	event_base_free(p.base);
	if (p.fatal)
		p.status = 2;
	if (p.status == 2)
		errf(err, errlen, "%s", p.err);
	return p.status;
}
