/*
 * test_journal — the journal's format and writer: CRC32C against its check
 * value (both implementations), records written and read back, rotation and
 * compressed segments, a torn tail cut (and the sequence going on after
 * it), a damaged middle record and a sequence gap named by offset, fsync
 * policies parsed, payloads that round-trip and short ones refused, a
 * snapshot's ctx.state bytes checked.
 */
#include "check.h"
#include "crc32c.h"
#include "journal.h"
#include "journal_fmt.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmp[256];

static void rm_rf(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char p[1024];
		snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
		unlink(p);
	}
	if (d)
		closedir(d);
	rmdir(dir);
}

static const char *jdir(const char *name)
{
	static char p[512];
	snprintf(p, sizeof p, "%s/%s", tmp, name);
	rm_rf(p);
	return p;
}

static void test_crc(void)
{
	CHECK_EQ_INT(crc32c(0, "123456789", 9), 0xE3069283u);
	CHECK_EQ_INT(crc32c_sw(0, "123456789", 9), 0xE3069283u);
	CHECK_EQ_INT(crc32c(0, "", 0), 0);
	unsigned char b[1000];
	for (int i = 0; i < 1000; i++)
		b[i] = (unsigned char)(i * 7 + 3);
	int same = 1;
	for (size_t n = 0; n < 1000; n += 37)
		same &= crc32c(0, b + 1, n) == crc32c_sw(0, b + 1, n);
	CHECK(same);
	/* continuing a CRC is the CRC of the whole */
	CHECK_EQ_INT(crc32c(crc32c(0, "12345", 5), "6789", 4), 0xE3069283u);
}

static void test_fsync_parse(void)
{
	struct journal_opts o = {0};
	char err[256];
	CHECK_EQ_INT(journal_parse_fsync("always", &o, err, sizeof err), 0);
	CHECK_EQ_INT(o.fsync, JOURNAL_FSYNC_ALWAYS);
	CHECK_EQ_INT(journal_parse_fsync("group:500us", &o, err, sizeof err), 0);
	CHECK_EQ_INT(o.fsync, JOURNAL_FSYNC_GROUP);
	CHECK_EQ_INT(o.group_us, 500);
	CHECK_EQ_INT(journal_parse_fsync("group:2ms", &o, err, sizeof err), 0);
	CHECK_EQ_INT(o.group_us, 2000);
	CHECK_EQ_INT(journal_parse_fsync("off", &o, err, sizeof err), 0);
	CHECK_EQ_INT(o.fsync, JOURNAL_FSYNC_OFF);
	CHECK_EQ_INT(journal_parse_fsync("sometimes", &o, err, sizeof err), -1);
	CHECK(strstr(err, "'sometimes'") != NULL);
	CHECK_EQ_INT(journal_parse_fsync("group:0us", &o, err, sizeof err), -1);
	CHECK_EQ_INT(journal_parse_fsync("group:5s", &o, err, sizeof err), -1);
}

/* n text records "rec i" (type J_OPERATOR). */
static void write_n(const char *dir, const struct journal_opts *o, int n, int from)
{
	char err[512];
	struct journal *j = journal_open(dir, o, err, sizeof err);
	CHECK(j != NULL);
	if (!j) {
		fprintf(stderr, "%s\n", err);
		return;
	}
	struct jbuf b = {0};
	for (int i = 0; i < n; i++) {
		char t[64];
		snprintf(t, sizeof t, "rec %d", from + i);
		jfmt_text(&b, t, "test", "ok");
		struct journal_hdr h = {.type = J_OPERATOR,
					.who = JW_OPERATOR,
					.strat = 0,
					.time = 1000 + i,
					.version = 1,
					.hash = 42};
		journal_append(j, &h, b.p, b.n);
		if (i % 10 == 9)
			CHECK_EQ_INT(journal_commit(j, 1), 0);
	}
	jbuf_free(&b);
	CHECK_EQ_INT(journal_close(j), 0);
}

/* Reads every record: their count, the last text, the reader's result. */
static int read_back(const char *dir, int *count, char *last, size_t lastlen, char *err,
		     size_t errlen, struct journal_reader *keep)
{
	struct journal_reader r;
	*count = 0;
	if (journal_reader_open(&r, dir, err, errlen) != 0)
		return -2;
	struct journal_record rec;
	int rc;
	uint64_t prev = 0;
	int ordered = 1;
	while ((rc = journal_next(&r, &rec, err, errlen)) > 0) {
		union jpayload u;
		if (jfmt_decode(rec.h.type, rec.payload, rec.plen, &u, NULL, 0) == 0)
			snprintf(last, lastlen, "%s", u.text.a);
		ordered &= *count == 0 || rec.h.seq == prev + 1;
		prev = rec.h.seq;
		(*count)++;
	}
	CHECK(ordered);
	if (keep)
		*keep = r;
	else
		journal_reader_close(&r);
	return rc;
}

static void test_roundtrip(void)
{
	const char *d = jdir("rt");
	struct journal_opts o = {.fsync = JOURNAL_FSYNC_ALWAYS};
	write_n(d, &o, 25, 0);
	int n;
	char last[64] = "", err[512];
	CHECK_EQ_INT(read_back(d, &n, last, sizeof last, err, sizeof err, NULL), 0);
	CHECK_EQ_INT(n, 25);
	CHECK_STR(last, "rec 24");
	/* a second writer continues the sequence in a new segment */
	write_n(d, &o, 5, 25);
	CHECK_EQ_INT(read_back(d, &n, last, sizeof last, err, sizeof err, NULL), 0);
	CHECK_EQ_INT(n, 30);
	CHECK_STR(last, "rec 29");
	char p[600];
	snprintf(p, sizeof p, "%s/00000002.gjl", d);
	CHECK(access(p, F_OK) == 0);
}

static void test_group_and_lag(void)
{
	const char *d = jdir("group");
	struct journal_opts o = {.fsync = JOURNAL_FSYNC_GROUP, .group_us = 200};
	char err[512];
	struct journal *j = journal_open(d, &o, err, sizeof err);
	CHECK(j != NULL);
	if (!j)
		return;
	struct journal_hdr h = {.type = J_HALT, .strat = JOURNAL_NO_STRAT};
	journal_append(j, &h, "\0\0\0\0\0\0", 6);
	CHECK_EQ_INT(journal_lag_bytes(j), JOURNAL_HDR + 6); /* buffered, not synced */
	CHECK_EQ_INT(journal_commit(j, 1), 0);
	for (int i = 0; i < 2000 && journal_lag_bytes(j) != 0; i++)
		usleep(1000); /* the sync thread catches up within a period or two */
	CHECK_EQ_INT(journal_lag_bytes(j), 0);
	CHECK_EQ_INT(journal_close(j), 0);
}

static void test_rotation(void)
{
	const char *d = jdir("rot");
	struct journal_opts o = {.fsync = JOURNAL_FSYNC_OFF, .segment_bytes = 1000, .compress = 1};
	write_n(d, &o, 200, 0);
	int n;
	char last[64] = "", err[512];
	CHECK_EQ_INT(read_back(d, &n, last, sizeof last, err, sizeof err, NULL), 0);
	CHECK_EQ_INT(n, 200);
	CHECK_STR(last, "rec 199");
	char p[600];
	snprintf(p, sizeof p, "%s/00000001.gjl.gz", d);
	CHECK(access(p, F_OK) == 0); /* rotated out and compressed */
	snprintf(p, sizeof p, "%s/00000001.gjl", d);
	CHECK(access(p, F_OK) != 0);
	snprintf(p, sizeof p, "%s/00000003.gjl.gz", d);
	CHECK(access(p, F_OK) == 0);
}

static long file_size(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 ? (long)st.st_size : -1;
}

static void test_torn_tail(void)
{
	const char *d = jdir("torn");
	struct journal_opts o = {.fsync = JOURNAL_FSYNC_OFF};
	write_n(d, &o, 10, 0);
	char seg[600];
	snprintf(seg, sizeof seg, "%s/00000001.gjl", d);
	long full = file_size(seg);
	CHECK(truncate(seg, full - 7) == 0); /* the last record loses 7 bytes */
	int n;
	char last[64] = "", err[512];
	struct journal_reader r;
	CHECK_EQ_INT(read_back(d, &n, last, sizeof last, err, sizeof err, &r), 0);
	CHECK_EQ_INT(n, 9);
	CHECK_STR(last, "rec 8");
	CHECK_EQ_INT(r.torn, 1);
	long rec = (full - JOURNAL_SEG_HDR) / 10;
	CHECK_EQ_INT(r.torn_offset, full - rec);
	CHECK_EQ_INT(r.torn_bytes, rec - 7);
	CHECK_STR(r.reason, "a record running past the end of the file");
	journal_reader_close(&r);
	/* a writer cuts it and goes on from sequence 10 */
	write_n(d, &o, 3, 100);
	CHECK_EQ_INT(file_size(seg), full - rec);
	CHECK_EQ_INT(read_back(d, &n, last, sizeof last, err, sizeof err, NULL), 0);
	CHECK_EQ_INT(n, 12);
	CHECK_STR(last, "rec 102");
}

static void flip_byte(const char *path, long at)
{
	int fd = open(path, O_RDWR);
	unsigned char c;
	CHECK(pread(fd, &c, 1, at) == 1);
	c ^= 0x40;
	CHECK(pwrite(fd, &c, 1, at) == 1);
	close(fd);
}

static void test_bad_crc(void)
{
	const char *d = jdir("crc");
	struct journal_opts o = {.fsync = JOURNAL_FSYNC_OFF};
	write_n(d, &o, 10, 0);
	char seg[600];
	snprintf(seg, sizeof seg, "%s/00000001.gjl", d);
	long rec = (file_size(seg) - JOURNAL_SEG_HDR) / 10;
	long third = JOURNAL_SEG_HDR + 2 * rec;
	flip_byte(seg, third + JOURNAL_HDR + 3); /* a payload byte of the third record */
	int n;
	char last[64] = "", err[512];
	CHECK_EQ_INT(read_back(d, &n, last, sizeof last, err, sizeof err, NULL), -1);
	CHECK_EQ_INT(n, 2);
	char want[128];
	snprintf(want, sizeof want,
		 "00000001.gjl: damaged record at offset %ld: its CRC does not match", third);
	CHECK(strstr(err, want) != NULL);
	/* the writer refuses to append to a damaged journal */
	struct journal *j = journal_open(d, &o, err, sizeof err);
	CHECK(j == NULL);
	CHECK(strstr(err, want) != NULL);
	/* the last record damaged where it ends the file: a torn tail */
	const char *d2 = jdir("crc2");
	write_n(d2, &o, 4, 0);
	snprintf(seg, sizeof seg, "%s/00000001.gjl", d2);
	flip_byte(seg, file_size(seg) - 1);
	struct journal_reader r;
	CHECK_EQ_INT(read_back(d2, &n, last, sizeof last, err, sizeof err, &r), 0);
	CHECK_EQ_INT(n, 3);
	CHECK_EQ_INT(r.torn, 1);
	CHECK_STR(r.reason, "a record whose CRC does not match");
	journal_reader_close(&r);
}

static void test_gap_and_header(void)
{
	char d[512], d2[512], d3[512];
	snprintf(d, sizeof d, "%s", jdir("gap"));
	snprintf(d2, sizeof d2, "%s", jdir("gap2"));
	snprintf(d3, sizeof d3, "%s", jdir("hdr"));
	struct journal_opts o = {.fsync = JOURNAL_FSYNC_OFF};
	write_n(d, &o, 3, 0);
	write_n(d, &o, 3, 3);
	/* a middle segment goes missing: the sequence jumps */
	mkdir(d2, 0700);
	char a[600], b[600];
	snprintf(a, sizeof a, "%s/00000002.gjl", d);
	snprintf(b, sizeof b, "%s/00000001.gjl", d2);
	CHECK(rename(a, b) == 0);
	rm_rf(d);
	write_n(d, &o, 2, 0);
	snprintf(a, sizeof a, "%s/00000001.gjl", d);
	snprintf(b, sizeof b, "%s/00000005.gjl", d2);
	CHECK(rename(a, b) == 0);
	int n;
	char last[64], err[512];
	CHECK_EQ_INT(read_back(d2, &n, last, sizeof last, err, sizeof err, NULL), -1);
	CHECK(strstr(err, "00000005.gjl: sequence gap at offset 16: expected 7, found 1") != NULL);
	/* not a journal segment */
	mkdir(d3, 0700);
	snprintf(a, sizeof a, "%s/00000001.gjl", d3);
	FILE *f = fopen(a, "w");
	fputs("hello, this is not a journal at all\n", f);
	fclose(f);
	CHECK_EQ_INT(read_back(d3, &n, last, sizeof last, err, sizeof err, NULL), -1);
	CHECK(strstr(err, "offset 0: not a gantry journal segment") != NULL);
	rm_rf(d2);
	rm_rf(d3);
}

static void test_payloads(void)
{
	struct jbuf b = {0};
	struct jorder o = {.id = 7,
			   .oco = 9,
			   .created = 5,
			   .updated = 6,
			   .sym = 3,
			   .side = 255,
			   .type = 1,
			   .status = 2,
			   .qty = 100,
			   .filled = 40,
			   .price = 187.5,
			   .avg_price = 187.25,
			   .fees = 0.5};
	snprintf(o.symbol, sizeof o.symbol, "AAPL");
	snprintf(o.reason, sizeof o.reason, "max_position");
	jfmt_order(&b, &o);
	union jpayload u;
	char err[256];
	CHECK_EQ_INT(jfmt_decode(J_ACKNOWLEDGED, b.p, b.n, &u, err, sizeof err), 0);
	CHECK_EQ_INT(u.order.id, 7);
	CHECK_EQ_INT(u.order.oco, 9);
	CHECK_EQ_INT(u.order.side, 255);
	CHECK_NEAR(u.order.price, 187.5, 0);
	CHECK_NEAR(u.order.filled, 40, 0);
	CHECK_STR(u.order.symbol, "AAPL");
	CHECK_STR(u.order.reason, "max_position");
	/* every shorter payload is refused, none read past its end */
	int refused = 0;
	for (size_t n = 0; n < b.n; n++)
		refused += jfmt_decode(J_ACKNOWLEDGED, b.p, n, &u, err, sizeof err) == -1;
	CHECK_EQ_INT(refused, (long long)b.n);
	CHECK(strstr(err, "acknowledged record: payload of") != NULL);
	struct jsnapshot s = {.feed_pos = 12,
			      .peak_equity = 1e5,
			      .state = 1,
			      .blob = (const unsigned char *)"abc",
			      .bloblen = 3};
	jfmt_snapshot(&b, &s);
	CHECK_EQ_INT(jfmt_decode(J_SNAPSHOT, b.p, b.n, &u, err, sizeof err), 0);
	CHECK_EQ_INT(u.snap.bloblen, 3);
	CHECK(u.snap.blob && memcmp(u.snap.blob, "abc", 3) == 0);
	CHECK_EQ_INT(jfmt_decode(J_SNAPSHOT, b.p, b.n - 1, &u, err, sizeof err), -1);
	CHECK_EQ_INT(jfmt_decode(200, b.p, b.n, &u, err, sizeof err), -1);
	CHECK_STR(err, "unknown record type 200");
	jbuf_free(&b);
}

static void test_state_bytes(void)
{
	/* { "a" = 7, "t" = { true = "x" } } */
	static const unsigned char ok[] = {'{', 'S', 1, 0, 0, 0, 'a', 'I', 7, 0, 0, 0, 0, 0, 0, 0,
					   'S', 1, 0, 0, 0, 't', '{', 'T', 'S', 1, 0, 0, 0, 'x',
					   '}', '}'};
	char err[128];
	CHECK_EQ_INT(jfmt_state_check(ok, sizeof ok, err, sizeof err), 0);
	int refused = 0;
	for (size_t n = 0; n < sizeof ok; n++)
		refused += jfmt_state_check(ok, n, err, sizeof err) == -1;
	CHECK_EQ_INT(refused, (long long)sizeof ok);
	CHECK(strstr(err, "the snapshot's ctx.state is damaged near byte") != NULL);
	unsigned char bad[sizeof ok + 1];
	memcpy(bad, ok, sizeof ok);
	bad[sizeof ok] = 'T'; /* a byte after the value */
	CHECK_EQ_INT(jfmt_state_check(bad, sizeof bad, err, sizeof err), -1);
	static const unsigned char key_table[] = {'{', '{', '}', 'T', '}'};
	CHECK_EQ_INT(jfmt_state_check(key_table, sizeof key_table, err, sizeof err), -1);
	static const unsigned char not_table[] = {'T'};
	CHECK_EQ_INT(jfmt_state_check(not_table, 1, err, sizeof err), -1);
	static const unsigned char huge_len[] = {'{', 'S', 0xff, 0xff, 0xff, 0xff, 'a', '}'};
	CHECK_EQ_INT(jfmt_state_check(huge_len, sizeof huge_len, err, sizeof err), -1);
	unsigned char deep[200];
	size_t k = 0;
	for (int i = 0; i < 66; i++) { /* {T{T{T...: nested as values */
		deep[k++] = '{';
		deep[k++] = 'T';
	}
	deep[k++] = '{';
	for (int i = 0; i < 67; i++)
		deep[k++] = '}';
	CHECK_EQ_INT(jfmt_state_check(deep, k, err, sizeof err), -1);
}

int main(void)
{
	snprintf(tmp, sizeof tmp, "%s/gantry-journal-XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(tmp))
		return 1;
	RUN(test_crc);
	RUN(test_fsync_parse);
	RUN(test_roundtrip);
	RUN(test_group_and_lag);
	RUN(test_rotation);
	RUN(test_torn_tail);
	RUN(test_bad_crc);
	RUN(test_gap_and_header);
	RUN(test_payloads);
	RUN(test_state_bytes);
	const char *dirs[] = {"rt", "group", "rot", "torn", "crc", "crc2", "gap"};
	for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++)
		rm_rf(jdir(dirs[i]));
	rmdir(tmp);
	return check_summary();
}
