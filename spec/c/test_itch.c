/*
 * test_itch — the ITCH 5.0 decoder, the framed reader and the L3 books,
 * against hand-built bytes and the golden vectors of protocols-risk.md §5.
 */
#include "book.h"
#include "check.h"
#include "itch.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

/* ------------------------------------------------------------ builders */

static uint8_t *put(uint8_t *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
	return p + n;
}

static void alpha(uint8_t *p, const char *s, size_t n)
{
	memset(p, ' ', n);
	memcpy(p, s, strlen(s) < n ? strlen(s) : n);
}

/* A message of type t with its fixed length, header filled, body spaces. */
static size_t hdr(uint8_t *m, char t, uint16_t locate, uint16_t tracking, uint64_t ts)
{
	size_t len = itch_type_len((uint8_t)t);
	memset(m, ' ', len);
	m[0] = (uint8_t)t;
	put(m + 1, locate, 2);
	put(m + 3, tracking, 2);
	put(m + 5, ts, 6);
	return len;
}

/* A growable framed stream. */
struct stream {
	uint8_t buf[1 << 18];
	size_t n;
};

static uint8_t *frame(struct stream *s, size_t len)
{
	put(s->buf + s->n, len, 2);
	uint8_t *m = s->buf + s->n + 2;
	s->n += 2 + len;
	return m;
}

static uint64_t clock_ns = 34200000000000ull;

static void add(struct stream *s, uint16_t loc, uint64_t ref, char side, uint32_t sh,
		const char *stock, uint32_t px)
{
	uint8_t *m = frame(s, 36);
	hdr(m, 'A', loc, 0, clock_ns++);
	put(m + 11, ref, 8);
	m[19] = (uint8_t)side;
	put(m + 20, sh, 4);
	alpha(m + 24, stock, 8);
	put(m + 32, px, 4);
}

static void ref_msg(struct stream *s, char t, uint16_t loc, uint64_t ref, uint32_t sh)
{
	uint8_t *m = frame(s, itch_type_len((uint8_t)t));
	hdr(m, t, loc, 0, clock_ns++);
	put(m + 11, ref, 8);
	if (t != 'D')
		put(m + 19, sh, 4);
	if (t == 'E' || t == 'C')
		put(m + 23, 77, 8);
	if (t == 'C') {
		m[31] = 'Y';
		put(m + 32, 1000000, 4);
	}
}

static void replace(struct stream *s, uint16_t loc, uint64_t ref, uint64_t nref, uint32_t sh,
		    uint32_t px)
{
	uint8_t *m = frame(s, 35);
	hdr(m, 'U', loc, 0, clock_ns++);
	put(m + 11, ref, 8);
	put(m + 19, nref, 8);
	put(m + 27, sh, 4);
	put(m + 31, px, 4);
}

static size_t unhex(const char *h, uint8_t *out)
{
	size_t n = 0;
	for (; h[0] && h[1]; h += 2) {
		while (*h == ' ')
			h++;
		unsigned v;
		sscanf(h, "%2x", &v);
		out[n++] = (uint8_t)v;
	}
	return n;
}

/* ------------------------------------------------------------ decoder */

static void test_lengths_of_all_23_types(void)
{
	const char *types = "SRHYLVWKJhAFECXDUPQBINO";
	const int lens[] = {12, 39, 25, 20, 26, 35, 12, 28, 35, 21, 36, 40,
			    31, 36, 23, 19, 35, 44, 40, 19, 50, 20, 48};
	int known = 0;
	for (int t = 0; t < 256; t++)
		known += itch_type_len((uint8_t)t) != 0;
	CHECK_EQ_INT(known, 23);
	for (int i = 0; i < 23; i++) {
		uint8_t m[64];
		struct itch_msg v;
		size_t len = hdr(m, types[i], (uint16_t)(100 + i), (uint16_t)i, 1234567890123ull + (uint64_t)i);
		CHECK_EQ_INT(len, lens[i]);
		CHECK_EQ_INT(itch_decode(m, len, &v), ITCH_OK);
		CHECK_EQ_INT(v.type, types[i]);
		CHECK_EQ_INT(v.locate, 100 + i);
		CHECK_EQ_INT(v.tracking, i);
		CHECK(v.ts == 1234567890123ull + (uint64_t)i);
		CHECK(v.p == m);
		CHECK_EQ_INT(itch_decode(m, len - 1, &v), ITCH_ERR_LENGTH);
		CHECK_EQ_INT(itch_decode(m, len + 1, &v), ITCH_ERR_LENGTH);
		char json[1024];
		size_t n = itch_to_json(&v, json, sizeof json);
		CHECK(n > 0 && n < sizeof json && json[0] == '{' && json[n - 1] == '}');
	}
	uint8_t z[12] = {'Z'};
	struct itch_msg v;
	CHECK_EQ_INT(itch_decode(z, 12, &v), ITCH_ERR_TYPE);
	CHECK_EQ_INT(itch_decode(z, 0, &v), ITCH_ERR_LENGTH);
}

static void test_field_accessors_per_type(void)
{
	uint8_t m[64];
	struct itch_msg v;
	char s[16];
	/* C: executed with price */
	hdr(m, 'C', 7, 1, 5);
	put(m + 11, 0x0102030405060708ull, 8);
	put(m + 19, 250, 4);
	put(m + 23, 999, 8);
	m[31] = 'N';
	put(m + 32, 1234500, 4);
	CHECK_EQ_INT(itch_decode(m, 36, &v), ITCH_OK);
	CHECK(itch_u64(&v, ITCH_OFF_REF) == 0x0102030405060708ull);
	CHECK_EQ_INT(itch_u32(&v, ITCH_OFF_EXEC_SHARES), 250);
	CHECK_EQ_INT(itch_u64(&v, ITCH_OFF_EXEC_MATCH), 999);
	CHECK_EQ_INT(itch_ch(&v, ITCH_OFF_C_PRINTABLE), 'N');
	CHECK_EQ_INT(itch_u32(&v, ITCH_OFF_C_PRICE), 1234500);
	/* Q: cross with u64 shares */
	hdr(m, 'Q', 8, 0, 6);
	put(m + 11, 5000000000ull, 8);
	alpha(m + 19, "BAC-Q", 8);
	put(m + 27, 300000, 4);
	put(m + 31, 42, 8);
	m[39] = 'C';
	CHECK_EQ_INT(itch_decode(m, 40, &v), ITCH_OK);
	CHECK(itch_u64(&v, ITCH_OFF_Q_SHARES) == 5000000000ull);
	CHECK_EQ_INT(itch_stock(&v, s), 5);
	CHECK_STR(s, "BAC-Q");
	char json[512];
	itch_to_json(&v, json, sizeof json);
	CHECK_STR(json, "{\"type\":\"Q\",\"locate\":8,\"tracking\":0,\"ts\":6,\"shares\":5000000000,"
			"\"stock\":\"BAC-Q\",\"price\":\"30.0000\",\"match\":42,\"cross_type\":\"C\"}");
	/* H: trading action, spaces trimmed */
	hdr(m, 'H', 9, 0, 7);
	alpha(m + 11, "ZXZZT", 8);
	m[19] = 'H';
	alpha(m + 21, "T1", 4);
	CHECK_EQ_INT(itch_decode(m, 25, &v), ITCH_OK);
	itch_to_json(&v, json, sizeof json);
	CHECK_STR(json, "{\"type\":\"H\",\"locate\":9,\"tracking\":0,\"ts\":7,\"stock\":\"ZXZZT\","
			"\"trading_state\":\"H\",\"reserved\":\"\",\"reason\":\"T1\"}");
	/* V: MWCB levels, Price(8) */
	hdr(m, 'V', 0, 0, 8);
	put(m + 11, 123456789012ull, 8);
	put(m + 19, 1, 8);
	put(m + 27, 0, 8);
	CHECK_EQ_INT(itch_decode(m, 35, &v), ITCH_OK);
	itch_to_json(&v, json, sizeof json);
	CHECK(strstr(json, "\"level1\":\"1234.56789012\",\"level2\":\"0.00000001\",\"level3\":\"0.00000000\"") != NULL);
	/* a NUL in an alpha field is escaped, not cut */
	hdr(m, 'S', 0, 0, 9);
	m[11] = 0;
	CHECK_EQ_INT(itch_decode(m, 12, &v), ITCH_OK);
	itch_to_json(&v, json, sizeof json);
	CHECK(strstr(json, "\"event\":\"\\u0000\"") != NULL);
	/* a buffer too small: size needed returned, output terminated */
	char tiny[8];
	size_t need = itch_to_json(&v, tiny, sizeof tiny);
	CHECK(need > sizeof tiny);
	CHECK_EQ_INT(strlen(tiny), sizeof tiny - 1);
}

/* MoldUDP64 payloads of protocols-risk.md §5: 20-byte header, then [len][msg]. */
static void test_golden_vectors(void)
{
	uint8_t b[128];
	struct itch_msg v;
	char json[512];
	size_t n = unhex("303030303130303539420000000000e12f590001002441159800001f1aced85306"
			 "000000000166b53e420000064049564f4f20202020000d55ac", b);
	CHECK_EQ_INT(n, 20 + 2 + 36);
	CHECK_EQ_INT(itch_be16(b + 18), 1);
	CHECK_EQ_INT(itch_be16(b + 20), 36);
	CHECK_EQ_INT(itch_decode(b + 22, 36, &v), ITCH_OK);
	CHECK_EQ_INT(v.type, 'A');
	CHECK_EQ_INT(v.locate, 5528);
	CHECK(v.ts == 34199999894278ull); /* 09:29:59.999894278 */
	CHECK_EQ_INT(itch_u64(&v, ITCH_OFF_REF), 23508286);
	CHECK_EQ_INT(itch_ch(&v, ITCH_OFF_ADD_SIDE), 'B');
	CHECK_EQ_INT(itch_u32(&v, ITCH_OFF_ADD_SHARES), 1600);
	CHECK_EQ_INT(itch_u32(&v, ITCH_OFF_ADD_PRICE), 873900);
	itch_to_json(&v, json, sizeof json);
	CHECK_STR(json, "{\"type\":\"A\",\"locate\":5528,\"tracking\":0,\"ts\":34199999894278,"
			"\"ref\":23508286,\"side\":\"B\",\"shares\":1600,\"stock\":\"IVOO\",\"price\":\"87.3900\"}");

	n = unhex("303030303130303539420000000000e12f710001001f4509290002"
		  "1f1aced8f061000000000166929a00000019000000000003e63b", b);
	CHECK_EQ_INT(itch_be16(b + 20), 31);
	CHECK_EQ_INT(itch_decode(b + 22, n - 22, &v), ITCH_OK);
	CHECK_EQ_INT(v.type, 'E');
	CHECK_EQ_INT(v.tracking, 2);
	CHECK_EQ_INT(itch_u64(&v, ITCH_OFF_REF), 23499418);
	CHECK_EQ_INT(itch_u32(&v, ITCH_OFF_EXEC_SHARES), 25);
	CHECK_EQ_INT(itch_u64(&v, ITCH_OFF_EXEC_MATCH), 255547);

	n = unhex("303030303130303539420000000000e12f450001002355""1db3""0000"
		  "1f1aced771e90000000000e6897f000000000145f2c700000064001036c8", b);
	CHECK_EQ_INT(itch_decode(b + 22, n - 22, &v), ITCH_OK);
	CHECK_EQ_INT(v.type, 'U');
	CHECK_EQ_INT(v.locate, 0x1db3);
	CHECK_EQ_INT(itch_u64(&v, ITCH_OFF_REF), 15108479);
	CHECK_EQ_INT(itch_u64(&v, ITCH_OFF_U_NEWREF), 21361351);
	CHECK_EQ_INT(itch_u32(&v, ITCH_OFF_U_SHARES), 100);
	CHECK_EQ_INT(itch_u32(&v, ITCH_OFF_U_PRICE), 1062600);
}

/* ------------------------------------------------------------ reader */

static int next(struct itch_reader *rd, struct itch_msg *m)
{
	return itch_reader_next(rd, m);
}

static void test_reader_errors_with_offsets(void)
{
	static struct stream s;
	struct itch_reader rd;
	struct itch_msg m;
	s.n = 0;
	add(&s, 1, 1, 'B', 100, "AAA", 10000); /* 0 .. 38 */
	uint8_t *bad = frame(&s, 35);          /* 38: 'A' with 35 bytes */
	memset(bad, ' ', 35);
	bad[0] = 'A';
	uint8_t *unk = frame(&s, 12); /* 75: unknown 'Z' */
	memset(unk, 0, 12);
	unk[0] = 'Z';
	uint8_t *back = frame(&s, 12); /* 89: S with an earlier timestamp */
	hdr(back, 'S', 0, 0, 5);
	back[11] = 'O';
	uint8_t *empty = frame(&s, 0); /* 103: length 0 */
	(void)empty;
	add(&s, 1, 2, 'S', 100, "AAA", 10100); /* 105 */
	size_t full = s.n;
	itch_reader_open_mem(&rd, s.buf, full - 5, "mem"); /* last frame cut */
	CHECK_EQ_INT(next(&rd, &m), 1);
	CHECK_EQ_INT(itch_reader_offset(&rd), 0);
	CHECK_EQ_INT(next(&rd, &m), ITCH_ERR_LENGTH);
	CHECK_EQ_INT(rd.err_offset, 38);
	CHECK_STR(rd.err_text, "message type 'A' has length 35, expected 36");
	CHECK_EQ_INT(next(&rd, &m), ITCH_ERR_TYPE);
	CHECK_EQ_INT(rd.err_offset, 75);
	CHECK_STR(rd.err_text, "unknown message type 'Z' (0x5a)");
	CHECK_EQ_INT(next(&rd, &m), ITCH_ERR_TIME);
	CHECK_EQ_INT(rd.err_offset, 89);
	CHECK_EQ_INT(m.type, 'S'); /* the message is still handed out */
	CHECK_EQ_INT(next(&rd, &m), ITCH_ERR_LENGTH);
	CHECK_EQ_INT(rd.err_offset, 103);
	CHECK_STR(rd.err_text, "empty message (length 0)");
	CHECK_EQ_INT(next(&rd, &m), ITCH_ERR_TRUNCATED);
	CHECK_EQ_INT(rd.err_offset, 105);
	CHECK_STR(rd.err_text, "truncated message: length 36 but only 31 bytes left");
	CHECK_EQ_INT(next(&rd, &m), 0);
	itch_reader_close(&rd);

	/* one stray byte at the end */
	itch_reader_open_mem(&rd, s.buf, 39, "mem");
	CHECK_EQ_INT(next(&rd, &m), 1);
	CHECK_EQ_INT(next(&rd, &m), ITCH_ERR_TRUNCATED);
	CHECK_EQ_INT(rd.err_offset, 38);
	itch_reader_close(&rd);

	/* time checks off: the backwards S is a plain message */
	itch_reader_open_mem(&rd, s.buf, full, "mem");
	rd.check_time = 0;
	int ok = 0, errs = 0, rc;
	while ((rc = next(&rd, &m)) != 0)
		rc > 0 ? ok++ : errs++;
	CHECK_EQ_INT(ok, 3);
	CHECK_EQ_INT(errs, 3);
	CHECK_EQ_INT(itch_reader_bytes(&rd), full);
}

static void test_reader_files_plain_and_gzip(void)
{
	static struct stream s;
	s.n = 0;
	for (int i = 0; i < 3000; i++)
		add(&s, (uint16_t)(1 + i % 7), (uint64_t)i + 1, i % 2 ? 'S' : 'B', 100, "SYM", 10000 + (uint32_t)i);
	char dir[] = "/tmp/test_itch.XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	char plain[64], gz[64];
	snprintf(plain, sizeof plain, "%s/a.itch", dir);
	snprintf(gz, sizeof gz, "%s/a.itch.gz", dir);
	FILE *f = fopen(plain, "wb");
	fwrite(s.buf, 1, s.n, f);
	fclose(f);
	gzFile g = gzopen(gz, "wb");
	gzwrite(g, s.buf, (unsigned)s.n);
	gzclose(g);
	/* plain, gzip, and plain read into memory by itch_reader_load */
	const char *paths[] = {plain, gz, plain};
	for (int k = 0; k < 3; k++) {
		struct itch_reader rd;
		struct itch_msg m;
		char err[256];
		CHECK_EQ_INT(itch_reader_open(&rd, paths[k], err, sizeof err), 0);
		CHECK_EQ_INT(itch_reader_load(&rd, k == 2 ? s.n : s.n - 1), k == 2); /* max, gzip */
		int n = 0, rc;
		uint64_t sum = 0;
		while ((rc = itch_reader_next(&rd, &m)) == 1) {
			n++;
			sum += itch_u64(&m, ITCH_OFF_REF);
		}
		CHECK_EQ_INT(rc, 0);
		CHECK_EQ_INT(n, 3000);
		CHECK(sum == 3000ull * 3001 / 2);
		CHECK_EQ_INT(itch_reader_bytes(&rd), s.n);
		itch_reader_close(&rd);
	}
	/* a gzip file cut short: a truncated message, never a crash */
	g = gzopen(gz, "wb");
	gzwrite(g, s.buf, (unsigned)s.n - 3);
	gzclose(g);
	struct itch_reader rd;
	struct itch_msg m;
	char err[256];
	CHECK_EQ_INT(itch_reader_open(&rd, gz, err, sizeof err), 0);
	int rc;
	while ((rc = itch_reader_next(&rd, &m)) == 1)
		;
	CHECK_EQ_INT(rc, ITCH_ERR_TRUNCATED);
	CHECK_EQ_INT(rd.err_offset, s.n - 38);
	itch_reader_close(&rd);
	/* loaded only before the first message; a cut file still says where */
	f = fopen(plain, "wb");
	fwrite(s.buf, 1, s.n - 3, f);
	fclose(f);
	CHECK_EQ_INT(itch_reader_open(&rd, plain, err, sizeof err), 0);
	CHECK_EQ_INT(itch_reader_next(&rd, &m), 1);
	CHECK_EQ_INT(itch_reader_load(&rd, s.n), 0);
	itch_reader_close(&rd);
	CHECK_EQ_INT(itch_reader_open(&rd, plain, err, sizeof err), 0);
	CHECK_EQ_INT(itch_reader_load(&rd, s.n), 1);
	CHECK_EQ_INT(itch_reader_load(&rd, s.n), 0); /* once */
	while ((rc = itch_reader_next(&rd, &m)) == 1)
		;
	CHECK_EQ_INT(rc, ITCH_ERR_TRUNCATED);
	CHECK_EQ_INT(rd.err_offset, s.n - 38);
	itch_reader_close(&rd);
	CHECK_EQ_INT(itch_reader_open(&rd, "/nonexistent/x.itch", err, sizeof err), -1);
	CHECK(strstr(err, "/nonexistent/x.itch: cannot open") == err);
	remove(plain);
	remove(gz);
	rmdir(dir);
}

/* ------------------------------------------------------------ books */

/* Applies every message of s; returns the first book error (0 if none). */
static int apply_all(struct book_set *b, struct stream *s, size_t from, struct book_event *last)
{
	struct itch_reader rd;
	struct itch_msg m;
	itch_reader_open_mem(&rd, s->buf + from, s->n - from, "mem");
	int first = 0;
	while (itch_reader_next(&rd, &m) == 1) {
		int rc = book_apply(b, &m, last);
		if (rc && !first)
			first = rc;
	}
	return first;
}

static void expect_level(struct book_set *b, uint16_t loc, int side, size_t i, uint32_t px,
			 uint64_t sh, uint32_t n)
{
	struct book_level_info lv[16];
	size_t got = book_depth(b, loc, side, lv, 16);
	CHECK(i < got);
	if (i < got) {
		CHECK_EQ_INT(lv[i].price, px);
		CHECK_EQ_INT(lv[i].shares, sh);
		CHECK_EQ_INT(lv[i].orders, n);
	}
}

static void verify(struct book_set *b)
{
	char err[256] = "";
	int rc = book_verify(b, err, sizeof err);
	if (rc)
		fprintf(stderr, "book_verify: %s\n", err);
	CHECK_EQ_INT(rc, 0);
}

static void test_book_rules(void)
{
	static struct stream s;
	s.n = 0;
	struct book_set *b = book_set_new(NULL);
	struct book_event ev;
	add(&s, 5, 1, 'B', 100, "XYZ", 100000);
	add(&s, 5, 2, 'B', 200, "XYZ", 100000);
	add(&s, 5, 3, 'B', 300, "XYZ", 99900);
	add(&s, 5, 4, 'S', 50, "XYZ", 100100);
	add(&s, 5, 5, 'S', 70, "XYZ", 100200);
	CHECK_EQ_INT(apply_all(b, &s, 0, &ev), 0);
	CHECK_EQ_INT(book_locate(b, "XYZ"), 5);
	expect_level(b, 5, BOOK_BID, 0, 100000, 300, 2);
	expect_level(b, 5, BOOK_BID, 1, 99900, 300, 1);
	expect_level(b, 5, BOOK_ASK, 0, 100100, 50, 1);
	expect_level(b, 5, BOOK_ASK, 1, 100200, 70, 1);
	CHECK_EQ_INT(ev.kind, BOOK_EV_ADD);
	CHECK_EQ_INT(ev.top_changed, 0); /* 5 joined the second ask level */
	struct book_top t;
	book_top(b, 5, &t);
	CHECK_EQ_INT(t.bid, 100000);
	CHECK_EQ_INT(t.bid_qty, 300);
	CHECK_EQ_INT(t.ask, 100100);
	CHECK_EQ_INT(t.ask_qty, 50);
	verify(b);

	/* E partial on 1: a trade at the resting price, top changes */
	size_t at = s.n;
	ref_msg(&s, 'E', 5, 1, 40);
	CHECK_EQ_INT(apply_all(b, &s, at, &ev), 0);
	CHECK_EQ_INT(ev.kind, BOOK_EV_EXEC);
	CHECK_EQ_INT(ev.has_trade, 1);
	CHECK_EQ_INT(ev.trade_price, 100000);
	CHECK_EQ_INT(ev.trade_qty, 40);
	CHECK_EQ_INT(ev.trade_side, 'B');
	CHECK_EQ_INT(ev.side, 'B');
	CHECK_EQ_INT(ev.price, 100000);
	CHECK_EQ_INT(ev.delta, -40);
	CHECK_EQ_INT(ev.top_changed, 1);
	CHECK_EQ_INT(ev.removed, 0);
	expect_level(b, 5, BOOK_BID, 0, 100000, 260, 2);
	/* X partial cancel on 2, C of the rest of 1 at another price */
	at = s.n;
	ref_msg(&s, 'X', 5, 2, 150);
	ref_msg(&s, 'C', 5, 1, 60);
	CHECK_EQ_INT(apply_all(b, &s, at, &ev), 0);
	CHECK_EQ_INT(ev.trade_price, 1000000);
	CHECK_EQ_INT(ev.removed, 1);
	expect_level(b, 5, BOOK_BID, 0, 100000, 50, 1);
	uint64_t ahead;
	uint32_t norders;
	/* U moves 3 to the back of the best level, under ref 30 */
	at = s.n;
	replace(&s, 5, 3, 30, 500, 100000);
	CHECK_EQ_INT(apply_all(b, &s, at, &ev), 0);
	CHECK_EQ_INT(ev.kind, BOOK_EV_REPLACE);
	CHECK_EQ_INT(ev.price, 99900);
	CHECK_EQ_INT(ev.delta, -300);
	CHECK_EQ_INT(ev.new_price, 100000);
	CHECK_EQ_INT(ev.new_delta, 500);
	CHECK_EQ_INT(ev.top_changed, 1);
	expect_level(b, 5, BOOK_BID, 0, 100000, 550, 2);
	CHECK_EQ_INT(book_levels(b, 5, BOOK_BID), 1);
	CHECK_EQ_INT(book_queue_ahead(b, 30, &ahead, &norders), 0);
	CHECK_EQ_INT(ahead, 50);
	CHECK_EQ_INT(norders, 1);
	CHECK_EQ_INT(book_queue_ahead(b, 3, &ahead, &norders), -1);
	struct book_order_info oi;
	CHECK_EQ_INT(book_order(b, 30, &oi), 1);
	CHECK_EQ_INT(oi.side, 'B');
	CHECK_EQ_INT(oi.shares, 500);
	/* D removes the only order of the best ask level */
	at = s.n;
	ref_msg(&s, 'D', 5, 4, 0);
	CHECK_EQ_INT(apply_all(b, &s, at, &ev), 0);
	CHECK_EQ_INT(ev.kind, BOOK_EV_DELETE);
	CHECK_EQ_INT(ev.delta, -50);
	CHECK_EQ_INT(ev.top_changed, 1);
	book_top(b, 5, &t);
	CHECK_EQ_INT(t.ask, 100200);
	CHECK_EQ_INT(book_live_orders(b), 3);
	verify(b);

	/* a bid through the ask crosses the book: counted, kept */
	at = s.n;
	add(&s, 5, 6, 'B', 10, "XYZ", 100200);
	add(&s, 5, 7, 'B', 10, "XYZ", 100300);
	CHECK_EQ_INT(apply_all(b, &s, at, &ev), 0);
	struct book_status st;
	book_status(b, 5, &st);
	CHECK_EQ_INT(st.locked, 1);
	CHECK_EQ_INT(st.crossed, 1);
	CHECK_EQ_INT(st.cross_state, 2);
	CHECK_EQ_INT(book_crossed_total(b), 1);
	book_top(b, 5, &t);
	CHECK_EQ_INT(t.bid, 100300);

	/* integrity: unknown, duplicate, over-reduce; the book stays whole */
	at = s.n;
	ref_msg(&s, 'E', 5, 999, 1);
	CHECK_EQ_INT(apply_all(b, &s, at, &ev), ITCH_ERR_UNKNOWN_REF);
	at = s.n;
	add(&s, 5, 6, 'S', 10, "XYZ", 100500);
	CHECK_EQ_INT(apply_all(b, &s, at, &ev), ITCH_ERR_DUP_REF);
	at = s.n;
	replace(&s, 5, 6, 7, 10, 100000);
	CHECK_EQ_INT(apply_all(b, &s, at, &ev), ITCH_ERR_DUP_REF);
	CHECK_EQ_INT(book_order(b, 6, &oi), 1);
	at = s.n;
	ref_msg(&s, 'X', 5, 6, 11);
	CHECK_EQ_INT(apply_all(b, &s, at, &ev), ITCH_ERR_OVER_REDUCE);
	CHECK_EQ_INT(book_order(b, 6, &oi), 0);
	at = s.n;
	ref_msg(&s, 'D', 5, 6, 0);
	CHECK_EQ_INT(apply_all(b, &s, at, &ev), ITCH_ERR_UNKNOWN_REF);
	verify(b);
	book_set_free(b);
}

static void test_trades_and_states_leave_book(void)
{
	static struct stream s;
	s.n = 0;
	struct book_set *b = book_set_new(NULL);
	struct book_event ev;
	add(&s, 3, 1, 'S', 100, "ABC", 50000);
	uint8_t *m = frame(&s, 44); /* P */
	hdr(m, 'P', 3, 0, clock_ns++);
	put(m + 11, 0, 8);
	m[19] = 'B';
	put(m + 20, 33, 4);
	alpha(m + 24, "ABC", 8);
	put(m + 32, 49900, 4);
	put(m + 36, 5, 8);
	CHECK_EQ_INT(apply_all(b, &s, 0, &ev), 0);
	CHECK_EQ_INT(ev.kind, BOOK_EV_TRADE);
	CHECK_EQ_INT(ev.trade_qty, 33);
	CHECK_EQ_INT(ev.trade_price, 49900);
	CHECK_EQ_INT(ev.top_changed, 0);
	size_t at = s.n;
	m = frame(&s, 40); /* Q */
	hdr(m, 'Q', 3, 0, clock_ns++);
	put(m + 11, 1000, 8);
	alpha(m + 19, "ABC", 8);
	put(m + 27, 50000, 4);
	m[39] = 'O';
	m = frame(&s, 19); /* B */
	hdr(m, 'B', 3, 0, clock_ns++);
	m = frame(&s, 25); /* H */
	hdr(m, 'H', 3, 0, clock_ns++);
	alpha(m + 11, "ABC", 8);
	m[19] = 'H';
	m = frame(&s, 20); /* Y */
	hdr(m, 'Y', 3, 0, clock_ns++);
	alpha(m + 11, "ABC", 8);
	m[19] = '1';
	m = frame(&s, 21); /* h */
	hdr(m, 'h', 3, 0, clock_ns++);
	alpha(m + 11, "ABC", 8);
	m[19] = 'X';
	m[20] = 'H';
	m = frame(&s, 12); /* S */
	hdr(m, 'S', 0, 0, clock_ns++);
	m[11] = 'Q';
	m = frame(&s, 39); /* R renames locate 3 */
	hdr(m, 'R', 3, 0, clock_ns++);
	alpha(m + 11, "ABCD", 8);
	CHECK_EQ_INT(apply_all(b, &s, at, &ev), 0);
	CHECK_EQ_INT(ev.kind, BOOK_EV_DIRECTORY);
	struct book_status st;
	book_status(b, 3, &st);
	CHECK_STR(st.name, "ABCD");
	CHECK_EQ_INT(st.trading_state, 'H');
	CHECK_EQ_INT(st.reg_sho, '1');
	CHECK_EQ_INT(st.op_halted, 4);
	CHECK_EQ_INT(book_system_event(b), 'Q');
	CHECK_EQ_INT(book_locate(b, "ABCD"), 3);
	CHECK_EQ_INT(book_locate(b, "ABC"), -1);
	expect_level(b, 3, BOOK_ASK, 0, 50000, 100, 1);
	CHECK_EQ_INT(book_live_orders(b), 1);
	verify(b);
	book_set_free(b);
}

static void test_subscription_filter(void)
{
	static struct stream s;
	s.n = 0;
	struct book_set *b = book_set_new(NULL);
	struct book_event ev;
	book_set_filter(b, 1);
	CHECK_EQ_INT(book_subscribe_name(b, "KEEP"), 0);
	add(&s, 1, 1, 'B', 100, "KEEP", 100);
	add(&s, 2, 2, 'B', 100, "DROP", 100);
	CHECK_EQ_INT(apply_all(b, &s, 0, &ev), 0);
	CHECK_EQ_INT(ev.subscribed, 0);
	CHECK_EQ_INT(ev.kind, BOOK_EV_NONE);
	CHECK_EQ_INT(book_subscribed(b, 1), 1);
	CHECK_EQ_INT(book_subscribed(b, 2), 0);
	CHECK_EQ_INT(book_levels(b, 1, BOOK_BID), 1);
	CHECK_EQ_INT(book_levels(b, 2, BOOK_BID), 0);
	size_t at = s.n;
	ref_msg(&s, 'D', 2, 2, 0); /* not subscribed: no lookup, no error */
	CHECK_EQ_INT(apply_all(b, &s, at, &ev), 0);
	book_subscribe(b, 2, 1);
	CHECK_EQ_INT(book_subscribed(b, 2), 1);
	book_set_free(b);
}

/* Orders live in a direct table by reference and move to an overflow table
 * when they outlive 2^dbits newer references (here 1024: a hint of 16), or
 * when their reference is too large for the table. Both stores must give
 * the same book: lookups, duplicate references, time priority, replaces
 * across them, and growth of the overflow table. */
static void test_book_order_stores(void)
{
	enum { N = 3000 };
	static struct stream s;
	struct book_set *b = book_set_new(&(struct book_config){.orders_hint = 16});
	struct book_event ev;
	char err[256];
	s.n = 0;
	/* N live orders at one price: the first N - 1024 are pushed out of the
	 * direct table by the later ones, past the overflow table's first size */
	for (uint64_t r = 1; r <= N; r++)
		add(&s, 1, r, 'B', (uint32_t)r, "STOR", 100000);
	/* references the direct table cannot name, and reference 0 */
	const uint64_t big[] = {0, 1ull << 60, UINT64_MAX, (uint64_t)UINT32_MAX << 10};
	for (size_t i = 0; i < sizeof big / sizeof *big; i++)
		add(&s, 1, big[i], 'S', 7, "STOR", 200000);
	CHECK_EQ_INT(apply_all(b, &s, 0, NULL), 0);
	CHECK_EQ_INT(book_verify(b, err, sizeof err), 0);
	CHECK_EQ_INT(book_live_orders(b), N + 4);
	expect_level(b, 1, BOOK_BID, 0, 100000, (uint64_t)N * (N + 1) / 2, N);
	expect_level(b, 1, BOOK_ASK, 0, 200000, 28, 4);
	struct book_order_info oi;
	int wrong = 0;
	for (uint64_t r = 1; r <= N; r++)
		wrong += book_order(b, r, &oi) != 1 || oi.shares != r || oi.price != 100000;
	for (size_t i = 0; i < sizeof big / sizeof *big; i++)
		wrong += book_order(b, big[i], &oi) != 1 || oi.shares != 7 || oi.side != 'S';
	CHECK_EQ_INT(wrong, 0);
	CHECK_EQ_INT(book_order(b, N + 1, &oi), 0);
	CHECK_EQ_INT(book_order(b, 1ull << 61, &oi), 0);
	/* time priority runs across the stores: order r has r - 1 ahead */
	uint64_t ahead;
	uint32_t norders;
	CHECK_EQ_INT(book_queue_ahead(b, 1, &ahead, &norders), 0);
	CHECK_EQ_INT(norders, 0);
	CHECK_EQ_INT(book_queue_ahead(b, 2500, &ahead, &norders), 0);
	CHECK_EQ_INT(norders, 2499);
	CHECK_EQ_INT(ahead, 2499ull * 2500 / 2);
	CHECK_EQ_INT(book_queue_ahead(b, UINT64_MAX, &ahead, &norders), 0);
	CHECK_EQ_INT(norders, 2);
	/* a duplicate is refused whichever store holds the live order */
	size_t at = s.n;
	add(&s, 1, 5, 'B', 1, "STOR", 100000);        /* overflow */
	CHECK_EQ_INT(apply_all(b, &s, at, NULL), ITCH_ERR_DUP_REF);
	at = s.n;
	add(&s, 1, N, 'B', 1, "STOR", 100000);        /* direct */
	CHECK_EQ_INT(apply_all(b, &s, at, NULL), ITCH_ERR_DUP_REF);
	at = s.n;
	add(&s, 1, 1ull << 60, 'B', 1, "STOR", 100000); /* too large for a tag */
	CHECK_EQ_INT(apply_all(b, &s, at, NULL), ITCH_ERR_DUP_REF);
	CHECK_EQ_INT(book_live_orders(b), N + 4);
	/* replace an overflow order by a direct one and the reverse; the new
	 * reference goes to the back of its level */
	at = s.n;
	replace(&s, 1, 3, N + 1, 50, 100000);
	replace(&s, 1, N, 1ull << 59, 60, 100000);
	CHECK_EQ_INT(apply_all(b, &s, at, &ev), 0);
	CHECK_EQ_INT(book_order(b, 3, &oi), 0);
	CHECK_EQ_INT(book_order(b, N, &oi), 0);
	CHECK_EQ_INT(book_order(b, N + 1, &oi), 1);
	CHECK_EQ_INT(oi.shares, 50);
	CHECK_EQ_INT(book_queue_ahead(b, 1ull << 59, &ahead, &norders), 0);
	CHECK_EQ_INT(norders, N - 1);
	CHECK_EQ_INT(book_verify(b, err, sizeof err), 0);
	/* delete everything in a scattered order: both stores drain */
	at = s.n;
	for (uint64_t k = 0; k < N + 1; k++) {
		uint64_t r = 1 + (k * 1237) % (N + 1); /* 1237 is prime to N + 1 */
		if (r != 3 && r != N)
			ref_msg(&s, 'D', 1, r, 0);
	}
	ref_msg(&s, 'D', 1, 1ull << 59, 0);
	for (size_t i = 0; i < sizeof big / sizeof *big; i++)
		ref_msg(&s, 'X', 1, big[i], 7);
	CHECK_EQ_INT(apply_all(b, &s, at, NULL), 0);
	CHECK_EQ_INT(book_live_orders(b), 0);
	CHECK_EQ_INT(book_levels(b, 1, BOOK_BID), 0);
	CHECK_EQ_INT(book_levels(b, 1, BOOK_ASK), 0);
	CHECK_EQ_INT(book_verify(b, err, sizeof err), 0);
	CHECK_EQ_INT(book_order(b, 1, &oi), 0);
	/* and the freed slots take new orders */
	at = s.n;
	add(&s, 1, 1, 'S', 9, "STOR", 300000);
	add(&s, 1, 1 + 1024, 'S', 9, "STOR", 300000);
	CHECK_EQ_INT(apply_all(b, &s, at, NULL), 0);
	CHECK_EQ_INT(book_order(b, 1, &oi) + book_order(b, 1025, &oi), 2);
	CHECK_EQ_INT(book_verify(b, err, sizeof err), 0);
	book_set_free(b);
}

/* Random adds, executions, cancels, deletes and replaces against a naive
 * model of per-order state; book_verify checks the structure after each.
 * scatter = 0: increasing references, as NASDAQ gives them; 1: the k-th
 * reference is k times an odd constant, all over the 64-bit range (mostly
 * the overflow table). */
static uint64_t model_ref(uint64_t k, int scatter)
{
	return scatter ? k * 0xD6E8FEB86659FD93ull : k;
}

static void book_against_model(int scatter)
{
	enum { N = 3000 };
	static uint32_t shares[N + 1], price[N + 1];
	static char side[N + 1];
	static struct stream s;
	struct book_set *b = book_set_new(&(struct book_config){.orders_hint = 16});
	uint64_t seed = 12345;
	memset(shares, 0, sizeof shares);
	uint64_t next_ref = 1;
	int failures = 0;
	for (int round = 0; round < 40; round++) {
		s.n = 0;
		for (int k = 0; k < 200; k++) {
			seed = seed * 6364136223846793005ull + 1442695040888963407ull;
			uint32_t r = (uint32_t)(seed >> 33);
			uint64_t ref = 1 + r % (next_ref > 1 ? next_ref - 1 : 1);
			int live = ref < next_ref && shares[ref] > 0;
			if (r % 3 == 0 || !live) {
				if (next_ref > N)
					continue;
				uint64_t nr = next_ref++;
				side[nr] = r & 8 ? 'B' : 'S';
				shares[nr] = 1 + r % 500;
				price[nr] = 10000 + (r >> 8) % 40 * 100;
				add(&s, (uint16_t)(1 + r % 3), model_ref(nr, scatter), side[nr], shares[nr], "R", price[nr]);
			} else if (r % 3 == 1) {
				uint32_t q = 1 + (r >> 4) % shares[ref];
				ref_msg(&s, (r >> 12) & 1 ? 'E' : 'X', 1, model_ref(ref, scatter), q);
				shares[ref] -= q;
			} else if ((r >> 5) & 1) {
				ref_msg(&s, 'D', 1, model_ref(ref, scatter), 0);
				shares[ref] = 0;
			} else if (next_ref <= N) {
				uint64_t nr = next_ref++;
				side[nr] = side[ref];
				shares[nr] = 1 + r % 300;
				price[nr] = 10000 + (r >> 9) % 40 * 100;
				replace(&s, 1, model_ref(ref, scatter), model_ref(nr, scatter), shares[nr], price[nr]);
				shares[ref] = 0;
			}
		}
		failures += apply_all(b, &s, 0, NULL) != 0;
		char err[256];
		failures += book_verify(b, err, sizeof err) != 0;
	}
	CHECK_EQ_INT(failures, 0);
	uint64_t live = 0;
	int mismatch = 0;
	for (uint64_t r = 1; r < next_ref; r++) {
		struct book_order_info oi;
		int in = book_order(b, model_ref(r, scatter), &oi);
		live += shares[r] > 0;
		if (in != (shares[r] > 0) || (in && (oi.shares != shares[r] || oi.price != price[r] ||
						     oi.side != side[r])))
			mismatch++;
	}
	CHECK_EQ_INT(mismatch, 0);
	CHECK_EQ_INT(book_live_orders(b), live);
	CHECK(book_peak_orders(b) >= live);
	book_set_free(b);
}

static void test_book_random_against_model(void)
{
	book_against_model(0);
	book_against_model(1);
}

int main(void)
{
	RUN(test_lengths_of_all_23_types);
	RUN(test_field_accessors_per_type);
	RUN(test_golden_vectors);
	RUN(test_reader_errors_with_offsets);
	RUN(test_reader_files_plain_and_gzip);
	RUN(test_book_rules);
	RUN(test_trades_and_states_leave_book);
	RUN(test_subscription_filter);
	RUN(test_book_order_stores);
	RUN(test_book_random_against_model);
	return check_summary();
}
