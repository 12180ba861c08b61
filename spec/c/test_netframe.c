/*
 * test_netframe — SoupBinTCP 3.0 and MoldUDP64 framing (host/market/netframe.c):
 * the layouts of protocols-risk.md section 1, every malformed shape refused
 * within the bytes given, and the real MoldUDP64 packets of the reference
 * data (spec/fixtures/moldudp64) decoded and sequenced: their blocks are the
 * 227 messages of itch50-real.itch, in order, each with the session and
 * sequence number itch50-real.jsonl gives it.
 */
#include "check.h"
#include "itch.h"
#include "netframe.h"

#include <stdlib.h>

static void test_soup_packets(void)
{
	uint8_t buf[64];
	struct soup_packet pk;
	CHECK_EQ_INT(soup_build(buf, sizeof buf, 'R', NULL, 0), 3);
	CHECK(buf[0] == 0 && buf[1] == 1 && buf[2] == 'R'); /* the heartbeat 000152 */
	CHECK_EQ_INT(soup_parse(buf, 3, &pk), 3);
	CHECK(pk.type == 'R' && pk.len == 0);
	CHECK_EQ_INT(soup_parse(buf, 2, &pk), 0); /* needs more */
	CHECK_EQ_INT(soup_parse(buf, 1, &pk), 0);
	uint8_t zero[3] = {0, 0, 'S'};
	CHECK_EQ_INT(soup_parse(zero, 3, &pk), -1);
	uint8_t payload[4] = {1, 2, 3, 4};
	CHECK_EQ_INT(soup_build(buf, sizeof buf, 'S', payload, 4), 7);
	CHECK_EQ_INT(soup_parse(buf, 6, &pk), 0); /* one byte short */
	CHECK_EQ_INT(soup_parse(buf, 7, &pk), 7);
	CHECK(pk.type == 'S' && pk.len == 4 && pk.payload == buf + 3 && pk.payload[3] == 4);
	CHECK_EQ_INT(soup_build(buf, 5, 'S', payload, 4), 0); /* does not fit */
}

static void test_soup_login(void)
{
	uint8_t l[SOUP_LOGIN_LEN];
	CHECK_EQ_INT(soup_login_request(l, "gantry", "secret", "", 12), 0);
	/* wire 49 bytes, 002f4c...: length 47, 'L' */
	CHECK(l[0] == 0x00 && l[1] == 0x2f && l[2] == 0x4c);
	CHECK(memcmp(l + 3, "gantrysecret    ", 16) == 0);
	CHECK(memcmp(l + 29, "                  12", 20) == 0);
	struct soup_packet pk;
	struct soup_login lg;
	CHECK_EQ_INT(soup_parse(l, sizeof l, &pk), 49);
	CHECK_EQ_INT(soup_login_parse(&pk, &lg), 0);
	CHECK(!strcmp(lg.user, "gantry") && !strcmp(lg.pass, "secret") && lg.session[0] == 0);
	CHECK_EQ_INT(lg.seq, 12);
	CHECK_EQ_INT(soup_login_request(l, "toolonguser", "p", "", 1), -1);
	CHECK_EQ_INT(soup_login_request(l, "u", "a password too long", "", 1), -1);

	uint8_t acc[3 + SOUP_ACCEPTED_PAYLOAD];
	uint8_t body[SOUP_ACCEPTED_PAYLOAD];
	soup_accepted_build(body, "000010059B", 383265);
	CHECK_EQ_INT(soup_build(acc, sizeof acc, 'A', body, sizeof body), 33); /* wire 33 B */
	char session[11];
	uint64_t seq = 0;
	CHECK_EQ_INT(soup_parse(acc, sizeof acc, &pk), 33);
	CHECK_EQ_INT(soup_accepted_parse(&pk, session, &seq), 0);
	CHECK(!strcmp(session, "000010059B"));
	CHECK_EQ_INT(seq, 383265);
	body[29] = 'x'; /* not a number */
	soup_build(acc, sizeof acc, 'A', body, sizeof body);
	soup_parse(acc, sizeof acc, &pk);
	CHECK_EQ_INT(soup_accepted_parse(&pk, session, &seq), -1);
	pk.len = 29; /* short */
	CHECK_EQ_INT(soup_accepted_parse(&pk, session, &seq), -1);
}

static void test_mold_shapes(void)
{
	uint8_t p[64];
	struct mold_header h;
	size_t bad = 0;
	mold_header_build(p, "SESSION1", 383265, MOLD_HEARTBEAT);
	CHECK_EQ_INT(mold_parse(p, 20, &h, &bad), 0);
	CHECK(!memcmp(h.session, "SESSION1  ", 10) && h.seq == 383265 && h.count == 0);
	CHECK_EQ_INT(mold_parse(p, 19, &h, &bad), -1);
	mold_header_build(p, "S", 7, MOLD_END);
	CHECK_EQ_INT(mold_parse(p, 20, &h, &bad), 0);
	CHECK_EQ_INT(h.count, 0xFFFF);
	/* two blocks: 3 bytes and 2 bytes */
	mold_header_build(p, "S", 10, 2);
	uint8_t blocks[] = {0, 3, 'a', 'b', 'c', 0, 2, 'd', 'e'};
	memcpy(p + 20, blocks, sizeof blocks);
	CHECK_EQ_INT(mold_parse(p, 20 + sizeof blocks, &h, &bad), 0);
	struct mold_iter it;
	const uint8_t *m;
	size_t n;
	mold_iter_init(&it, p, 20 + sizeof blocks, &h);
	CHECK(mold_iter_next(&it, &m, &n) == 1 && n == 3 && m[0] == 'a');
	CHECK(mold_iter_next(&it, &m, &n) == 1 && n == 2 && m[1] == 'e');
	CHECK_EQ_INT(mold_iter_next(&it, &m, &n), 0);
	CHECK_EQ_INT(mold_parse(p, 20 + sizeof blocks - 1, &h, &bad), -2); /* the last block cut */
	CHECK_EQ_INT(bad, 25);
	p[20 + 5 + 1] = 0; /* a block of length 0 */
	CHECK_EQ_INT(mold_parse(p, 20 + sizeof blocks, &h, &bad), -2);
	mold_header_build(p, "S", 10, 3); /* a count beyond the blocks */
	p[26] = 2;
	CHECK_EQ_INT(mold_parse(p, 20 + sizeof blocks, &h, &bad), -2);
	uint8_t req[MOLD_REQUEST_LEN];
	mold_request_build(req, "000010059B", 99, 12);
	CHECK_EQ_INT(mold_request_parse(req, sizeof req, &h), 0);
	CHECK(h.seq == 99 && h.count == 12);
	CHECK_EQ_INT(mold_request_parse(req, 19, &h), -1);
}

static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	uint8_t *b = malloc((size_t)n + 1);
	if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
		free(b);
		b = NULL;
	}
	fclose(f);
	*len = (size_t)n;
	return b;
}

/* The "seq" of the mold object of one jsonl line. */
static long long jsonl_seq(const char *line)
{
	const char *m = strstr(line, "\"mold\"");
	const char *s = m ? strstr(m, "\"seq\": ") : NULL;
	return s ? atoll(s + 7) : -1;
}

static void test_real_packets(void)
{
	size_t flen = 0, jlen = 0;
	uint8_t *file = slurp(GANTRY_ROOT "/spec/fixtures/itch50-real.itch", &flen);
	uint8_t *jsonl = slurp(GANTRY_ROOT "/spec/fixtures/itch50-real.jsonl", &jlen);
	CHECK(file != NULL && jsonl != NULL);
	if (!file || !jsonl)
		return;
	jsonl[jlen] = 0;
	size_t fpos = 0, messages = 0, packets = 0, mismatches = 0, bad_seq = 0;
	const char *line = (const char *)jsonl;
	for (int i = 0; i < 1000; i++) {
		char path[512];
		snprintf(path, sizeof path, GANTRY_ROOT "/spec/fixtures/moldudp64/%03d.bin", i);
		size_t len;
		uint8_t *p = slurp(path, &len);
		if (!p)
			break;
		packets++;
		struct mold_header h;
		size_t bad;
		CHECK_EQ_INT(mold_parse(p, len, &h, &bad), 0);
		struct mold_iter it;
		mold_iter_init(&it, p, len, &h);
		const uint8_t *m;
		size_t n;
		uint64_t seq = h.seq;
		while (mold_iter_next(&it, &m, &n)) {
			struct itch_msg im;
			if (itch_decode(m, n, &im) != ITCH_OK)
				mismatches++;
			/* the same message, framed, in the file */
			if (fpos + 2 + n > flen ||
			    ((size_t)file[fpos] << 8 | file[fpos + 1]) != n ||
			    memcmp(file + fpos + 2, m, n) != 0)
				mismatches++;
			fpos += 2 + n;
			if (jsonl_seq(line) != (long long)seq)
				bad_seq++;
			seq++;
			const char *nl = strchr(line, '\n');
			line = nl ? nl + 1 : line + strlen(line);
			messages++;
		}
		free(p);
	}
	CHECK_EQ_INT(packets, 190);
	CHECK_EQ_INT(messages, 227);
	CHECK_EQ_INT(mismatches, 0);
	CHECK_EQ_INT(bad_seq, 0);
	CHECK_EQ_INT(fpos, flen);
	free(file);
	free(jsonl);
}

int main(void)
{
	test_soup_packets();
	test_soup_login();
	test_mold_shapes();
	test_real_packets();
	return check_summary();
}
