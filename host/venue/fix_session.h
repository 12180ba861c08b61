/*
 * fix_session — a FIX 4.4 initiator session on the libevent loop: one
 * bufferevent (plain TCP, or TLS through bufferevent_openssl: the same
 * session over another stream), Logon, Heartbeat and TestRequest, Logout,
 * ResendRequest both ways, SequenceReset, reconnect with backoff and a
 * session schedule.
 *
 * Invariants:
 * - MsgSeqNum both ways lives in STORE/SENDER-TARGET.seqs, rewritten as it
 *   moves, so a restarted host continues the session; every application
 *   message sent is appended to STORE/SENDER-TARGET.out, the store a
 *   ResendRequest is answered from (admin messages become
 *   SequenceReset-GapFill; application messages older than resend_max_age_s
 *   too).
 * - Application messages reach the owner (fix_session_cb.app) once each, in
 *   MsgSeqNum order: messages beyond a gap are held until it is filled.
 * - A garbled message is dropped and counted, never answered; a message
 *   with a bad field gets a session Reject (35=3) and consumes its number.
 */
#ifndef GANTRY_FIX_SESSION_H
#define GANTRY_FIX_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "fix.h"

struct event_base;
struct tz;

enum fix_too_low { FIX_TOO_LOW_LOGOUT, FIX_TOO_LOW_REJECT };

struct fix_session_config {
	const char *host; /* borrowed, like every string here */
	int port;
	int tls;
	const char *sender, *target;
	int heartbeat_s;	 /* HeartBtInt (108) */
	int reset_on_logon;	 /* 141=Y on every Logon: both sides start at 1 */
	const char *username;	 /* 553, the contents of a file (NULL: none) */
	const char *password;	 /* 554, the contents of a file (NULL: none) */
	const char *store_dir;	 /* sequence numbers and the outbound store */
	double resend_max_age_s; /* application messages older are gap-filled (< 0: never) */
	int too_low;		 /* enum fix_too_low */
	double reconnect_min_s, reconnect_max_s; /* backoff, doubled each failed try */
	double connect_timeout_s;		 /* TCP + TLS + Logon answer */
	/* TLS (fixs://) */
	const char *ca_file, *cert_file, *key_file;
	const char *server_name; /* checked against the certificate; SNI; default host */
	/* schedule: connected only from start to end (seconds into the local
	 * day, end < start spans midnight) on the days of days_mask (bit 0
	 * Sunday), in zone tz (NULL: UTC); has_schedule 0: always */
	int has_schedule;
	int start_s, end_s;
	unsigned days_mask;
	const struct tz *tz;
};

struct fix_session_cb {
	/* an application message, in sequence */
	void (*app)(void *ud, const struct fix_msg *m);
	/* logged on (up = 1) or the session went down (detail says why) */
	void (*state)(void *ud, int up, const char *detail);
	/* a problem no retry can fix (a certificate, refused credentials): the
	 * session stops; msg is one line naming the reason */
	void (*fatal)(void *ud, const char *msg);
	/* a Heartbeat answering our TestRequest id */
	void (*heartbeat)(void *ud, const char *test_req_id);
	void *ud;
};

struct fix_session;

/* Checks the TLS files (fixs). NULL with err. */
struct fix_session *fix_session_new(const struct fix_session_config *c,
				    const struct fix_session_cb *cb, char *err, size_t errlen);
void fix_session_free(struct fix_session *s);
/* Opens the store (seqs and outbound messages) and starts connecting on
 * base (now, or when the schedule opens). 0 or -1 with err. */
int fix_session_start(struct fix_session *s, struct event_base *base, char *err, size_t errlen);
/* Sends a Logout and closes once it is answered (or after a short wait);
 * no reconnect after. */
void fix_session_stop(struct fix_session *s);
/* Lets go of the loop (connection, timers) before it is freed. */
void fix_session_detach(struct fix_session *s);
int fix_session_up(const struct fix_session *s);
/* 1 once stopped and closed (after fix_session_stop or a fatal error). */
int fix_session_closed(const struct fix_session *s);

/* An application message: begin writes the header (35, 49, 56, 34, 52),
 * the caller adds the body, send stores and writes it. begin returns NULL
 * when the session is not logged on. */
struct fix_writer *fix_session_begin(struct fix_session *s, const char *type);
int fix_session_send(struct fix_session *s);
/* A TestRequest with id (a barrier: the answer comes after every earlier reply). */
int fix_session_test_request(struct fix_session *s, const char *id);

struct fix_session_stats {
	int64_t next_out, next_in;
	long garbled, rejects_sent, rejects_received, resend_requests_sent,
	    resend_requests_received, resent, gap_filled, logons, disconnects, too_low;
};
void fix_session_stats(const struct fix_session *s, struct fix_session_stats *out);

#endif
