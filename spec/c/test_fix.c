/*
 * test_fix — the FIX 4.4 codec: BodyLength and CheckSum as QuickFIX computes
 * them (the Logon of protocols-risk.md: 9=69, 10=147), fields read back,
 * every garbled framing dropped with its reason, bad fields named with the
 * SessionRejectReason a Reject carries, and no read past a truncated buffer.
 */
#include "check.h"
#include "fix.h"

#include <stdlib.h>

/* '|' for SOH, for readable literals */
static size_t soh(char *dst, const char *src)
{
	size_t n = strlen(src);
	for (size_t i = 0; i < n; i++)
		dst[i] = src[i] == '|' ? FIX_SOH : src[i];
	dst[n] = '\0';
	return n;
}

static long logon(char *buf, size_t cap, const char **msg)
{
	struct fix_writer w;
	fix_begin(&w, buf, cap, "A");
	fix_add_str(&w, 49, "HOST");
	fix_add_str(&w, 56, "EXEC");
	fix_add_int(&w, 34, 1);
	fix_add_str(&w, 52, "20261207-03:00:00.000");
	fix_add_int(&w, 98, 0);
	fix_add_int(&w, 108, 30);
	fix_add_char(&w, 141, 'Y');
	return fix_finish(&w, msg);
}

static void test_encode(void)
{
	char buf[512];
	const char *msg;
	long n = logon(buf, sizeof buf, &msg);
	CHECK(n > 0);
	char want[256];
	size_t wn = soh(want, "8=FIX.4.4|9=69|35=A|49=HOST|56=EXEC|34=1|52=20261207-03:00:00.000|"
			      "98=0|108=30|141=Y|10=");
	CHECK(n == (long)wn + 4);
	CHECK(memcmp(msg, want, wn) == 0);
	unsigned sum = 0;
	for (long i = 0; i < n - 7; i++)
		sum += (unsigned char)msg[i];
	char cs[4];
	snprintf(cs, sizeof cs, "%03u", sum & 255);
	CHECK(memcmp(msg + n - 4, cs, 3) == 0);
	/* a Logon whose BodyLength and CheckSum were computed apart (Python) */
	char ref[256];
	size_t rn = soh(ref, "8=FIX.4.4|9=69|35=A|34=1|49=HOST|52=20240101-00:00:00.000|56=EXEC|"
			     "98=0|108=30|141=Y|10=111|");
	size_t used;
	const char *why;
	CHECK_EQ_INT(fix_frame(ref, rn, 4096, &used, &why), FIX_FRAME_OK);
	CHECK_EQ_INT(used, rn);
	/* a buffer too small fails, never overflows */
	char tiny[40];
	CHECK_EQ_INT(logon(tiny, sizeof tiny, &msg), -1);
}

static void test_values(void)
{
	char buf[512];
	struct fix_writer w;
	fix_begin(&w, buf, sizeof buf, "D");
	fix_add_str(&w, 49, "S");
	fix_add_str(&w, 56, "T");
	fix_add_int(&w, 34, 12345);
	fix_add_time(&w, 52, 1765076400123456789LL); /* 2025-12-07T03:00:00.123Z */
	fix_add_price(&w, 44, 187.5);
	fix_add_price(&w, 38, 100);
	fix_add_price(&w, 99, 0.00012345);
	fix_add_price(&w, 6, -2.25);
	fix_add_int(&w, 1000, -42);
	const char *msg;
	long n = fix_finish(&w, &msg);
	CHECK(n > 0);
	struct fix_msg m;
	struct fix_error err;
	CHECK_EQ_INT(fix_parse(msg, (size_t)n, &m, &err), 0);
	CHECK_STR(m.type, "D");
	CHECK_EQ_INT(m.seq, 12345);
	char s[64];
	CHECK_EQ_INT(fix_get_str(&m, 52, s, sizeof s), 0);
	CHECK_STR(s, "20251207-03:00:00.123");
	int64_t ns;
	size_t len;
	const char *t = fix_get(&m, 52, &len);
	CHECK_EQ_INT(fix_parse_time(t, len, &ns), 0);
	CHECK_EQ_INT(ns, 1765076400123000000LL);
	CHECK_EQ_INT(fix_get_str(&m, 44, s, sizeof s), 0);
	CHECK_STR(s, "187.5");
	CHECK_EQ_INT(fix_get_str(&m, 38, s, sizeof s), 0);
	CHECK_STR(s, "100");
	CHECK_EQ_INT(fix_get_str(&m, 99, s, sizeof s), 0);
	CHECK_STR(s, "0.00012345");
	double d;
	CHECK_EQ_INT(fix_get_double(&m, 6, &d), 0);
	CHECK_NEAR(d, -2.25, 0);
	int64_t v;
	CHECK_EQ_INT(fix_get_int(&m, 1000, &v), 0);
	CHECK_EQ_INT(v, -42);
	CHECK_EQ_INT(fix_get_int(&m, 44, &v), -1); /* 187.5 is no int */
	CHECK_EQ_INT(fix_get_int(&m, 777, &v), -1);
	CHECK_EQ_INT(fix_get_char(&m, 35), 'D');
	CHECK(fix_is_admin("A") && fix_is_admin("0") && !fix_is_admin("D") && !fix_is_admin("AE"));
	CHECK_EQ_INT(fix_parse_time("20251207-03:00:00", 17, &ns), 0);
	CHECK_EQ_INT(fix_parse_time("20251307-03:00:00", 17, &ns), -1);
	CHECK_EQ_INT(fix_parse_time("20251207-03:00:00.", 18, &ns), -1);
	CHECK_EQ_INT(fix_parse_time("62021207-03:00:00", 17, &ns), -1); /* found by fuzz_fix */
}

static void test_frame(void)
{
	char buf[512], stream[1024];
	const char *msg, *why;
	long n = logon(buf, sizeof buf, &msg);
	size_t used;
	/* every prefix of a good message asks for more */
	for (long k = 0; k < n; k++) {
		char *cut = malloc((size_t)k + 1); /* exact size: ASan sees any overread */
		memcpy(cut, msg, (size_t)k);
		CHECK_EQ_INT(fix_frame(cut, (size_t)k, 4096, &used, &why), FIX_FRAME_MORE);
		free(cut);
	}
	/* junk before a message is dropped up to it */
	memcpy(stream, "xx8=FIX.4.2", 11);
	memcpy(stream + 11, msg, (size_t)n);
	CHECK_EQ_INT(fix_frame(stream, 11 + (size_t)n, 4096, &used, &why), FIX_FRAME_GARBLED);
	CHECK_EQ_INT(used, 11); /* 8=FIX.4.2 is no FIX 4.4 message either */
	CHECK_STR(why, "bad BeginString");
	memcpy(stream, "x8=FIX.4.", 9);
	CHECK_EQ_INT(fix_frame(stream, 9, 4096, &used, &why), FIX_FRAME_GARBLED);
	CHECK_EQ_INT(used, 1); /* what may be a message's start is kept */
	CHECK_EQ_INT(fix_frame(stream + 11, (size_t)n, 4096, &used, &why), FIX_FRAME_OK);
	/* a bad checksum drops exactly that message */
	memcpy(stream, msg, (size_t)n);
	stream[n - 2] = stream[n - 2] == '9' ? '0' : (char)(stream[n - 2] + 1);
	memcpy(stream + n, msg, (size_t)n);
	CHECK_EQ_INT(fix_frame(stream, 2 * (size_t)n, 4096, &used, &why), FIX_FRAME_GARBLED);
	CHECK_STR(why, "bad CheckSum");
	CHECK_EQ_INT(used, n);
	CHECK_EQ_INT(fix_frame(stream + used, (size_t)n, 4096, &used, &why), FIX_FRAME_OK);
	/* a BodyLength that does not reach 10=: resync on the next 8=FIX */
	memcpy(stream, msg, (size_t)n);
	stream[13] = (char)(stream[13] == '9' ? '1' : stream[13] + 1); /* 9=78 -> 9=79 */
	memcpy(stream + n, msg, (size_t)n);
	CHECK_EQ_INT(fix_frame(stream, 2 * (size_t)n, 4096, &used, &why), FIX_FRAME_GARBLED);
	CHECK_STR(why, "bad BodyLength");
	CHECK_EQ_INT(used, n);
	/* a BodyLength that is no number, or too long for the session */
	char bad[64];
	size_t bn = soh(bad, "8=FIX.4.4|9=x|35=0|10=000|");
	CHECK_EQ_INT(fix_frame(bad, bn, 4096, &used, &why), FIX_FRAME_GARBLED);
	CHECK_STR(why, "bad BodyLength");
	bn = soh(bad, "8=FIX.4.4|9=99999|");
	CHECK_EQ_INT(fix_frame(bad, bn, 4096, &used, &why), FIX_FRAME_GARBLED);
	CHECK_EQ_INT(used, bn);
	bn = soh(bad, "8=FIX.4.4|9=123456789");
	CHECK_EQ_INT(fix_frame(bad, bn, 1 << 30, &used, &why), FIX_FRAME_GARBLED);
}

/* A message framed right whose fields are bad: named for the Reject. */
static void expect_reject(const char *body, int reason, int ref_tag)
{
	char b[512];
	struct fix_writer w;
	fix_begin(&w, b, sizeof b, "0");
	char raw[256];
	size_t rn = soh(raw, body);
	fix_add_raw(&w, raw, rn);
	const char *msg;
	long n = fix_finish(&w, &msg);
	CHECK(n > 0);
	size_t used;
	const char *why;
	CHECK_EQ_INT(fix_frame(msg, (size_t)n, 4096, &used, &why), FIX_FRAME_OK);
	struct fix_msg m;
	struct fix_error err;
	CHECK_EQ_INT(fix_parse(msg, (size_t)n, &m, &err), -1);
	CHECK_EQ_INT(err.reason, reason);
	CHECK_EQ_INT(err.ref_tag, ref_tag);
}

static void test_bad_fields(void)
{
	expect_reject("49=S|56=T|34=x|52=20261207-03:00:00|", FIX_REJ_BAD_FORMAT, 34);
	expect_reject("49=S|56=T|52=20261207-03:00:00|", FIX_REJ_REQUIRED_MISSING, 34);
	expect_reject("49=S|34=2|52=20261207-03:00:00|", FIX_REJ_REQUIRED_MISSING, 56);
	expect_reject("49=S|56=T|34=2|52=yesterday|", FIX_REJ_BAD_FORMAT, 52);
	expect_reject("49=S|56=T|34=2|52=20261207-03:00:00|43=Q|", FIX_REJ_BAD_VALUE, 43);
	expect_reject("49=S|56=T|34=2|52=20261207-03:00:00|112=|", FIX_REJ_NO_VALUE, 112);
	expect_reject("49=S|56=T|34=2|52=20261207-03:00:00|x=1|", FIX_REJ_INVALID_TAG, 0);
	/* a message whose 34 was readable keeps it, for RefSeqNum */
	char b[512];
	struct fix_writer w;
	fix_begin(&w, b, sizeof b, "8");
	char raw[128];
	fix_add_raw(&w, raw, soh(raw, "49=S|56=T|34=7|52=20261207-03:00:00|43=Z|"));
	const char *msg;
	long n = fix_finish(&w, &msg);
	struct fix_msg m;
	struct fix_error err;
	CHECK_EQ_INT(fix_parse(msg, (size_t)n, &m, &err), -1);
	CHECK_EQ_INT(m.seq, 7);
	CHECK_STR(m.type, "8");
}

int main(void)
{
	test_encode();
	test_values();
	test_frame();
	test_bad_fields();
	return check_summary();
}
