/*
 * feed_net-internal — what the network transports (feed_soup.c,
 * feed_mold.c) share with the network feed (feed_net.c) that drives them.
 *
 * A transport runs on the feed's own libevent base, which the feed runs
 * only inside next() when nothing is buffered (a few ms at most), so every
 * callback happens between two events. It hands out sequenced ITCH messages
 * strictly in order, each once (pull), and reports the session's health
 * (net_down / net_up) and fatal errors (net_fatal) to the feed.
 */
#ifndef GANTRY_FEED_NET_INTERNAL_H
#define GANTRY_FEED_NET_INTERNAL_H

#include <event2/event.h>
#include <stddef.h>
#include <stdint.h>

#include "feed.h"

struct feed_net;

/* A parsed url: scheme://HOST:PORT?k=v&k=v */
#define NET_URL_KEYS 16
struct net_url {
	char scheme[8];
	char host[256];
	int port;
	int nkeys;
	char key[NET_URL_KEYS][32];
	char val[NET_URL_KEYS][256];
};
/* The value of key, or NULL. */
const char *net_url_get(const struct net_url *u, const char *key);
/* A key's value as a number in [min, max] (def when absent): 0, or -1 with err. */
int net_url_num(const struct net_url *u, const char *key, double min, double max, double def,
		double *out, char *err, size_t errlen);

struct net_transport_ops {
	const char *name;
	/* 1 the next message in *msg (valid until the next call), 0 nothing
	 * buffered now, -1 the session ended (every message delivered). */
	int (*pull)(void *t, const uint8_t **msg, size_t *len);
	void (*free)(void *t);
};

/* Health conditions: the feed is up when none is set. */
enum net_cond {
	NET_COND_CONNECTING = 1 << 0, /* "connecting": no session yet */
	NET_COND_SESSION = 1 << 1,    /* "session_lost" */
	NET_COND_GAP = 1 << 2,	      /* "gap": messages missing, being recovered */
	NET_COND_LOST = 1 << 3,	      /* "gap_lost": messages given up; the books are wrong */
	NET_COND_STALE = 1 << 4,      /* "stale" */
	NET_COND_CROSSED = 1 << 5,    /* "crossed" */
};
void net_down(struct feed_net *n, int cond, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void net_up(struct feed_net *n, int cond);
/* The run cannot go on (a login refused, retries spent): next returns -1. */
void net_fatal(struct feed_net *n, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
struct feed_net_stats *net_stats(struct feed_net *n);
struct event_base *net_base(struct feed_net *n);
const char *net_name(const struct feed_net *n);
/* feed.passfile of the deploy config, or NULL. */
const char *net_default_passfile(void);

void *soup_transport_open(struct feed_net *n, const struct net_url *u, char *err, size_t errlen);
void *mold_transport_open(struct feed_net *n, const struct net_url *u, char *err, size_t errlen);
extern const struct net_transport_ops soup_transport_ops, mold_transport_ops;

#endif
