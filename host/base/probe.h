/*
 * probe — the tick-to-order probe of `make bench`, as macros that compile to
 * nothing unless the build defines GANTRY_PROBES (h2o's probes: the release
 * and test builds carry no trace of it; `make bench` builds build/probe/).
 *
 * With GANTRY_PROBE=FILE set, a probe build times each order's window, from
 * the start of decoding the market message that triggered it to the order
 * handed to the venue, and writes its percentiles to FILE at the end; the
 * messages of symbols no strategy follows (idle) are timed too, as the
 * machine's own share of the tail. GANTRY_PROBE_TRACE=FILE adds a line per
 * window of 2 us or more with the time spent in each stage (PROBE_*).
 */
#ifndef GANTRY_PROBE_H
#define GANTRY_PROBE_H

enum {
	PROBE_DECODED,	 /* the message read (and the prefetch hints given) */
	PROBE_ARRIVED,	 /* orders due at the simulated venue matched */
	PROBE_BOOKED,	 /* the message applied to the books */
	PROBE_CALLED,	 /* the rest of the host's work; the callback is called */
	PROBE_SUBMITTED, /* the strategy's order reached the host (risk, oms: the rest) */
	PROBE_STAGES
};

#if GANTRY_PROBES
struct tick_probe;
extern struct tick_probe *probe_state; /* NULL unless GANTRY_PROBE is set */

/* Reads GANTRY_PROBE and GANTRY_PROBE_TRACE. 0, or -1 with err. */
int probe_open(char *err, size_t errlen);
void probe_close(void); /* writes the report */
void probe_message(void);      /* a message starts decoding */
void probe_idle(void);	       /* it only passed the filter */
void probe_mark(int stage);    /* a stage of the window ended (trace) */
void probe_traced_message(void);
void probe_order(void);	       /* an order reached the venue */

#define PROBE_OPEN(err, errlen) probe_open(err, errlen)
#define PROBE_CLOSE() probe_close()
#define PROBE_MESSAGE()                                                                            \
	do {                                                                                       \
		if (probe_state)                                                                   \
			probe_message();                                                           \
	} while (0)
#define PROBE_IDLE()                                                                               \
	do {                                                                                       \
		if (probe_state)                                                                   \
			probe_idle();                                                              \
	} while (0)
#define PROBE_MARK(stage)                                                                          \
	do {                                                                                       \
		if (probe_state)                                                                   \
			probe_mark(stage);                                                         \
	} while (0)
#define PROBE_ORDER()                                                                              \
	do {                                                                                       \
		if (probe_state)                                                                   \
			probe_order();                                                             \
	} while (0)
#else
#define PROBE_OPEN(err, errlen) 0
#define PROBE_CLOSE() ((void)0)
#define PROBE_MESSAGE() ((void)0)
#define PROBE_IDLE() ((void)0)
#define PROBE_MARK(stage) ((void)0)
#define PROBE_ORDER() ((void)0)
#endif

#endif
