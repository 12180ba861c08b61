/*
 * test_http_parse — the pure parts of the HTTP side (host/base): the
 * latency histogram, the Prometheus text pieces, the token file, the /api
 * routes and their arguments, the alert rules, webhook URL and template.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "alert_rule.h"
#include "check.h"
#include "histo.h"
#include "httpreq.h"
#include "promtext.h"
#include "tokens.h"

struct buf {
	char s[4096];
	size_t n;
};

static void put(void *ud, const char *p, size_t n)
{
	struct buf *b = ud;
	if (b->n + n < sizeof b->s) {
		memcpy(b->s + b->n, p, n);
		b->n += n;
		b->s[b->n] = '\0';
	}
}

static void test_histo(void)
{
	struct histo h;
	memset(&h, 0, sizeof h);
	CHECK(histo_quantile(&h, 0.99) == 0);
	histo_add(&h, 500);	    /* <= 1 us */
	histo_add(&h, 1000);	    /* <= 1 us: bounds are inclusive */
	histo_add(&h, 1001);	    /* <= 2.5 us */
	histo_add(&h, 300000000);   /* 300 ms: +Inf */
	CHECK_EQ_INT(h.count[0], 2);
	CHECK_EQ_INT(h.count[1], 1);
	CHECK_EQ_INT(h.count[HISTO_BUCKETS], 1);
	CHECK_EQ_INT(h.n, 4);
	CHECK_NEAR(histo_quantile(&h, 0.5), 1e-6, 1e-12);
	CHECK_NEAR(histo_quantile(&h, 0.75), 2.5e-6, 1e-12);
	CHECK(isinf(histo_quantile(&h, 0.99)));
	struct histo then = h, d;
	for (int i = 0; i < 100; i++)
		histo_add(&h, 40000); /* 40 us: the 50 us bucket */
	histo_diff(&h, &then, &d);
	CHECK_EQ_INT(d.n, 100);
	CHECK_NEAR(histo_quantile(&d, 0.99), 50e-6, 1e-12);
	struct histo m;
	memset(&m, 0, sizeof m);
	histo_merge(&m, &d);
	histo_merge(&m, &then);
	CHECK_EQ_INT(m.n, 104);
	CHECK_EQ_INT(m.sum_ns, h.sum_ns);
}

static void test_promtext(void)
{
	struct buf b = {"", 0};
	prom_escape("a\"b\\c\nd", put, &b);
	CHECK(!strcmp(b.s, "a\\\"b\\\\c\\nd"));
	b.n = 0;
	prom_sample("x_total", "k=\"v\"", 3, put, &b);
	CHECK(!strcmp(b.s, "x_total{k=\"v\"} 3\n"));
	b.n = 0;
	prom_sample("x", "", INFINITY, put, &b);
	prom_sample("y", "", NAN, put, &b);
	CHECK(!strcmp(b.s, "x +Inf\ny NaN\n"));
	b.n = 0;
	prom_header("x", "gauge", "with \\ and\nnewline \"quoted\"", put, &b);
	CHECK(!strcmp(b.s, "# HELP x with \\\\ and\\nnewline \"quoted\"\n# TYPE x gauge\n"));
	struct histo h;
	memset(&h, 0, sizeof h);
	histo_add(&h, 2000);
	histo_add(&h, 200000000);
	b.n = 0;
	prom_histo("lat_seconds", "s=\"a\"", &h, put, &b);
	CHECK(strstr(b.s, "lat_seconds_bucket{s=\"a\",le=\"1e-06\"} 0\n") != NULL);
	CHECK(strstr(b.s, "lat_seconds_bucket{s=\"a\",le=\"2.5e-06\"} 1\n") != NULL);
	CHECK(strstr(b.s, "lat_seconds_bucket{s=\"a\",le=\"0.1\"} 1\n") != NULL);
	CHECK(strstr(b.s, "lat_seconds_bucket{s=\"a\",le=\"+Inf\"} 2\n") != NULL);
	CHECK(strstr(b.s, "lat_seconds_sum{s=\"a\"} 0.200002") != NULL);
	CHECK(strstr(b.s, "lat_seconds_count{s=\"a\"} 2\n") != NULL);
}

static void test_tokens(void)
{
	const char *txt = "# comment\n\n  tok-aaaaaaaaaaaaaaaa read viewer\r\n"
			  "tok-bbbbbbbbbbbbbbbb\trisk  ops\ntok-cccccccccccccccc admin root";
	struct token_set ts;
	char err[256];
	CHECK_EQ_INT(tokens_parse(txt, strlen(txt), "t", &ts, err, sizeof err), 0);
	CHECK_EQ_INT(ts.n, 3);
	const struct token *t = tokens_find(&ts, "tok-bbbbbbbbbbbbbbbb", 20);
	CHECK(t && !strcmp(t->name, "ops") && t->rights == (RIGHT_READ | RIGHT_RISK));
	CHECK(tokens_find(&ts, "tok-bbbbbbbbbbbbbbb", 19) == NULL); /* a prefix is no match */
	CHECK(tokens_find(&ts, "tok-bbbbbbbbbbbbbbbbb", 21) == NULL);
	CHECK(tokens_find(&ts, "", 0) == NULL);
	t = tokens_find(&ts, "tok-cccccccccccccccc", 20);
	CHECK(t && t->rights == (RIGHT_READ | RIGHT_TRADE | RIGHT_RISK | RIGHT_ADMIN));
	tokens_free(&ts);
	CHECK_EQ_INT(tokens_scope_rights("trade"), RIGHT_READ | RIGHT_TRADE);
	CHECK_EQ_INT(tokens_scope_rights("root"), 0);
	const char *bad = "tok-aaaaaaaaaaaaaaaa read viewer\ntok-aaaaaaaaaaaaaaaa risk x\n";
	CHECK_EQ_INT(tokens_parse(bad, strlen(bad), "t", &ts, err, sizeof err), -1);
	CHECK(!strcmp(err, "t:2: the same token as viewer's; each token must be unique"));
	const char nul[] = "tok-aaaaaaaa\0aaaaaaa read viewer\n";
	CHECK_EQ_INT(tokens_parse(nul, sizeof nul - 1, "t", &ts, err, sizeof err), -1);
	CHECK(strstr(err, "t:1: a control character") != NULL);
	CHECK_EQ_INT(tokens_parse("a b c d", 7, "t", &ts, err, sizeof err), -1);
	CHECK(strstr(err, "t:1: expected TOKEN SCOPE NAME") != NULL);
}

static void test_api(void)
{
	struct api_request r;
	char err[512];
	CHECK_EQ_INT(api_parse("GET", "/api/status", "", 0, &r, err, sizeof err), 200);
	CHECK(r.kind == API_CTL && r.need == RIGHT_READ && !strcmp(r.line, "status"));
	CHECK_EQ_INT(api_parse("POST", "/api/halt?strategy=mm", "", 0, &r, err, sizeof err), 200);
	CHECK(r.need == RIGHT_RISK && !strcmp(r.line, "halt mm"));
	const char *body = "{\"strategy\": \"m\\u0041\", \"extra\": [1, {\"a\": null}]}";
	CHECK_EQ_INT(api_parse("POST", "/api/resume", body, strlen(body), &r, err, sizeof err), 200);
	CHECK(r.need == RIGHT_TRADE && !strcmp(r.line, "resume mA"));
	body = "{\"key\": \"risk.max_position\", \"value\": 1e3}";
	CHECK_EQ_INT(api_parse("POST", "/api/set", body, strlen(body), &r, err, sizeof err), 200);
	CHECK(r.need == RIGHT_RISK && !strcmp(r.line, "set risk.max_position=1e3"));
	CHECK_EQ_INT(api_parse("POST", "/api/set?key=qty&value=5", "", 0, &r, err, sizeof err), 200);
	CHECK(r.need == RIGHT_TRADE && !strcmp(r.line, "set qty=5"));
	CHECK_EQ_INT(api_parse("POST", "/api/stop", "", 0, &r, err, sizeof err), 200);
	CHECK(r.need == RIGHT_ADMIN);
	CHECK_EQ_INT(api_parse("GET", "/api/history", "", 0, &r, err, sizeof err), 200);
	CHECK(r.kind == API_HISTORY);
	CHECK_EQ_INT(api_parse("GET", "/api/halt", "", 0, &r, err, sizeof err), 405);
	CHECK_EQ_INT(api_parse("GET", "/api/x", "", 0, &r, err, sizeof err), 404);
	CHECK_EQ_INT(api_parse("GET", "/metrics", "", 0, &r, err, sizeof err), 404);
	CHECK_EQ_INT(api_parse("POST", "/api/halt?strategy=a%20b", "", 0, &r, err, sizeof err), 400);
	CHECK_EQ_INT(api_parse("POST", "/api/halt?strategy=a%2", "", 0, &r, err, sizeof err), 400);
	CHECK_EQ_INT(api_parse("POST", "/api/halt", "{\"strategy\": 5", 14, &r, err, sizeof err), 400);
	CHECK_EQ_INT(api_parse("POST", "/api/set", "{\"key\": \"a=b\", \"value\": 1}", 26, &r, err,
			       sizeof err), 400);
	CHECK_EQ_INT(api_parse("POST", "/api/set", "{\"key\": \"k\", \"value\": {}}", 25, &r, err,
			       sizeof err), 400);
	CHECK_EQ_INT(api_parse("POST", "/api/stop", "[]", 2, &r, err, sizeof err), 400);
	char big[HTTPREQ_BODY_MAX + 2];
	memset(big, ' ', sizeof big);
	CHECK_EQ_INT(api_parse("POST", "/api/stop", big, sizeof big, &r, err, sizeof err), 413);
	char out[8];
	CHECK_EQ_INT(jsonflat_get("{\"a\": \"toolongvalue\"}", 21, "a", out, sizeof out), -1);
	CHECK_EQ_INT(jsonflat_get("{\"a\": 1} x", 10, "a", out, sizeof out), -1);
	CHECK_EQ_INT(jsonflat_get("{}", 2, "a", out, sizeof out), 0);
	CHECK_EQ_INT(query_get("a=1&bb=2&b=x+y%21", "b", out, sizeof out), 1);
	CHECK(!strcmp(out, "x y!"));
	CHECK_EQ_INT(query_get("a=1", "b", out, sizeof out), 0);
}

static void test_rules(void)
{
	struct alert_rule r;
	char err[512];
	alert_rule_init(&r);
	CHECK_EQ_INT(alert_rule_set(&r, "when", "latency_p99", err, sizeof err), 0);
	CHECK_EQ_INT(alert_rule_check(&r, err, sizeof err), -1);
	CHECK(!strcmp(err, "over: latency_p99 needs a threshold"));
	CHECK_EQ_INT(alert_rule_set(&r, "over", "0.001", err, sizeof err), 0);
	CHECK_EQ_INT(alert_rule_set(&r, "actions", "log, webhook,halt", err, sizeof err), 0);
	CHECK_EQ_INT(r.actions, ACT_LOG | ACT_WEBHOOK | ACT_HALT);
	CHECK_EQ_INT(alert_rule_set(&r, "of", "callback", err, sizeof err), 0);
	CHECK_EQ_INT(alert_rule_check(&r, err, sizeof err), 0);
	CHECK_EQ_INT(alert_rule_set(&r, "over", "-1", err, sizeof err), -1);
	CHECK(!strcmp(err, "over: expected a non-negative number, got '-1'"));
	CHECK_EQ_INT(alert_rule_set(&r, "window", "0", err, sizeof err), -1);
	CHECK_EQ_INT(alert_rule_set(&r, "severity", "loud", err, sizeof err), -1);
	CHECK_EQ_INT(alert_rule_set(&r, "actions", "page", err, sizeof err), -1);
	CHECK_EQ_INT(alert_rule_set(&r, "nope", "1", err, sizeof err), -1);

	struct alert_webhook w;
	memset(&w, 0, sizeof w);
	CHECK_EQ_INT(alert_url_parse(&w, "http://127.0.0.1:9000/a/b?c=1", err, sizeof err), 0);
	CHECK(!strcmp(w.host, "127.0.0.1") && w.port == 9000 && !strcmp(w.path, "/a/b?c=1"));
	CHECK_EQ_INT(alert_url_parse(&w, "http://localhost", err, sizeof err), 0);
	CHECK(w.port == 80 && !strcmp(w.path, "/"));
	CHECK_EQ_INT(alert_url_parse(&w, "https://x/", err, sizeof err), -1);
	CHECK_EQ_INT(alert_url_parse(&w, "http://x:99999/", err, sizeof err), -1);
	CHECK_EQ_INT(alert_url_parse(&w, "http://:80/", err, sizeof err), -1);
	CHECK_EQ_INT(alert_url_parse(&w, "http://x:/", err, sizeof err), -1);

	struct alert_fields f = {"dd", "critical", "firing", "a \"quoted\"\nline", "mm", "drawdown",
				 "2026-01-01T00:00:00Z", 0.125, 0.05};
	char out[512];
	alert_render("{\"text\": \"{{severity}}: {{summary}}\", \"v\": {{value}}, \"u\": \"{{x}}\"}", &f,
		     out, sizeof out);
	CHECK(!strcmp(out, "{\"text\": \"critical: a \\\"quoted\\\"\\u000aline\", \"v\": 0.125, "
			   "\"u\": \"{{x}}\"}"));
	size_t n = alert_render("{{rule}}{{rule}}{{rule}}", &f, out, 5);
	CHECK(n == 4 && !strcmp(out, "dddd"));
}

int main(void)
{
	test_histo();
	test_promtext();
	test_tokens();
	test_api();
	test_rules();
	return check_summary();
}
