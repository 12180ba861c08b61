/*
 * alert_rule — the alert rules of the deploy config and their webhook, as
 * plain data: each field is set from text (key, value), so the Lua reader
 * (host/vm/http_config.c) and the fuzz target go through the same checks.
 * Evaluation lives with the host's loop (host/cmd/alerts.c).
 *
 * A rule: name, when (a condition below), severity (info, warning,
 * critical), actions (a comma list of log, webhook, halt, flatten), an
 * optional strategy (the rule then watches and acts on that one only), and
 * the condition's numbers:
 *
 *   latency_p99    over=SECONDS within window=SECONDS; of=tick_to_order|callback
 *   feed_stale     over=SECONDS without an event while the feed is open
 *   drawdown       over=FRACTION of the strategy's peak equity (0.05 = 5 %)
 *   loss           over=AMOUNT below the start equity (P&L < -AMOUNT)
 *   reject_rate    over=REJECTS per second within window=SECONDS
 *   venue_down     the venue's session is down
 *   halted         a strategy is halted or quarantined
 *   market_halt    a symbol a strategy holds or works is halted by its market
 *   memory         over=FRACTION of the sandbox's memory cap
 */
#ifndef GANTRY_ALERT_RULE_H
#define GANTRY_ALERT_RULE_H

#include <stddef.h>

enum alert_when {
	ALERT_NONE,
	ALERT_LATENCY_P99,
	ALERT_FEED_STALE,
	ALERT_DRAWDOWN,
	ALERT_LOSS,
	ALERT_REJECT_RATE,
	ALERT_VENUE_DOWN,
	ALERT_HALTED,
	ALERT_MARKET_HALT,
	ALERT_MEMORY,
};

enum { ACT_LOG = 1, ACT_WEBHOOK = 2, ACT_HALT = 4, ACT_FLATTEN = 8 };
enum { SEV_INFO, SEV_WARNING, SEV_CRITICAL };

struct alert_rule {
	char name[64];
	int when;     /* enum alert_when */
	int severity; /* SEV_* */
	unsigned actions; /* ACT_* */
	char strategy[64]; /* "" = every strategy */
	double over;	   /* the threshold, in the condition's unit */
	double window;	   /* seconds (latency_p99, reject_rate) */
	int of_callback;   /* latency_p99 of the callback time, not tick-to-order */
	int has_over;
};

/* A rule with its defaults (severity warning, actions log, window 60). */
void alert_rule_init(struct alert_rule *r);
/* One field from text. 0, or -1 with err "KEY: what is wrong". */
int alert_rule_set(struct alert_rule *r, const char *key, const char *value, char *err,
		   size_t errlen);
/* After every field: what the condition needs is there. 0, or -1 with err. */
int alert_rule_check(const struct alert_rule *r, char *err, size_t errlen);

const char *alert_when_name(int when);
const char *alert_severity_name(int sev);

/* The webhook: POST to http://HOST:PORT/PATH (loopback or a relay; https is
 * for a relay such as stunnel), body from the template. */
struct alert_webhook {
	char url[512];
	char host[256];
	int port;
	char path[256];
	char *template_text; /* owned; NULL: the default JSON object */
	double timeout_s;
	int retries;
};

/* Parses an http:// URL into host, port (default 80) and path. 0, -1 with err. */
int alert_url_parse(struct alert_webhook *w, const char *url, char *err, size_t errlen);

/* The fields a template may use as {{name}}: each value is put in JSON
 * string form without the quotes, so `"text": "{{summary}}"` stays JSON. */
struct alert_fields {
	const char *rule, *severity, *status, *summary, *strategy, *when, *time;
	double value, threshold;
};

/* The template with {{...}} replaced (an unknown name is left as it is)
 * into out (at most outlen - 1 bytes, cut short when longer). Its length. */
size_t alert_render(const char *tmpl, const struct alert_fields *f, char *out, size_t outlen);

#define ALERT_DEFAULT_TEMPLATE                                                                     \
	"{\"rule\": \"{{rule}}\", \"status\": \"{{status}}\", \"severity\": \"{{severity}}\", "   \
	"\"when\": \"{{when}}\", \"strategy\": \"{{strategy}}\", \"value\": {{value}}, "          \
	"\"threshold\": {{threshold}}, \"time\": \"{{time}}\", \"summary\": \"{{summary}}\"}"

#endif
