/*
 * journal_rec — what the engine journals, the venue wrapper that journals
 * before acting, and recovery by replay (journal_rec.h says the whole
 * story). Everything here runs on the loop's thread.
 *
 * Per order id the writer keeps one byte: the status last journaled and
 * whether it was sent to the venue, so that an order the path refused is a
 * `risk_refused` record and one the venue refused a `rejected` one, and a
 * replace or a refused cancel can be told from an acknowledgement.
 */
#include "journal_rec.h"

#include "engine-internal.h"
#include "grow.h"
#include "history.h"
#include "journal_fmt.h"
#include "log.h"
#include "risk.h"
#include "vm_state.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SENT_BIT 0x80

static const struct vm_ops *const vm = &vm_backend;

/* One event the replay made the oms emit, waiting for its journaled twin. */
struct emitted {
	int kind; /* OMS_EV_ORDER / OMS_EV_FILL */
	int64_t id;
	int status;
	double filled, qty, price, fee;
};

struct jrec {
	struct engine *e;
	struct journal *j;
	struct jrec_config c;
	char dir[1024], outdir[1024];
	struct jbuf b, sb;
	struct venue inner; /* the venue the engine attached; owned */
	int has_records;    /* the journal was not empty when opened */
	/* the transaction being written: begun lazily at its first record */
	int in_txn, txn_kind, txn_written;
	uint64_t txn_pos;
	int64_t txn_time;
	uint64_t feed_pos; /* events taken from the feed */
	long since_snap;
	unsigned char *st; /* per order id: last status | SENT_BIT */
	int nst;
	int64_t last_fill_id;
	int failed; /* a commit failed: logged once */
	/* replay */
	int replaying;
	struct emitted *q;
	int qn, qhead, qcap;
	uint64_t diverged_seq; /* first record the replay disagreed with (0: none) */
	char diverged[512];
	char **strs; /* interned reasons (an order's reason is a borrowed string) */
	int nstrs, strs_cap;
	union jpayload *u; /* the record being replayed, decoded (big: on the heap) */
	uint32_t jver[ENGINE_MAX_STRATEGIES];
	uint64_t jhash[ENGINE_MAX_STRATEGIES];
	unsigned char *snap[ENGINE_MAX_STRATEGIES]; /* the last snapshot's ctx.state (owned) */
	uint32_t snaplen[ENGINE_MAX_STRATEGIES];
	int have_snap[ENGINE_MAX_STRATEGIES];
	double snap_eq[ENGINE_MAX_STRATEGIES][3];
	int64_t snap_day[ENGINE_MAX_STRATEGIES];
	uint64_t resume_pos; /* the last event known done */
	long replayed_orders, replayed_fills, voided;
	int rebuild; /* a remote venue: the book is rebuilt from the records, not replayed */
	long reconciled;
	FILE *digest; /* GANTRY_JOURNAL_DIGEST: the state after each event (tests) */
};

/* ------------------------------------------------------------ writing */

static int64_t now_of(const struct jrec *jr)
{
	return engine_now(jr->e);
}

static int commit(struct jrec *jr, int durable)
{
	/* a backtest's journal (fsync off) is written in blocks: nothing waits
	 * on it, and a killed backtest is run again, not recovered */
	if (jr->c.fresh_only && jr->c.opts.fsync == JOURNAL_FSYNC_OFF &&
	    journal_lag_bytes(jr->j) < (1u << 18))
		return 0;
	if (journal_commit(jr->j, durable) == 0)
		return 0;
	if (!jr->failed)
		log_msg(LOG_ERROR, "journal", "%s: cannot write: %s (orders are refused from here)",
			jr->dir, strerror(errno));
	jr->failed = 1;
	return -1;
}

static void append(struct jrec *jr, int type, int who, int strat, const struct jbuf *b)
{
	struct journal_hdr h = {.type = (uint8_t)type,
				.who = (uint8_t)who,
				.strat = JOURNAL_NO_STRAT,
				.time = now_of(jr)};
	if (strat >= 0 && strat < jr->e->nstrat) {
		const struct strategy *s = &jr->e->strats[strat];
		h.strat = (uint16_t)strat;
		h.version = (uint32_t)s->version;
		h.hash = s->hash;
	}
	if (b->oom || journal_append(jr->j, &h, b->p, b->n) == 0)
		log_msg(LOG_ERROR, "journal", "out of memory: a %s record is lost",
			jfmt_type_name(type));
}

/* A record; inside a transaction, its txn_begin first. */
static void rec(struct jrec *jr, int type, int who, int strat, const struct jbuf *b)
{
	if (jr->in_txn && !jr->txn_written) {
		struct jbuf t = {0};
		struct jtxn x = {(uint8_t)jr->txn_kind, jr->txn_pos, jr->txn_time};
		jfmt_txn(&t, &x);
		append(jr, J_TXN_BEGIN, JW_HOST, -1, &t);
		jbuf_free(&t);
		jr->txn_written = 1;
	}
	append(jr, type, who, strat, b);
}

static void txn_begin(struct jrec *jr, int kind, int64_t t)
{
	jr->in_txn = 1;
	jr->txn_kind = kind;
	jr->txn_pos = jr->feed_pos;
	jr->txn_time = t;
	jr->txn_written = 0;
}

/* Ends the transaction; 1 when it had written anything. */
static int txn_end(struct jrec *jr)
{
	if (!jr->in_txn)
		return 0;
	int wrote = jr->txn_written;
	if (wrote) {
		struct jbuf t = {0};
		struct jtxn x = {(uint8_t)jr->txn_kind, jr->txn_pos, jr->txn_time};
		jfmt_txn(&t, &x);
		append(jr, J_TXN_END, JW_HOST, -1, &t);
		jbuf_free(&t);
	}
	jr->in_txn = 0;
	return wrote;
}

static unsigned char *state_of(struct jrec *jr, int64_t id)
{
	if (id < 1 || id > INT32_MAX - 1)
		return NULL;
	if (id >= jr->nst) {
		unsigned char *v = grow_array(jr->st, &jr->nst, (int)id + 1, 1, 4096);
		if (!v)
			return NULL;
		jr->st = v;
	}
	return &jr->st[id];
}

static void order_payload(struct jrec *jr, const struct order *o, double qty, double price)
{
	struct jorder r;
	memset(&r, 0, sizeof r);
	r.id = o->id;
	r.oco = o->oco;
	r.created = o->created;
	r.updated = o->updated;
	r.sym = o->sym;
	r.side = (uint8_t)o->side;
	r.type = (uint8_t)o->type;
	r.tif = (uint8_t)o->tif;
	r.status = (uint8_t)o->status;
	r.origin = (uint8_t)o->origin;
	r.role = o->role;
	r.trail_pct = o->trail_pct;
	r.triggered = o->triggered;
	r.qty = qty;
	r.filled = o->filled;
	r.price = price;
	r.avg_price = o->avg_price;
	r.fees = o->fees;
	r.stop = o->stop;
	r.trail = o->trail;
	r.trail_best = o->trail_best;
	snprintf(r.symbol, sizeof r.symbol, "%s", symtab_name(jr->e->symtab, o->sym));
	snprintf(r.reason, sizeof r.reason, "%s", o->reason ? o->reason : "");
	jfmt_order(&jr->b, &r);
}

/* An action about to leave for the venue: journaled and committed first. */
static int action(struct jrec *jr, int type, const struct order *o, double qty, double price,
		  int who)
{
	order_payload(jr, o, qty, price);
	rec(jr, type, who, o->strat, &jr->b);
	return commit(jr, 1);
}

static int who_of(const struct order *o)
{
	return o->origin == ORIGIN_OPERATOR ? JW_OPERATOR : JW_STRATEGY;
}

static int type_of(struct jrec *jr, const struct order *o)
{
	unsigned char *st = state_of(jr, o->id);
	int prev = st ? (*st & 0x7f) : ST_NEW, sent = st && (*st & SENT_BIT);
	int t;
	switch (o->status) {
	case ST_REJECTED:
		t = sent ? J_REJECTED : J_RISK_REFUSED;
		break;
	case ST_PENDING:
		t = J_PENDING;
		break;
	case ST_ACCEPTED:
		t = prev == ST_CANCEL_PENDING ? J_CANCEL_REJECTED
		    : prev == ST_ACCEPTED     ? J_REPLACED
					      : J_ACKNOWLEDGED;
		break;
	case ST_PARTIAL:
		t = jr->last_fill_id == o->id	? J_PARTIALLY_FILLED
		    : prev == ST_CANCEL_PENDING ? J_CANCEL_REJECTED
						: J_REPLACED;
		break;
	case ST_FILLED:
		t = J_FILLED;
		break;
	case ST_CANCEL_PENDING:
		t = J_CANCEL_PENDING;
		break;
	case ST_CANCELED:
		t = J_CANCELLED;
		break;
	case ST_EXPIRED:
		t = J_EXPIRED;
		break;
	default:
		t = J_REPLACED;
		break;
	}
	if (st)
		*st = (unsigned char)((*st & SENT_BIT) | (o->status & 0x7f));
	return t;
}

static void replay_emitted(struct jrec *jr, const struct oms_event *ev);

int jrec_oms(struct jrec *jr, const struct oms_event *ev)
{
	if (jr->replaying) {
		replay_emitted(jr, ev);
		return 1;
	}
	const struct order *o = ev->order;
	if (ev->kind == OMS_EV_FILL) {
		const struct fill *f = ev->fill;
		struct jfill r = {f->order_id, f->time,	 f->sym, (uint8_t)f->side,
				  f->qty,      f->price, f->fee, ""};
		snprintf(r.symbol, sizeof r.symbol, "%s", symtab_name(jr->e->symtab, f->sym));
		jfmt_fill(&jr->b, &r);
		rec(jr, J_FILL, JW_VENUE, o->strat, &jr->b);
		jr->last_fill_id = o->id;
		if (!jr->in_txn)
			commit(jr, 0); /* as below */
		return 0;
	}
	int t = type_of(jr, o);
	order_payload(jr, o, o->qty, o->price);
	rec(jr, t, t == J_RISK_REFUSED ? JW_RISK : JW_VENUE, o->strat, &jr->b);
	if (t != J_PARTIALLY_FILLED)
		jr->last_fill_id = 0;
	/* a remote venue's report between events (live) is in no transaction
	 * whose end would write it out: it reaches the file now, so a killed
	 * host keeps it (synced as the policy says) */
	if (!jr->in_txn)
		commit(jr, 0);
	return 0;
}

/* ------------------------------------------------------------ the venue wrapper */

static int jv_submit(void *self, struct order *o, int64_t now)
{
	struct jrec *jr = self;
	unsigned char *st = state_of(jr, o->id);
	if (action(jr, J_SENT, o, o->qty, o->price, who_of(o)) != 0)
		return -1; /* not on record: it does not leave */
	if (st)
		*st |= SENT_BIT;
	return jr->inner.ops->submit(jr->inner.self, o, now);
}

static int jv_cancel(void *self, struct order *o, int64_t now)
{
	struct jrec *jr = self;
	if (!oms_is_open(o))
		return jr->inner.ops->cancel(jr->inner.self, o, now);
	/* a strategy's own cancel counts as a message in its rate window */
	int who = vm->in_callback() ? JW_STRATEGY : JW_HOST;
	action(jr, J_CANCEL_REQUESTED, o, o->qty, o->price,
	       who); /* a cancel only reduces: it goes even if the journal failed */
	return jr->inner.ops->cancel(jr->inner.self, o, now);
}

static int jv_replace(void *self, struct order *o, double qty, double price, int64_t now)
{
	struct jrec *jr = self;
	if (action(jr, J_REPLACE_REQUESTED, o, qty, price, who_of(o)) != 0)
		return -1;
	return jr->inner.ops->replace(jr->inner.self, o, qty, price, now);
}

static void jv_cancel_all(void *self, const char *reason, int64_t now)
{
	struct jrec *jr = self;
	jfmt_text(&jr->b, reason, "", "");
	rec(jr, J_CANCEL_ALL, JW_HOST, -1, &jr->b);
	commit(jr, 1); /* cancels only reduce: they go even if the journal failed */
	jr->inner.ops->cancel_all(jr->inner.self, reason, now);
}

static void jv_market(void *self, const struct feed_event *ev, int64_t now)
{
	struct jrec *jr = self;
	if (jr->in_txn && jr->txn_written) { /* something came before the market: say where */
		struct jvoid m = {0, 0, jr->txn_pos, ""};
		jfmt_void(&jr->b, &m);
		rec(jr, J_MARKET, JW_HOST, -1, &jr->b);
	}
	jr->inner.ops->market(jr->inner.self, ev, now);
}

static int64_t jv_due(void *self)
{
	struct jrec *jr = self;
	return jr->inner.ops->due(jr->inner.self);
}

static void jv_advance(void *self, int64_t now)
{
	struct jrec *jr = self;
	jr->inner.ops->advance(jr->inner.self, now);
}

static void jv_status(void *self, struct venue_status *out)
{
	struct jrec *jr = self;
	jr->inner.ops->status(jr->inner.self, out);
}

static void jv_free(void *self)
{
	struct jrec *jr = self;
	jr->inner.ops->free(jr->inner.self);
	jr->inner.ops = NULL;
}

static int jv_reconcile(void *self, struct order *o, int64_t now)
{
	struct jrec *jr = self;
	return jr->inner.ops->reconcile ? jr->inner.ops->reconcile(jr->inner.self, o, now) : -1;
}

static const struct venue_ops journaled_venue = {
    .name = "journaled",
    .submit = jv_submit,
    .cancel = jv_cancel,
    .replace = jv_replace,
    .cancel_all = jv_cancel_all,
    .market = jv_market,
    .due = jv_due,
    .advance = jv_advance,
    .status = jv_status,
    .free = jv_free,
    .reconcile = jv_reconcile,
};

/* ------------------------------------------------------------ the other hooks */

static void write_loads(struct jrec *jr, const char *note)
{
	for (int i = 0; i < jr->e->nstrat; i++) {
		struct strategy *s = &jr->e->strats[i];
		jfmt_text(&jr->b, s->path, s->name, note);
		rec(jr, J_LOAD, JW_HOST, i, &jr->b);
	}
}

static void snapshot_all(struct jrec *jr)
{
	for (int i = 0; i < jr->e->nstrat; i++) {
		struct strategy *s = &jr->e->strats[i];
		char err[256];
		struct jsnapshot snap = {jr->feed_pos,
					 s->peak_equity,
					 s->day_equity,
					 s->last_equity,
					 s->day,
					 (uint8_t)s->state,
					 "",
					 NULL,
					 0};
		snprintf(snap.reason, sizeof snap.reason, "%s", s->reason);
		if (vm->alive(s->vm) && vm_state_save(s->vm, &jr->sb, err, sizeof err) == 0) {
			snap.blob = jr->sb.p;
			snap.bloblen = (uint32_t)jr->sb.n;
		} else if (vm->alive(s->vm)) {
			log_msg(LOG_WARN, "journal", "%s: snapshot without ctx.state: %s", s->name,
				err);
		}
		jfmt_snapshot(&jr->b, &snap);
		rec(jr, J_SNAPSHOT, JW_HOST, i, &jr->b);
	}
	jr->since_snap = 0;
}

/* One line of what a restart must agree with (GANTRY_JOURNAL_DIGEST):
 * per strategy its cash, positions and working orders (not their ids: a
 * voided event burns ids), in a fixed order. */
static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void write_digest(struct jrec *jr, const char *why)
{
	struct engine *e = jr->e;
	char *line = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&line, &len);
	if (!m)
		return;
	fprintf(m, "%" PRIu64 " %s", jr->feed_pos, why);
	for (int i = 0; i < e->nstrat; i++) {
		struct account *a = oms_account(e->oms, i);
		fprintf(m, " | %s cash=%.17g", e->strats[i].name, a->cash);
		for (int sym = 0; sym < a->npos; sym++)
			if (a->pos[sym].qty != 0)
				fprintf(m, " %s:%.17g@%.17g", symtab_name(e->symtab, sym),
					a->pos[sym].qty, a->pos[sym].avg_price);
		int n = oms_open_count(e->oms, i);
		char **v = calloc((size_t)n + 1, sizeof *v);
		for (int k = 0; v && k < n; k++) {
			const struct order *o = oms_open_at(e->oms, i, k);
			if (asprintf(&v[k], "%s/%s/%s/%.17g/%.17g/%.17g/%s",
				     symtab_name(e->symtab, o->sym), oms_side_name(o->side),
				     oms_type_name(o), o->qty, o->filled, o->price,
				     oms_status_name(o->status)) < 0)
				v[k] = NULL;
		}
		if (v) {
			for (int k = 0; k < n; k++)
				if (!v[k])
					v[k] = strdup("?");
			qsort(v, (size_t)n, sizeof *v, cmp_str);
			fprintf(m, " working=%d", n);
			for (int k = 0; k < n; k++) {
				fprintf(m, " %s", v[k] ? v[k] : "?");
				free(v[k]);
			}
			free(v);
		}
	}
	fputc('\n', m);
	fclose(m);
	/* one write(): a kill cannot leave half a line */
	if (line && write(fileno(jr->digest), line, len) != (ssize_t)len)
		log_msg(LOG_WARN, "journal", "digest: %s", strerror(errno));
	free(line);
}

void jrec_event_begin(struct jrec *jr, const struct feed_event *ev)
{
	txn_end(jr); /* the start's (or a command's) transaction */
	jr->feed_pos++;
	txn_begin(jr, JTXN_EVENT, ev->time);
}

void jrec_event_end(struct engine *e)
{
	struct jrec *jr = e->jr;
	int wrote = txn_end(jr);
	if (jr->c.snapshot_every > 0 && ++jr->since_snap >= jr->c.snapshot_every) {
		snapshot_all(jr);
		wrote = 1;
	}
	/* off: a backtest writes in big blocks; otherwise each event's records
	 * reach the file (a killed process loses none of them) */
	if (wrote &&
	    (jr->c.opts.fsync != JOURNAL_FSYNC_OFF || journal_lag_bytes(jr->j) > (1u << 18)))
		commit(jr, 0);
	if (jr->digest)
		write_digest(jr, "event");
}

void jrec_stop_begin(struct jrec *jr)
{
	txn_end(jr);
	txn_begin(jr, JTXN_STOP, now_of(jr));
}

void jrec_stop_end(struct engine *e)
{
	struct jrec *jr = e->jr;
	txn_end(jr);
	snapshot_all(jr);
	commit(jr, 1);
	if (jr->digest)
		write_digest(jr, "stop");
}

void jrec_halt(struct strategy *s, const char *reason, int state)
{
	struct jrec *jr = s->eng->jr;
	if (jr->replaying)
		return;
	int op = strcmp(reason, "operator") == 0;
	jfmt_text(&jr->b, reason,
		  op	       ? "operator"
		  : state == 2 ? "host"
			       : "risk",
		  state == 2 ? "quarantined" : "");
	rec(jr, state ? J_HALT : J_RESUME,
	    op		 ? JW_OPERATOR
	    : state == 2 ? JW_HOST
			 : JW_RISK,
	    s->id, &jr->b);
	commit(jr, 1);
}

void jrec_set(struct engine *e, const char *kv, const char *old)
{
	struct jrec *jr = e->jr;
	if (!jr || jr->replaying)
		return;
	char key[256];
	const char *eq = strchr(kv, '=');
	snprintf(key, sizeof key, "%.*s", eq ? (int)(eq - kv) : (int)strlen(kv), kv);
	int limit = strncmp(key, "risk.", 5) == 0 || strncmp(key, "firm_risk.", 10) == 0;
	jfmt_text(&jr->b, key, old, eq ? eq + 1 : "");
	rec(jr, limit ? J_LIMIT_CHANGE : J_PARAM_CHANGE, JW_OPERATOR, -1, &jr->b);
	commit(jr, 1);
}

void jrec_reload(struct strategy *s, const char *msg, int ok)
{
	struct jrec *jr = s->eng->jr;
	jfmt_text(&jr->b, s->path, msg, ok ? "ok" : "failed");
	rec(jr, J_RELOAD, JW_OPERATOR, s->id, &jr->b);
	commit(jr, 1);
}

void jrec_operator(struct engine *e, const char *line, const char *who)
{
	struct jrec *jr = e->jr;
	if (!jr)
		return;
	txn_end(jr);
	txn_begin(jr, JTXN_OPERATOR, now_of(jr));
	char by[128];
	snprintf(by, sizeof by, "%s (uid %u)", who, (unsigned)getuid());
	jfmt_text(&jr->b, line, by, "");
	rec(jr, J_OPERATOR, JW_OPERATOR, -1, &jr->b);
}

void jrec_operator_done(struct engine *e)
{
	if (!e->jr)
		return;
	txn_end(e->jr);
	commit(e->jr, 1);
}

void jrec_oco(struct engine *e, int64_t a, int64_t b)
{
	struct jrec *jr = e->jr;
	if (jr->replaying)
		return;
	struct jvoid v = {(uint64_t)a, (uint64_t)b, jr->feed_pos, ""};
	jfmt_void(&jr->b, &v);
	const struct order *o = oms_get(e->oms, a);
	rec(jr, J_OCO_LINK, JW_STRATEGY, o ? o->strat : -1, &jr->b);
}

void jrec_venue_session(struct engine *e, int up, const char *detail)
{
	struct jrec *jr = e->jr;
	if (!jr || jr->replaying)
		return;
	jfmt_text(&jr->b, up ? "up" : "down", detail, "");
	rec(jr, J_VENUE_SESSION, JW_VENUE, -1, &jr->b);
	commit(jr, 1);
}

uint64_t jrec_lag_bytes(const struct engine *e)
{
	return e->jr ? journal_lag_bytes(e->jr->j) : 0;
}

int64_t jrec_lag_ns(const struct engine *e)
{
	return e->jr ? journal_lag_ns(e->jr->j) : 0;
}

/* ------------------------------------------------------------ set-up */

static int journal_has_records(const char *dir)
{
	struct journal_reader r;
	char err[256];
	if (journal_reader_open(&r, dir, err, sizeof err) != 0)
		return 0;
	struct journal_record rec1;
	int rc = journal_next(&r, &rec1, err, sizeof err);
	journal_reader_close(&r);
	return rc != 0;
}

int jrec_attach(struct engine *e, const struct jrec_config *c, char *err, size_t errlen)
{
	struct jrec *jr = calloc(1, sizeof *jr);
	if (!jr)
		return errf_fail(err, errlen, "out of memory");
	jr->e = e;
	jr->c = *c;
	snprintf(jr->dir, sizeof jr->dir, "%s", c->dir);
	snprintf(jr->outdir, sizeof jr->outdir, "%s", c->outdir ? c->outdir : "");
	jr->c.dir = jr->dir;
	jr->has_records = journal_has_records(c->dir);
	if (jr->has_records && c->fresh_only) {
		free(jr);
		return errf_fail(err, errlen,
				 "%s: already holds a journal; a backtest starts a new one (give "
				 "another --journal, or remove it)",
				 c->dir);
	}
	char jerr[1024];
	jr->j = journal_open(c->dir, &c->opts, jerr, sizeof jerr);
	if (!jr->j) {
		free(jr);
		return errf_fail(err, errlen, "journal: %s", jerr);
	}
	const char *dg = getenv("GANTRY_JOURNAL_DIGEST");
	if (dg && *dg && !(jr->digest = fopen(dg, "a")))
		log_msg(LOG_WARN, "journal", "GANTRY_JOURNAL_DIGEST %s: %s", dg, strerror(errno));
	jr->inner = e->venue;
	e->venue = (struct venue){&journaled_venue, jr};
	e->jr = jr;
	log_msg(LOG_INFO, "journal", "%s (fsync %s%s)", c->dir, journal_fsync_name(c->opts.fsync),
		jr->has_records ? "; recovering from it" : "");
	return 0;
}

void jrec_free(struct engine *e)
{
	struct jrec *jr = e->jr;
	if (!jr)
		return;
	txn_end(jr);
	if (journal_close(jr->j) != 0)
		log_msg(LOG_ERROR, "journal", "%s: closing: %s", jr->dir, strerror(errno));
	if (jr->digest)
		fclose(jr->digest);
	jbuf_free(&jr->b);
	jbuf_free(&jr->sb);
	free(jr->st);
	free(jr->q);
	for (int i = 0; i < jr->nstrs; i++)
		free(jr->strs[i]);
	for (int i = 0; i < ENGINE_MAX_STRATEGIES; i++)
		free(jr->snap[i]);
	free(jr->u);
	free(jr->strs);
	e->jr = NULL;
	free(jr);
}

/* ------------------------------------------------------------ recovery */

static const char *intern(struct jrec *jr, const char *s)
{
	for (int i = 0; i < jr->nstrs; i++)
		if (strcmp(jr->strs[i], s) == 0)
			return jr->strs[i];
	char **v = grow_array(jr->strs, &jr->strs_cap, jr->nstrs + 1, sizeof *v, 16);
	char *d = v ? strdup(s) : NULL;
	if (!d) {
		if (v)
			jr->strs = v;
		return "";
	}
	jr->strs = v;
	jr->strs[jr->nstrs++] = d;
	return d;
}

static void diverge(struct jrec *jr, uint64_t seq, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void diverge(struct jrec *jr, uint64_t seq, const char *fmt, ...)
{
	if (jr->diverged_seq)
		return;
	jr->diverged_seq = seq ? seq : 1;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(jr->diverged, sizeof jr->diverged, fmt, ap);
	va_end(ap);
}

/* The oms listener while replaying: what the simulator did, to be matched
 * with the journal; and what the engine's listener would keep (risk's fill
 * count, the report's fills). Nothing reaches a strategy or a file. */
static void replay_emitted(struct jrec *jr, const struct oms_event *ev)
{
	struct engine *e = jr->e;
	struct emitted *q = grow_array(jr->q, &jr->qcap, jr->qn + 1, sizeof *q, 64);
	if (!q) {
		diverge(jr, 0, "out of memory");
		return;
	}
	jr->q = q;
	struct emitted *m = &jr->q[jr->qn++];
	m->kind = ev->kind;
	m->id = ev->order->id;
	m->status = ev->order->status;
	m->filled = ev->order->filled;
	m->qty = ev->kind == OMS_EV_FILL ? ev->fill->qty : ev->order->qty;
	m->price = ev->kind == OMS_EV_FILL ? ev->fill->price : ev->order->price;
	m->fee = ev->kind == OMS_EV_FILL ? ev->fill->fee : 0;
	if (ev->kind == OMS_EV_FILL) {
		struct strategy *s = &e->strats[ev->order->strat];
		risk_on_fill(s->risk, ev->fill->time);
		risk_on_fill(e->firm_risk, ev->fill->time);
		if (e->nfills < ENGINE_REPORT_FILLS)
			e->fills[e->nfills++] = *ev->fill;
		jr->replayed_fills++;
	} else {
		jr->replayed_orders++;
		unsigned char *st = state_of(jr, ev->order->id);
		if (st)
			*st = (unsigned char)((*st & SENT_BIT) | (ev->order->status & 0x7f));
	}
}

/* A journaled order change or fill: the replay must have made it too. */
static void expect(struct jrec *jr, const struct journal_hdr *h, const union jpayload *u)
{
	if (jr->qhead >= jr->qn) {
		diverge(jr, h->seq,
			"the journal has %s of order %" PRId64 " (seq %" PRIu64
			") that the simulator did not make again",
			jfmt_type_name(h->type), h->type == J_FILL ? u->fill.order_id : u->order.id,
			h->seq);
		return;
	}
	const struct emitted *m = &jr->q[jr->qhead++];
	int same;
	if (h->type == J_FILL)
		same = m->kind == OMS_EV_FILL && m->id == u->fill.order_id &&
		       m->qty == u->fill.qty && m->price == u->fill.price && m->fee == u->fill.fee;
	else
		same = m->kind == OMS_EV_ORDER && m->id == u->order.id &&
		       m->status == u->order.status && m->filled == u->order.filled;
	if (!same)
		diverge(jr, h->seq,
			"seq %" PRIu64 ": the journal has %s of order %" PRId64
			", the simulator made %s of order %" PRId64 " (%s, filled %.10g)",
			h->seq, jfmt_type_name(h->type),
			h->type == J_FILL ? u->fill.order_id : u->order.id,
			m->kind == OMS_EV_FILL ? "a fill" : "a change", m->id,
			oms_status_name(m->status), m->filled);
}

/* Whatever the replay made that the journal did not have. */
static void expect_none(struct jrec *jr, const char *where)
{
	if (jr->qhead < jr->qn)
		diverge(jr, 0,
			"the simulator made %s of order %" PRId64
			" %s that the journal does not have",
			jr->q[jr->qhead].kind == OMS_EV_FILL ? "a fill" : "a change",
			jr->q[jr->qhead].id, where);
	jr->qn = jr->qhead = 0;
}

static struct order *make_order(struct jrec *jr, const struct journal_hdr *h,
				const struct jorder *r, char *err, size_t errlen)
{
	struct engine *e = jr->e;
	if (h->strat >= e->nstrat) {
		errf(err, errlen,
		     "seq %" PRIu64 ": order %" PRId64 " of strategy %u, which this host "
		     "does not have",
		     h->seq, r->id, (unsigned)h->strat);
		return NULL;
	}
	int sym = symtab_intern(e->symtab, r->symbol, strlen(r->symbol));
	if (sym < 0 || r->id != oms_count(e->oms) + 1) {
		errf(err, errlen,
		     "seq %" PRIu64 ": order %" PRId64 " out of step (the book of record "
		     "holds %" PRId64 " orders)",
		     h->seq, r->id, oms_count(e->oms));
		return NULL;
	}
	struct order *o =
	    oms_create(e->oms, h->strat, sym, r->side == 1 ? SIDE_BUY : SIDE_SELL, r->type, r->tif,
		       r->qty, r->price, r->created, (int)h->version);
	if (!o) {
		errf(err, errlen, "out of memory");
		return NULL;
	}
	o->origin = r->origin;
	o->role = r->role;
	o->stop = r->stop;
	o->trail = r->trail;
	o->trail_pct = r->trail_pct;
	o->trail_best = r->trail_best;
	return o;
}

static struct strategy *strat_of(struct jrec *jr, const struct journal_hdr *h)
{
	return h->strat < jr->e->nstrat ? &jr->e->strats[h->strat] : NULL;
}

static struct order *order_of(struct jrec *jr, const struct journal_hdr *h, int64_t id, char *err,
			      size_t errlen)
{
	struct order *o = oms_get(jr->e->oms, id);
	if (!o)
		errf(err, errlen,
		     "seq %" PRIu64 ": %s of order %" PRId64 ", which the journal never sent",
		     h->seq, jfmt_type_name(h->type), id);
	return o;
}

/* A remote venue (rebuild): a journaled order change not made yet is made
 * here, from the record's own state, through the oms (so positions, cash and
 * the open lists follow); expect() then checks that the oms made exactly it.
 * A change the oms made already (a fill's status change, the second half of
 * a replace) is only checked. */
static int rebuild_order(struct jrec *jr, const struct journal_hdr *h, const struct jorder *r,
			 char *err, size_t errlen)
{
	struct oms *oms = jr->e->oms;
	if (jr->qhead < jr->qn)
		return 0;
	struct order *o = order_of(jr, h, r->id, err, errlen);
	if (!o)
		return -1;
	const char *why = intern(jr, r->reason);
	switch (r->status) {
	case ST_PENDING:
		oms_pending(oms, o, r->updated);
		break;
	case ST_ACCEPTED:
	case ST_PARTIAL:
	case ST_REPLACED:
		if (o->qty != r->qty || o->price != r->price)
			oms_replace(oms, o, r->qty, r->price, r->updated);
		else if (o->status == ST_CANCEL_PENDING)
			oms_cancel_rejected(oms, o, why, r->updated);
		else if (o->status == ST_REPLACE_PENDING)
			oms_replace_rejected(oms, o, why, r->updated);
		else
			oms_accept(oms, o, r->updated);
		break;
	case ST_CANCEL_PENDING:
		oms_cancel_pending(oms, o, r->updated);
		break;
	case ST_REPLACE_PENDING:
		oms_replace_pending(oms, o, r->updated);
		break;
	case ST_CANCELED:
		oms_cancel(oms, o, why, r->updated);
		break;
	case ST_EXPIRED:
		oms_expire(oms, o, why, r->updated);
		break;
	case ST_REJECTED:
		oms_reject(oms, o, why, risk_reason_from_name(r->reason));
		break;
	default:
		break; /* filled: only by a fill, which expect() finds missing */
	}
	return 0;
}

/* One record, in a transaction or not. 0, or -1 with err. */
static int apply(struct jrec *jr, const struct journal_hdr *h, const unsigned char *p, size_t n,
		 char *err, size_t errlen)
{
	struct engine *e = jr->e;
	union jpayload *u = jr->u;
	char derr[256];
	if (h->type == J_TXN_BEGIN || h->type == J_TXN_END || h->type == J_MARKET)
		return 0;
	if (jfmt_decode(h->type, p, n, u, derr, sizeof derr) != 0) {
		if (h->type >= J_TYPE_COUNT)
			return 0; /* a later version's record: not ours to apply */
		return errf_fail(err, errlen, "seq %" PRIu64 ": %s", h->seq, derr);
	}
	struct strategy *s = strat_of(jr, h);
	struct order *o;
	switch (h->type) {
	case J_SENT:
		if (!(o = make_order(jr, h, &u->order, err, errlen)))
			return -1;
		if (o->origin == ORIGIN_STRATEGY && o->role == ROLE_NONE) {
			struct risk_order ro = {o->strat,
						o->sym,
						o->side == SIDE_BUY ? RISK_BUY : RISK_SELL,
						o->qty,
						o->type == ORD_LIMIT ? o->price : 0,
						false};
			risk_record(e->strats[o->strat].risk, e->firm_risk, &ro, o->created);
		}
		*state_of(jr, o->id) |= SENT_BIT;
		if (jr->rebuild)
			return 0; /* it left already: its next records say what became of it */
		if (jr->inner.ops->submit(jr->inner.self, o, o->created) != 0)
			oms_reject(e->oms, o, "venue", -1);
		return 0;
	case J_RISK_REFUSED:
		if (!(o = make_order(jr, h, &u->order, err, errlen)))
			return -1;
		oms_reject(e->oms, o, intern(jr, u->order.reason),
			   risk_reason_from_name(u->order.reason));
		expect(jr, h, u);
		return 0;
	case J_CANCEL_REQUESTED:
		if (!(o = order_of(jr, h, u->order.id, err, errlen)))
			return -1;
		if (h->who == JW_STRATEGY) {
			struct risk_order ro = {o->strat, o->sym, RISK_BUY, 0, 0, true};
			risk_record(e->strats[o->strat].risk, e->firm_risk, &ro, h->time);
		}
		if (!jr->rebuild)
			jr->inner.ops->cancel(jr->inner.self, o, h->time);
		return 0;
	case J_REPLACE_REQUESTED:
		if (!(o = order_of(jr, h, u->order.id, err, errlen)))
			return -1;
		if (!jr->rebuild)
			jr->inner.ops->replace(jr->inner.self, o, u->order.qty, u->order.price,
					       h->time);
		return 0;
	case J_CANCEL_ALL:
		if (!jr->rebuild)
			jr->inner.ops->cancel_all(jr->inner.self, intern(jr, u->text.a), h->time);
		return 0;
	case J_OCO_LINK: {
		struct order *a = oms_get(e->oms, (int64_t)u->vd.from_seq),
			     *b = oms_get(e->oms, (int64_t)u->vd.to_seq);
		if (!a || !b || oms_link_oco(e->oms, a, b) != 0)
			diverge(jr, h->seq,
				"seq %" PRIu64 ": the OCO pair %" PRIu64 "/%" PRIu64
				" cannot be linked again",
				h->seq, u->vd.from_seq, u->vd.to_seq);
		return 0;
	}
	case J_FILL:
		if (jr->rebuild && jr->qhead >= jr->qn) {
			if (!(o = order_of(jr, h, u->fill.order_id, err, errlen)))
				return -1;
			oms_fill(e->oms, o, u->fill.qty, u->fill.price, u->fill.fee, u->fill.time);
		}
		expect(jr, h, u);
		return 0;
	case J_HALT:
		if (s) {
			s->state = strcmp(u->text.c, "quarantined") == 0 ? STRAT_QUARANTINED
									 : STRAT_HALTED;
			snprintf(s->reason, sizeof s->reason, "%s", u->text.a);
			int r = risk_reason_from_name(u->text.a);
			if (!s->risk->halted)
				risk_halt(s->risk, r > 0 ? (enum risk_reason)r : RISK_HALTED,
					  h->time);
		}
		return 0;
	case J_RESUME:
		if (s) {
			s->state = STRAT_RUNNING;
			s->reason[0] = '\0';
			risk_resume(s->risk);
			if (e->firm_risk->halted)
				risk_resume(e->firm_risk);
		}
		return 0;
	case J_PARAM_CHANGE:
	case J_LIMIT_CHANGE: {
		char kv[2100], old[256], serr[512];
		snprintf(kv, sizeof kv, "%s=%s", u->text.a, u->text.c);
		if (engine_set(e, kv, old, sizeof old, serr, sizeof serr) != 0)
			log_msg(LOG_WARN, "journal",
				"recovery: set %s (seq %" PRIu64 ") no longer applies: %s", kv,
				h->seq, serr);
		return 0;
	}
	case J_LOAD:
		if (!s || strcmp(s->name, u->text.b) != 0)
			return errf_fail(
			    err, errlen,
			    "the journal's strategy %u is '%s'; this host's is '%s': a journal "
			    "belongs to the strategies that wrote it",
			    (unsigned)h->strat, u->text.b, s ? s->name : "(none)");
		/* fall through */
	case J_RELOAD:
		if (s && (h->type == J_LOAD || strcmp(u->text.c, "ok") == 0)) {
			jr->jver[s->id] = h->version;
			jr->jhash[s->id] = h->hash;
		}
		return 0;
	case J_SNAPSHOT:
		if (s) {
			unsigned char *c = malloc(u->snap.bloblen ? u->snap.bloblen : 1);
			if (!c)
				return errf_fail(err, errlen, "out of memory");
			if (u->snap.bloblen)
				memcpy(c, u->snap.blob, u->snap.bloblen);
			free(jr->snap[s->id]);
			jr->snap[s->id] = c;
			jr->snaplen[s->id] = u->snap.bloblen;
			jr->have_snap[s->id] = 1;
			jr->snap_eq[s->id][0] = u->snap.peak_equity;
			jr->snap_eq[s->id][1] = u->snap.day_equity;
			jr->snap_eq[s->id][2] = u->snap.last_equity;
			jr->snap_day[s->id] = u->snap.day;
		}
		if (u->snap.feed_pos > jr->resume_pos)
			jr->resume_pos = u->snap.feed_pos;
		return 0;
	case J_RECOVERED:
		if (u->rec.feed_pos > jr->resume_pos)
			jr->resume_pos = u->rec.feed_pos;
		return 0;
	default:
		if (jfmt_is_order(h->type)) {
			if (jr->rebuild && h->type != J_CREATED &&
			    rebuild_order(jr, h, &u->order, err, errlen) != 0)
				return -1;
			expect(jr, h, u);
			return 0;
		}
		return 0; /* operator commands, venue sessions: the audit trail */
	}
}

/* ---- the feed, as the run saw it */

static void market_state(struct jrec *jr, const struct feed_event *ev)
{
	struct engine *e = jr->e;
	int sym = ev->kind == FEED_BAR ? ev->bar.sym : ev->sym;
	struct bar *l = grow_array(e->last, &e->nlast, sym + 1, sizeof *l, 16);
	struct series *sp = l ? grow_array(e->prices, &e->nprices, sym + 1, sizeof *sp, 16) : NULL;
	if (l)
		e->last = l;
	if (sp)
		e->prices = sp;
	if (!l || !sp)
		return;
	if (ev->kind == FEED_BAR) {
		oms_mark(e->oms, sym, ev->bar.close);
		e->last[sym] = ev->bar;
	} else if (ev->mark > 0) {
		oms_mark(e->oms, sym, ev->mark);
		e->last[sym].time = ev->time;
		e->last[sym].close = ev->mark;
	}
	for (int i = 0; e->nhist && i < e->nstrat; i++) {
		struct strategy *s = &e->strats[i];
		if (!s->hist || (s->subscribed && !s->subscribed[sym]))
			continue;
		if (ev->kind == FEED_BAR)
			history_add_bar(s->hist, &ev->bar);
		else if (ev->has_trade)
			history_add_trade(s->hist, sym, ev->trade.time, ev->trade.price,
					  ev->trade.qty);
	}
}

static int feed_step(struct jrec *jr, struct feed_event *out, char *err, size_t errlen)
{
	struct engine *e = jr->e;
	int r = engine_fetch(e, err, errlen);
	if (r == 0)
		return errf_fail(err, errlen,
				 "the journal goes on past event %" PRIu64
				 " of the feed, where the feed "
				 "ends: it was written over other data",
				 jr->feed_pos);
	if (r < 0)
		return -1;
	e->have_ev = 0;
	*out = e->ev;
	jr->feed_pos++;
	e->cur = out->time;
	clock_set(&e->clock, out->time);
	return 0;
}

static int advance_to(struct jrec *jr, uint64_t target, char *err, size_t errlen)
{
	struct feed_event ev;
	while (jr->feed_pos < target) {
		if (feed_step(jr, &ev, err, errlen) != 0)
			return -1;
		jr->inner.ops->market(jr->inner.self, &ev, ev.time);
		char where[64];
		snprintf(where, sizeof where, "at event %" PRIu64, jr->feed_pos);
		expect_none(jr, where);
		market_state(jr, &ev);
	}
	return 0;
}

/* ---- transactions */

struct txrec {
	struct journal_hdr h;
	size_t off, n;
};

struct txbuf {
	struct txrec *v;
	int n, cap;
	unsigned char *bytes;
	size_t used, size;
	int open;
};

static int tx_add(struct txbuf *t, const struct journal_record *r)
{
	struct txrec *v = grow_array(t->v, &t->cap, t->n + 1, sizeof *v, 64);
	if (!v)
		return -1;
	t->v = v;
	if (t->used + r->plen > t->size) {
		size_t sz = t->size ? t->size : 1 << 16;
		while (sz < t->used + r->plen)
			sz *= 2;
		unsigned char *b = realloc(t->bytes, sz);
		if (!b)
			return -1;
		t->bytes = b;
		t->size = sz;
	}
	memcpy(t->bytes + t->used, r->payload, r->plen);
	t->v[t->n++] = (struct txrec){r->h, t->used, r->plen};
	t->used += r->plen;
	return 0;
}

static int apply_txn(struct jrec *jr, struct txbuf *t, char *err, size_t errlen)
{
	union jpayload *u = jr->u;
	if (jfmt_decode(J_TXN_BEGIN, t->bytes + t->v[0].off, t->v[0].n, u, err, errlen) != 0)
		return -1;
	int kind = u->txn.kind;
	uint64_t pos = u->txn.feed_pos;
	struct feed_event ev;
	int market_at = -1; /* the index of the J_MARKET record, or before the first (0) */
	if (kind == JTXN_EVENT) {
		if (pos <= jr->feed_pos || advance_to(jr, pos - 1, err, errlen) != 0 ||
		    feed_step(jr, &ev, err, errlen) != 0) {
			if (pos <= jr->feed_pos)
				errf(err, errlen,
				     "seq %" PRIu64 ": event %" PRIu64
				     " again, after event %" PRIu64,
				     t->v[0].h.seq, pos, jr->feed_pos);
			return -1;
		}
		market_at = 1;
		for (int i = 1; i < t->n; i++)
			if (t->v[i].h.type == J_MARKET)
				market_at = i;
	} else {
		clock_set(&jr->e->clock, u->txn.event_time);
	}
	for (int i = 1; i < t->n; i++) {
		if (i == market_at)
			jr->inner.ops->market(jr->inner.self, &ev, ev.time);
		if (apply(jr, &t->v[i].h, t->bytes + t->v[i].off, t->v[i].n, err, errlen) != 0)
			return -1;
	}
	if (kind == JTXN_EVENT)
		market_state(jr, &ev);
	char where[96];
	snprintf(where, sizeof where, "in the transaction at seq %" PRIu64, t->v[0].h.seq);
	expect_none(jr, where);
	if (pos > jr->resume_pos)
		jr->resume_pos = pos;
	return 0;
}

/* A transaction that never ended: nothing of it applies, but its order ids
 * stay used (ClOrdIDs are never given twice). */
static int void_txn(struct jrec *jr, struct txbuf *t, char *err, size_t errlen)
{
	for (int i = 0; i < t->n; i++) {
		int ty = t->v[i].h.type;
		if (ty != J_SENT && ty != J_RISK_REFUSED)
			continue;
		if (jfmt_decode(ty, t->bytes + t->v[i].off, t->v[i].n, jr->u, err, errlen) != 0)
			return -1;
		struct order *o = make_order(jr, &t->v[i].h, &jr->u->order, err, errlen);
		if (!o)
			return -1;
		o->status = ST_REJECTED;
		o->reason = "void";
	}
	jr->voided++;
	return 0;
}

/* Keeps the header and the first rows lines of a CSV file the run appends
 * to (fills.csv, orders.csv): rows past what the journal holds were written
 * by an event that is taken again. */
static void cut_rows(struct jrec *jr, FILE *f, const char *name, long rows, long *header_end)
{
	if (!f || !jr->outdir[0])
		return;
	char path[1200];
	snprintf(path, sizeof path, "%s/%s", jr->outdir, name);
	fflush(f);
	FILE *r = fopen(path, "r");
	if (!r)
		return;
	long line = -1; /* the header is line 0 */
	int c;
	off_t at = 0, keep = -1;
	while ((c = getc(r)) != EOF) {
		at++;
		if (c == '\n' && line == -1 && header_end)
			*header_end = (long)at;
		if (c == '\n' && ++line == rows) {
			keep = at;
			break;
		}
	}
	fclose(r);
	if (keep >= 0 && ftruncate(fileno(f), keep) != 0)
		log_msg(LOG_WARN, "journal", "%s: cannot cut it back: %s", path, strerror(errno));
	else if (keep >= 0)
		log_msg(LOG_INFO, "journal", "%s: cut back to its %ld rows on record", path, rows);
}

static int replay(struct jrec *jr, uint64_t *cut_from, uint64_t *cut_to, char *err, size_t errlen)
{
	struct journal_reader r;
	struct journal_record rec1;
	struct txbuf t = {0};
	int rc;
	if (journal_reader_open(&r, jr->dir, err, errlen) != 0)
		return -1;
	while ((rc = journal_next(&r, &rec1, err, errlen)) > 0) {
		int ty = rec1.h.type;
		if (t.open && ty == J_VOID) { /* an earlier recovery found it cut */
			/* (a remote venue's recovery kept it: see below) */
			if ((jr->rebuild ? apply_txn(jr, &t, err, errlen)
					 : void_txn(jr, &t, err, errlen)) != 0) {
				rc = -1;
				break;
			}
			t.open = 0;
			continue;
		}
		if (t.open || ty == J_TXN_BEGIN) {
			if (ty == J_TXN_BEGIN && t.open) {
				rc = errf_fail(err, errlen,
					       "%s: offset %" PRIu64 ": a transaction begins "
					       "inside another",
					       rec1.segment, rec1.offset);
				break;
			}
			if (ty == J_TXN_BEGIN) {
				t.open = 1;
				t.n = 0;
				t.used = 0;
			}
			if (tx_add(&t, &rec1) != 0) {
				rc = errf_fail(err, errlen, "out of memory");
				break;
			}
			if (ty == J_TXN_END) {
				t.open = 0;
				if (apply_txn(jr, &t, err, errlen) != 0) {
					rc = -1;
					break;
				}
			}
			continue;
		}
		if (apply(jr, &rec1.h, rec1.payload, rec1.plen, err, errlen) != 0) {
			rc = -1;
			break;
		}
	}
	if (rc == 0 && r.torn)
		log_msg(LOG_WARN, "journal",
			"%s/%s: torn last record at offset %" PRIu64 " (%" PRIu64
			" bytes: %s): cut",
			jr->dir, r.torn_seg, r.torn_offset, r.torn_bytes, r.reason);
	if (rc == 0 && t.open) {
		*cut_from = t.v[0].h.seq;
		*cut_to = t.v[t.n - 1].h.seq;
		/* a remote venue: what it sent may have reached the venue, so it is
		 * kept (and asked about like any working order), not voided; the
		 * `void` record written after still closes it for the next recovery */
		rc = jr->rebuild ? apply_txn(jr, &t, err, errlen) : void_txn(jr, &t, err, errlen);
	}
	free(t.v);
	free(t.bytes);
	journal_reader_close(&r);
	return rc < 0 ? -1 : 0;
}

/* A remote venue: every order the journal says is working is asked about
 * (its answer comes later through the oms, journaled, to the strategy's
 * on_order); one the venue cannot be asked about halts its strategy. */
static void reconcile_all(struct jrec *jr)
{
	struct engine *e = jr->e;
	for (int i = 0; i < e->nstrat; i++) {
		struct strategy *s = &e->strats[i];
		for (int k = 0; k < oms_open_count(e->oms, i); k++) {
			struct order *o = oms_open_at(e->oms, i, k);
			if (jr->inner.ops->reconcile(jr->inner.self, o, engine_now(e)) == 0) {
				jr->reconciled++;
				continue;
			}
			log_msg(LOG_ERROR, "journal",
				"recovery: order %" PRId64 " of %s cannot be asked about at "
				"the venue: %s halted until an operator resumes it",
				o->id, s->name, s->name);
			if (s->state == STRAT_RUNNING) {
				s->state = STRAT_HALTED;
				snprintf(s->reason, sizeof s->reason,
					 "recovery: order %" PRId64 " cannot be reconciled", o->id);
				risk_halt(s->risk, RISK_HALTED, engine_now(e));
			}
		}
	}
	/* the list is complete: a venue asks its mass status even with none */
	jr->inner.ops->reconcile(jr->inner.self, NULL, engine_now(e));
}

int jrec_recover(struct engine *e, char *err, size_t errlen)
{
	struct jrec *jr = e->jr;
	if (!jr->has_records) {
		write_loads(jr, "new journal");
		txn_begin(jr, JTXN_START, now_of(jr));
		return commit(jr, 1) == 0
			   ? 0
			   : errf_fail(err, errlen, "journal %s: %s", jr->dir, strerror(errno));
	}
	jr->rebuild = !jr->inner.ops->replayable && jr->inner.ops->reconcile;
	if (!jr->inner.ops->replayable && !jr->rebuild)
		return errf_fail(
		    err, errlen,
		    "%s: recovery needs a venue it can replay (sim) or ask (reconcile); "
		    "venue '%s' can do neither yet",
		    jr->dir, jr->inner.ops->name);
	double t0 = clock_mono_s();
	if (!(jr->u = malloc(sizeof *jr->u)))
		return errf_fail(err, errlen, "out of memory");
	jr->replaying = 1;
	uint64_t cut_from = 0, cut_to = 0;
	char rerr[1536];
	int rc = replay(jr, &cut_from, &cut_to, rerr, sizeof rerr);
	if (rc == 0)
		rc = advance_to(jr, jr->resume_pos, rerr, sizeof rerr);
	jr->replaying = 0;
	if (rc != 0)
		return errf_fail(err, errlen, "journal %s: %s", jr->dir, rerr);
	for (int i = 0; i < e->nstrat; i++) {
		struct strategy *s = &e->strats[i];
		if (jr->jver[i] && jr->jhash[i] == s->hash) {
			s->version = (int)jr->jver[i];
		} else if (jr->jver[i]) {
			s->version = (int)jr->jver[i] + 1;
			log_msg(LOG_WARN, "journal",
				"%s: its source changed while the host was down: "
				"version %d",
				s->name, s->version);
		}
		if (jr->have_snap[i]) {
			char serr[512];
			s->peak_equity = jr->snap_eq[i][0];
			s->day_equity = jr->snap_eq[i][1];
			s->last_equity = jr->snap_eq[i][2];
			s->day = jr->snap_day[i];
			if (jr->snaplen[i] && vm_state_load(s->vm, jr->snap[i], jr->snaplen[i],
							    serr, sizeof serr) != 0)
				log_msg(LOG_WARN, "journal", "%s: %s (ctx.state starts empty)",
					s->name, serr);
		}
		if (jr->diverged_seq && s->state == STRAT_RUNNING) {
			s->state = STRAT_HALTED;
			snprintf(s->reason, sizeof s->reason, "recovery: %s", jr->diverged);
			risk_halt(s->risk, RISK_HALTED, engine_now(e));
		}
	}
	if (jr->diverged_seq)
		log_msg(LOG_ERROR, "journal",
			"recovery: %s: every strategy halted until an operator "
			"resumes it",
			jr->diverged);
	if (jr->rebuild)
		reconcile_all(jr);
	if (cut_from) {
		struct jvoid v = {cut_from, cut_to, jr->feed_pos, ""};
		snprintf(v.reason, sizeof v.reason, "%s",
			 jr->rebuild ? "the host stopped inside this transaction: kept (its orders "
				       "may have reached the venue: asked about)"
				     : "the host stopped inside this transaction: "
				       "its event is taken again");
		jfmt_void(&jr->b, &v);
		rec(jr, J_VOID, JW_HOST, -1, &jr->b);
	}
	cut_rows(jr, e->fills_csv, "fills.csv", jr->replayed_fills, NULL);
	/* the book of record holds every order of the journal: at the end,
	 * orders.csv is rewritten from its header (output.c, compact_orders) */
	cut_rows(jr, e->orders_csv, "orders.csv", jr->replayed_orders, &e->orders_start);
	long working = 0;
	for (int i = 0; i < e->nstrat; i++)
		working += oms_open_count(e->oms, i);
	struct jrecovered rv = {jr->feed_pos, (uint64_t)oms_count(e->oms), (uint64_t)working,
				(uint64_t)jr->voided, ""};
	snprintf(rv.summary, sizeof rv.summary,
		 "%" PRId64 " orders (%ld working), %ld fills, resumed after event %" PRIu64
		 " in %.3f s%s%s",
		 oms_count(e->oms), working, jr->replayed_fills, jr->feed_pos, clock_mono_s() - t0,
		 cut_from && !jr->rebuild ? "; the event in progress is taken again" : "",
		 jr->rebuild ? "; rebuilt from the records, working orders asked at the venue" : "");
	jfmt_recovered(&jr->b, &rv);
	rec(jr, J_RECOVERED, JW_HOST, -1, &jr->b);
	write_loads(jr, "restarted");
	log_msg(LOG_INFO, "journal", "recovered: %s", rv.summary);
	if (commit(jr, 1) != 0)
		return errf_fail(err, errlen, "journal %s: %s", jr->dir, strerror(errno));
	if (jr->digest)
		write_digest(jr, "recovered");
	txn_begin(jr, JTXN_START, now_of(jr));
	return 0;
}
