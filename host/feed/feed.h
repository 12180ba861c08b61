/*
 * feed — every source of market data behind one table of operations
 * (libevent's backends): CSV bars (feed_csv.c), an ITCH 5.0 day from a
 * file or gzip (feed_itch.c); network feeds plug in the same way. One run
 * loop (host/engine) serves every feed in every mode.
 *
 * A feed hands the engine one event at a time, in event time order: a bar,
 * or a book event (the top of book after a message and/or a trade), only
 * for symbols a strategy follows; messages of other symbols are applied to
 * the feed's own state (books) and counted, never handed out. A feed whose
 * messages move event time before they change the market (an order-book
 * feed, where a simulated venue's orders must arrive first) calls the
 * sink's advance with the new time before applying the message.
 *
 * Errors: next returns -1 with `FILE:LINE: what` or `FILE: byte N: what`
 * in err (exit status 2 for the run).
 */
#ifndef GANTRY_FEED_H
#define GANTRY_FEED_H

#include <stddef.h>
#include <stdint.h>

#include "bars.h"
#include "event.h"

struct book_event;
struct symtab;

enum feed_event_kind { FEED_BAR = 1, FEED_BOOK, FEED_STATUS };

/* next's answer when a live feed has nothing yet (it waited a few ms for
 * its sockets): no event, not the end; ask again after serving the loop. */
enum { FEED_WAIT = 2 };

/* FEED_STATUS: the feed's health changed (feed_net.c). down: strategies on
 * it are paused until an up; reason a stable word ("gap", "session_lost",
 * "stale", "crossed", "recovered", ...). */
struct feed_status {
	int up;
	const char *reason; /* static */
	const char *detail; /* a sentence for the log; valid until the next call */
	int cancel;	    /* down: cancel the working orders too (on_down=cancel) */
};

struct feed_event {
	int kind; /* enum feed_event_kind */
	int64_t time;
	int sym;
	struct bar bar; /* FEED_BAR */
	/* FEED_BOOK: the top after the message, a trade it carried, the
	 * reference price (mid, else the trade, else the one side), and what
	 * the message did to the book (for a simulated venue) */
	int top_changed, has_trade;
	struct top_of_book top;
	struct trade_event trade;
	double mark;
	const struct book_event *book;
	struct feed_status status; /* FEED_STATUS */
};

/* The engine, as a feed calls it while reading. */
struct feed_sink {
	/* The earliest event time at which the engine has work before the next
	 * message applies (a simulated order arriving), asked of due_ud (the
	 * venue itself: one call per message); advance does that work. */
	int64_t (*due)(void *due_ud);
	void *due_ud;
	void (*advance)(void *ud, int64_t t);
	void *ud;
};

struct feed;

struct feed_ops {
	const char *name;
	int live;		  /* 1: wall-clock time (network); 0: replayed */
	int64_t equity_every_ns;  /* one equity point per distinct event time (0) or per period */
	/* Symbols known before reading (a file per symbol): their count, ids in
	 * syms; -1 when only reading tells. */
	int (*symbols)(struct feed *f, int *syms, int max);
	/* Starts reading (threads, buffers). 0, or -1 with err. */
	int (*start)(struct feed *f, const struct feed_sink *sink, char *err, size_t errlen);
	/* 1 an event in ev, 0 the end of the data, -1 an error in err;
	 * FEED_WAIT (a live feed) nothing now. */
	int (*next)(struct feed *f, struct feed_event *ev, char *err, size_t errlen);
	/* Messages read so far, every symbol's. */
	long (*messages)(const struct feed *f);
	/* The market as the feed sees it (NULL: a bar feed, which has none;
	 * the engine answers from the last bar). top and depth 0 / -1 or a
	 * level count; trading 1 when the symbol may trade now. */
	int (*top)(const struct feed *f, int sym, struct top_of_book *out);
	int (*depth)(const struct feed *f, int sym, int side, double (*out)[3], int n);
	int (*trading)(const struct feed *f, int sym);
	void (*close)(struct feed *f);
};

/* Every backend's struct starts with this. */
struct feed {
	const struct feed_ops *ops;
	const char *path; /* for messages */
};

/* CSV bars, several files merged by time, read as opt says (see bars.h;
 * NULL: the defaults). NULL with err. */
struct feed *feed_csv_open(const char *const *paths, int n, struct symtab *st,
			   const struct bars_options *opt, char *err, size_t errlen);
/* Rows a CSV feed skipped for a missing value so far (bars_options.lenient),
 * from any thread; -1 for another feed. */
long feed_csv_skipped(const struct feed *f);

struct itch_feed_config {
	const char *path;
	const char *const *symbols; /* names to build books for, besides what the run adds */
	int nsymbols;
	int64_t date_ns; /* the day's midnight, UTC: event time = date + message timestamp */
	int lenient;	 /* data integrity problems: warnings, not errors */
	int preload;	 /* read the day into memory first (itch_reader_load) */
};
/* An ITCH day: the books of the named symbols. NULL with err. */
struct feed *feed_itch_open(const struct itch_feed_config *cfg, struct symtab *st, char *err,
			    size_t errlen);
/* The books an order-book simulator matches against (NULL: not an ITCH feed). */
struct book_set *feed_itch_books(struct feed *f);
/* The locate a symbol trades on in that feed: 0 before its first message. */
int feed_itch_locate(const struct feed *f, int sym);

void feed_close(struct feed *f);

/* ------------------------------------------------------------ network feeds */

/* An ITCH feed with no file: messages are pushed one at a time (a network
 * feed's transport), each a view decoded where it lies. push: 1 an event in
 * ev, 0 none, -1 bad data in err (`NAME: byte N: what`, N the message's
 * offset in the recorded file framing). */
struct feed *feed_itch_open_stream(const struct itch_feed_config *cfg, struct symtab *st,
				   char *err, size_t errlen);
int feed_itch_push(struct feed *f, const uint8_t *msg, size_t len, struct feed_event *ev,
		   char *err, size_t errlen);
struct book_set *feed_itch_stream_books(struct feed *f);
/* From now on the books' data problems are warnings (a network feed that
 * gave messages up: its books are known not to be whole). */
void feed_itch_lenient(struct feed *f);

/* 1 when url names a network feed (soup://, mold://). */
int feed_net_scheme(const char *url);
/* A network ITCH feed: soup://HOST:PORT?... or mold://GROUP:PORT?... (the
 * keys in docs/feeds.md), the books of cfg's symbols (cfg->path: the url),
 * what is received also written to record (NULL: not) in NASDAQ's file
 * framing. NULL with err (a bad url, a secret given badly). */
struct feed *feed_net_open(const char *url, const char *record, const struct itch_feed_config *cfg,
			   struct symtab *st, char *err, size_t errlen);
/* The password file a soup:// url without passfile= uses (the deploy
 * config's feed.passfile); call before feed_net_open. NULL: none. */
void feed_net_default_passfile(const char *path);
/* The ITCH feed inside a network feed; f itself for any other feed. */
struct feed *feed_net_inner(struct feed *f);

/* A network feed's counters (for metrics; zero for any other feed). */
struct feed_net_stats {
	uint64_t messages, bytes;	 /* sequenced messages received in order */
	uint64_t gaps, gap_messages;	 /* gaps seen, messages they missed */
	uint64_t recovered, lost;	 /* gap messages recovered, given up */
	uint64_t duplicates, reordered; /* dropped as already seen / buffered ahead */
	uint64_t reconnects, heartbeats_rx;
	int up;			 /* healthy now */
	const char *reason;	 /* of the last down ("" when never) */
	int64_t lag_last_ns;	 /* receive time - exchange timestamp, of the last message */
	int64_t lag_max_ns;
	double lag_mean_ns;
};
void feed_net_stats(const struct feed *f, struct feed_net_stats *out);

#endif
