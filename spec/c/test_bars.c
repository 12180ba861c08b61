/*
 * test_bars — the CSV bar reader on small files in a temporary directory:
 * the header (order, case, aliases, unknown columns, symbol column), every
 * datetime form, line endings, the default symbol, every error with its exact
 * text, bars_parse_number, and the merge of several files by time.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bars.h"
#include "check.h"
#include "symtab.h"

#define S(x) ((int64_t)(x) * 1000000000LL)
#define D2 S(1704153600) /* 2024-01-02 */
#define D3 S(1704240000) /* 2024-01-03 */
#define D4 S(1704326400) /* 2024-01-04 */
#define HDR "datetime,open,high,low,close,volume\n"

static char tmpdir[512];
static char created[64][600];
static int ncreated;

/* Writes content to tmpdir/name; returns the path (kept until cleanup). */
static const char *write_file(const char *name, const char *content)
{
	char *path = created[ncreated < 63 ? ncreated++ : 63];
	snprintf(path, sizeof created[0], "%s/%s", tmpdir, name);
	FILE *f = fopen(path, "wb");
	if (!f) {
		fprintf(stderr, "cannot write %s: %s\n", path, strerror(errno));
		return path;
	}
	fwrite(content, 1, strlen(content), f);
	fclose(f);
	return path;
}

static void cleanup(void)
{
	for (int i = 0; i < ncreated; i++)
		unlink(created[i]);
	char sub[600];
	snprintf(sub, sizeof sub, "%s/adir.csv", tmpdir);
	rmdir(sub);
	rmdir(tmpdir);
}

struct readout {
	struct bar b[16];
	int n;
	int rc; /* 0 all read, -1 an error (from open or next) */
	int open_failed;
	char err[512];
};

/* Opens path and reads every bar (at most 16). */
static void read_path(const char *path, struct symtab *st, const char *def, struct readout *r)
{
	struct bars_file bf;
	memset(r, 0, sizeof *r);
	if (bars_open(&bf, path, st, def, r->err, sizeof r->err) != 0) {
		r->rc = -1;
		r->open_failed = 1;
		return;
	}
	for (;;) {
		struct bar b;
		int k = bars_next(&bf, &b, r->err, sizeof r->err);
		if (k < 0) {
			r->rc = -1;
			break;
		}
		if (k == 0)
			break;
		if (r->n < 16)
			r->b[r->n++] = b;
	}
	bars_close(&bf);
}

/* Writes name with content, reads it with a fresh symbol table. */
static void read_csv(const char *name, const char *content, const char *def, struct readout *r,
		     struct symtab **st_out)
{
	struct symtab *st = symtab_new();
	read_path(write_file(name, content), st, def, r);
	if (st_out)
		*st_out = st;
	else
		symtab_free(st);
}

/* The error text for a file X.csv with content: "<path><suffix>" is expected. */
static int error_is(const char *content, const char *suffix)
{
	struct readout r;
	read_csv("X.csv", content, NULL, &r, NULL);
	char want[1024];
	snprintf(want, sizeof want, "%s/X.csv%s", tmpdir, suffix);
	if (r.rc == 0 || strcmp(r.err, want) != 0) {
		fprintf(stderr, "  want: %s\n  got:  %s (rc %d)\n", want, r.err, r.rc);
		return 0;
	}
	return 1;
}

static const char *sym_of(struct symtab *st, const struct bar *b)
{
	return symtab_name(st, b->sym);
}

/* ---------------------------------------------------------------- reading */

static void test_basic_file(void)
{
	struct readout r;
	struct symtab *st;
	read_csv("AAPL.csv",
		 HDR "2024-01-02,10,11,9,10.5,1000\n"
		     "2024-01-03,10.5,12,10,11.25,2000\n"
		     "2024-01-04,11,11.5,10.75,11,0\n",
		 NULL, &r, &st);
	CHECK_EQ_INT(r.rc, 0);
	CHECK_EQ_INT(r.n, 3);
	CHECK_EQ_INT(r.b[0].time, D2);
	CHECK_EQ_INT(r.b[1].time, D3);
	CHECK_EQ_INT(r.b[2].time, D4);
	CHECK_NEAR(r.b[0].open, 10, 0);
	CHECK_NEAR(r.b[0].high, 11, 0);
	CHECK_NEAR(r.b[0].low, 9, 0);
	CHECK_NEAR(r.b[0].close, 10.5, 0);
	CHECK_NEAR(r.b[0].volume, 1000, 0);
	CHECK_NEAR(r.b[1].close, 11.25, 0);
	CHECK_NEAR(r.b[2].volume, 0, 0); /* zero volume is fine */
	CHECK_STR(sym_of(st, &r.b[0]), "AAPL");
	CHECK(r.b[0].sym == r.b[2].sym);
	CHECK_EQ_INT(symtab_count(st), 1);
	symtab_free(st);
}

static void test_header_order_case_alias_unknown(void)
{
	struct readout r;
	struct symtab *st;
	read_csv("msft.daily.csv",
		 "Volume,CLOSE,adj_close,Date,low,High,OPEN,note\n"
		 "500,20.5,99,2024-01-02,19,21,20,hello\n"
		 "600,21,98,2024-01-03,20,22,21.5,world\n",
		 NULL, &r, &st);
	CHECK_EQ_INT(r.rc, 0);
	CHECK_EQ_INT(r.n, 2);
	CHECK_EQ_INT(r.b[0].time, D2);
	CHECK_NEAR(r.b[0].open, 20, 0);
	CHECK_NEAR(r.b[0].high, 21, 0);
	CHECK_NEAR(r.b[0].low, 19, 0);
	CHECK_NEAR(r.b[0].close, 20.5, 0);
	CHECK_NEAR(r.b[0].volume, 500, 0);
	CHECK_NEAR(r.b[1].open, 21.5, 0);
	/* the base name stops at the first dot */
	CHECK_STR(sym_of(st, &r.b[0]), "msft");
	symtab_free(st);

	/* DateTime in mixed case, and `timestamp` */
	read_csv("Y.csv", "DateTime,Open,High,Low,Close,Volume\n2024-01-02,1,1,1,1,1\n", NULL, &r,
		 NULL);
	CHECK_EQ_INT(r.rc, 0);
	CHECK_EQ_INT(r.b[0].time, D2);
	read_csv("Y.csv", "timestamp,open,high,low,close,volume\n2024-01-03,1,1,1,1,1\n", NULL, &r,
		 NULL);
	CHECK_EQ_INT(r.rc, 0);
	CHECK_EQ_INT(r.b[0].time, D3);
}

static void test_default_symbol(void)
{
	struct readout r;
	struct symtab *st;
	read_csv("IBM.csv", HDR "2024-01-02,1,1,1,1,1\n", "SPY", &r, &st);
	CHECK_EQ_INT(r.rc, 0);
	CHECK_STR(sym_of(st, &r.b[0]), "SPY");
	CHECK_EQ_INT(symtab_find(st, "IBM", 3), -1);
	symtab_free(st);

	/* an id already in the table is reused */
	st = symtab_new();
	int spy = symtab_intern(st, "QQQ", 3);
	read_path(write_file("Z.csv", HDR "2024-01-02,1,1,1,1,1\n"), st, "QQQ", &r);
	CHECK_EQ_INT(r.b[0].sym, spy);
	symtab_free(st);
}

static void test_symbol_column(void)
{
	struct readout r;
	struct symtab *st;
	read_csv("multi.csv",
		 "symbol,datetime,open,high,low,close,volume\n"
		 "AAPL,2024-01-02,10,11,9,10,1\n"
		 "MSFT,2024-01-02,20,21,19,20,1\n"
		 "AAPL,2024-01-03,10,11,9,10,1\n"
		 "MSFT,2024-01-03,20,21,19,20,1\n",
		 "IGNORED", &r, &st);
	CHECK_EQ_INT(r.rc, 0);
	CHECK_EQ_INT(r.n, 4);
	CHECK_STR(sym_of(st, &r.b[0]), "AAPL");
	CHECK_STR(sym_of(st, &r.b[1]), "MSFT");
	CHECK_STR(sym_of(st, &r.b[2]), "AAPL");
	CHECK(r.b[0].sym == r.b[2].sym && r.b[0].sym != r.b[1].sym);
	CHECK_EQ_INT(r.b[1].time, D2); /* the same time for two symbols is fine */
	CHECK_EQ_INT(symtab_count(st), 2); /* no default symbol was interned */
	CHECK_EQ_INT(symtab_find(st, "multi", 5), -1);
	CHECK_EQ_INT(symtab_find(st, "IGNORED", 7), -1);
	symtab_free(st);
}

static void test_datetime_forms(void)
{
	struct readout r;
	read_csv("T.csv",
		 HDR "2024-01-02,1,1,1,1,1\n"
		     "2024-01-02 09:30:00,1,1,1,1,1\n"
		     "2024-01-02T09:30:01,1,1,1,1,1\n"
		     "2024-01-02T09:30:01.5,1,1,1,1,1\n"
		     "2024-01-02T09:30:02Z,1,1,1,1,1\n"
		     "2024-01-02 09:30:02.000250Z,1,1,1,1,1\n"
		     "2024-01-02T09:30:02.123456789,1,1,1,1,1\n"
		     "2024-01-03Z,1,1,1,1,1\n",
		 NULL, &r, NULL);
	CHECK_EQ_INT(r.rc, 0);
	CHECK_EQ_INT(r.n, 8);
	int64_t open = S(1704187800); /* 2024-01-02 09:30:00 UTC */
	CHECK_EQ_INT(r.b[0].time, D2);
	CHECK_EQ_INT(r.b[1].time, open);
	CHECK_EQ_INT(r.b[2].time, open + S(1));
	CHECK_EQ_INT(r.b[3].time, open + S(1) + 500000000);
	CHECK_EQ_INT(r.b[4].time, open + S(2));
	CHECK_EQ_INT(r.b[5].time, open + S(2) + 250000);
	CHECK_EQ_INT(r.b[6].time, open + S(2) + 123456789);
	CHECK_EQ_INT(r.b[7].time, D3);
}

static void test_crlf_blank_lines_quotes(void)
{
	struct readout r;
	read_csv("C.csv",
		 "datetime,open,high,low,close,volume\r\n"
		 "\r\n"
		 "2024-01-02,1,2,1,2,10\r\n"
		 "\n"
		 "\r\n"
		 "2024-01-03,2,3,2,3,20\r\n"
		 "\r\n",
		 NULL, &r, NULL);
	CHECK_EQ_INT(r.rc, 0);
	CHECK_EQ_INT(r.n, 2);
	CHECK_NEAR(r.b[0].volume, 10, 0); /* no \r left on the last field */
	CHECK_NEAR(r.b[1].volume, 20, 0);
	CHECK_EQ_INT(r.b[1].time, D3);

	/* no newline at the end of the last row */
	read_csv("C.csv", HDR "2024-01-02,1,2,1,2,10\n2024-01-03,2,3,2,3,30", NULL, &r, NULL);
	CHECK_EQ_INT(r.rc, 0);
	CHECK_EQ_INT(r.n, 2);
	CHECK_NEAR(r.b[1].volume, 30, 0);

	/* quoted fields and spaces around them */
	read_csv("C.csv",
		 "\"datetime\", \"open\",high,low,close,volume\n"
		 "\"2024-01-02 09:30:00\", 1.5 ,\"2\",1,2, 7\n",
		 NULL, &r, NULL);
	CHECK_EQ_INT(r.rc, 0);
	CHECK_EQ_INT(r.b[0].time, S(1704187800));
	CHECK_NEAR(r.b[0].open, 1.5, 0);
	CHECK_NEAR(r.b[0].high, 2, 0);
	CHECK_NEAR(r.b[0].volume, 7, 0);

	/* line numbers count blank lines and CRLF lines */
	CHECK(error_is("datetime,open,high,low,close,volume\r\n\r\n2024-01-02,1,2,1,2,1\r\n\r\n"
		       "2024-01-03,1,2,1,2\r\n",
		       ":5: expected 6 fields, got 5"));
}

/* ---------------------------------------------------------------- errors */

static void test_header_errors(void)
{
	CHECK(error_is("", ": empty file (expected a header line "
			   "datetime,open,high,low,close,volume)"));
	CHECK(error_is("\n\r\n\n", ": empty file (expected a header line "
				   "datetime,open,high,low,close,volume)"));
	CHECK(error_is("2024-01-02,1,2,1,2,1\n",
		       ":1: missing header: expected datetime,open,high,low,close,volume "
		       "(and optionally symbol)"));
	CHECK(error_is("datetime,open,high,low,close\n2024-01-02,1,2,1,2\n",
		       ":1: header has no 'volume' column (expected "
		       "datetime,open,high,low,close,volume)"));
	CHECK(error_is("open,high,low,close,volume\n",
		       ":1: header has no 'datetime' column (expected "
		       "datetime,open,high,low,close,volume)"));
	CHECK(error_is("datetime,open,high,close,volume,sym\n",
		       ":1: header has no 'low' column (expected "
		       "datetime,open,high,low,close,volume)"));
	CHECK(error_is("date,datetime,open,high,low,close,volume\n",
		       ":1: column 'datetime' appears twice"));
	CHECK(error_is("datetime,open,high,low,close,volume,Open\n",
		       ":1: column 'open' appears twice"));
	/* the header's line number after blank lines */
	CHECK(error_is("\n\ndatetime,open,high,low,close\n",
		       ":3: header has no 'volume' column (expected "
		       "datetime,open,high,low,close,volume)"));
	/* a header alone: the reader opens, the first read says why */
	CHECK(error_is(HDR, ": no bars after the header"));
	CHECK(error_is(HDR "\n\r\n", ": no bars after the header"));
}

static void test_row_errors(void)
{
	CHECK(error_is(HDR "2024-01-02,1,2,1,2,1\n2024-01-03,1,2,1,2\n",
		       ":3: expected 6 fields, got 5"));
	CHECK(error_is(HDR "2024-01-02,1,2,1,2,1,9\n", ":2: expected 6 fields, got 7"));
	CHECK(error_is(HDR "2024-01-02,1,abc,1,2,1\n", ":2: bad number 'abc' in column 'high'"));
	CHECK(error_is(HDR "2024-01-02,1,2,1,2,\n", ":2: bad number '' in column 'volume'"));
	CHECK(error_is(HDR "2024-01-02,1.2.3,2,1,2,1\n",
		       ":2: bad number '1.2.3' in column 'open'"));
	CHECK(error_is(HDR "2024-01-02,1,2,1,1e999,1\n",
		       ":2: bad number '1e999' in column 'close'"));
	CHECK(error_is(HDR "2024-13-01,1,2,1,2,1\n",
		       ":2: bad datetime '2024-13-01' (expected YYYY-MM-DD, "
		       "YYYY-MM-DD HH:MM:SS or YYYY-MM-DDTHH:MM:SS, UTC)"));
	CHECK(error_is(HDR "2024-02-30,1,2,1,2,1\n",
		       ":2: bad datetime '2024-02-30' (expected YYYY-MM-DD, "
		       "YYYY-MM-DD HH:MM:SS or YYYY-MM-DDTHH:MM:SS, UTC)"));
	CHECK(error_is(HDR "01/02/2024,1,2,1,2,1\n",
		       ":2: bad datetime '01/02/2024' (expected YYYY-MM-DD, "
		       "YYYY-MM-DD HH:MM:SS or YYYY-MM-DDTHH:MM:SS, UTC)"));
	CHECK(error_is(HDR "2024-01-02 25:00:00,1,2,1,2,1\n",
		       ":2: bad datetime '2024-01-02 25:00:00' (expected YYYY-MM-DD, "
		       "YYYY-MM-DD HH:MM:SS or YYYY-MM-DDTHH:MM:SS, UTC)"));
}

static void test_ohlc_errors(void)
{
	CHECK(error_is(HDR "2024-01-02,10,9,10,10,1\n", ":2: high 9 is below low 10"));
	CHECK(error_is(HDR "2024-01-02,12,11,9,10,1\n", ":2: open 12 is outside low..high 9..11"));
	CHECK(error_is(HDR "2024-01-02,8.5,11,9,10,1\n",
		       ":2: open 8.5 is outside low..high 9..11"));
	CHECK(error_is(HDR "2024-01-02,10,11,9,8,1\n", ":2: close 8 is outside low..high 9..11"));
	CHECK(error_is(HDR "2024-01-02,10,11,9,11.25,1\n",
		       ":2: close 11.25 is outside low..high 9..11"));
	CHECK(error_is(HDR "2024-01-02,0,0,0,0,1\n", ":2: prices must be positive (low is 0)"));
	CHECK(error_is(HDR "2024-01-02,-1,-1,-2,-1,1\n",
		       ":2: prices must be positive (low is -2)"));
	CHECK(error_is(HDR "2024-01-02,1,2,0,1,1\n", ":2: prices must be positive (low is 0)"));
	CHECK(error_is(HDR "2024-01-02,10,11,9,10,-5\n", ":2: negative volume -5"));
	/* a later row: the line number follows */
	CHECK(error_is(HDR "2024-01-02,10,11,9,10,1\n2024-01-03,10,11,9,10,-0.5\n",
		       ":3: negative volume -0.5"));
}

static void test_time_order_errors(void)
{
	CHECK(error_is(HDR "2024-01-02,1,2,1,2,1\n2024-01-03,1,2,1,2,1\n2024-01-02,1,2,1,2,1\n",
		       ":4: time 2024-01-02 goes back (the previous row is 2024-01-03): rows must "
		       "be in time order"));
	CHECK(error_is(HDR "2024-01-02 10:00:00,1,2,1,2,1\n2024-01-02 09:59:59,1,2,1,2,1\n",
		       ":3: time 2024-01-02 09:59:59 goes back (the previous row is "
		       "2024-01-02 10:00:00): rows must be in time order"));
	CHECK(error_is(HDR "2024-01-02,1,2,1,2,1\n2024-01-03,1,2,1,2,1\n2024-01-03,1,2,1,2,1\n",
		       ":4: duplicate time 2024-01-03"));
	/* with a symbol column: the same time for one symbol twice */
	CHECK(error_is("symbol,datetime,open,high,low,close,volume\n"
		       "AAPL,2024-01-02,1,2,1,2,1\n"
		       "MSFT,2024-01-02,1,2,1,2,1\n"
		       "AAPL,2024-01-02,1,2,1,2,1\n",
		       ":4: duplicate time 2024-01-02 for AAPL"));
	/* ... and going back across symbols */
	CHECK(error_is("symbol,datetime,open,high,low,close,volume\n"
		       "AAPL,2024-01-03,1,2,1,2,1\n"
		       "MSFT,2024-01-02,1,2,1,2,1\n",
		       ":3: time 2024-01-02 goes back (the previous row is 2024-01-03): rows must "
		       "be in time order"));
	CHECK(error_is("symbol,datetime,open,high,low,close,volume\n"
		       ",2024-01-02,1,2,1,2,1\n",
		       ":2: bad symbol '' (1 to 31 characters)"));
}

static void test_file_errors(void)
{
	char path[700], want[800], err[512];
	struct symtab *st = symtab_new();
	struct bars_file bf;

	snprintf(path, sizeof path, "%s/does-not-exist.csv", tmpdir);
	CHECK_EQ_INT(bars_open(&bf, path, st, NULL, err, sizeof err), -1);
	snprintf(want, sizeof want, "%s: cannot open: No such file or directory", path);
	CHECK_STR(err, want);

	snprintf(path, sizeof path, "%s/adir.csv", tmpdir);
	mkdir(path, 0700);
	CHECK_EQ_INT(bars_open(&bf, path, st, NULL, err, sizeof err), -1);
	snprintf(want, sizeof want, "%s: not a regular file", path);
	CHECK_STR(err, want);

	/* a small error buffer is cut, still terminated */
	char small[8];
	memset(small, 'x', sizeof small);
	snprintf(path, sizeof path, "%s/does-not-exist.csv", tmpdir);
	CHECK_EQ_INT(bars_open(&bf, path, st, NULL, small, sizeof small), -1);
	CHECK(memchr(small, '\0', sizeof small) != NULL);
	CHECK_EQ_INT(symtab_count(st), 0);
	symtab_free(st);
}

/* ---------------------------------------------------------------- numbers */

static int num(const char *s, double *out)
{
	return bars_parse_number(s, strlen(s), out);
}

/* 1 when s parses to exactly what strtod gives. */
static int num_exact(const char *s)
{
	double v = -12345.678, want = strtod(s, NULL);
	if (num(s, &v) != 0 || v != want) {
		fprintf(stderr, "  '%s': got %.17g, want %.17g\n", s, v, want);
		return 0;
	}
	return 1;
}

static void test_parse_number(void)
{
	double v = 0;
	CHECK(num("0", &v) == 0 && v == 0);
	CHECK(num("42", &v) == 0 && v == 42);
	CHECK(num("-42", &v) == 0 && v == -42);
	CHECK(num("+42", &v) == 0 && v == 42);
	CHECK(num("3.25", &v) == 0 && v == 3.25);
	CHECK(num("-0.5", &v) == 0 && v == -0.5);
	CHECK(num(".5", &v) == 0 && v == 0.5);
	CHECK(num("5.", &v) == 0 && v == 5);
	CHECK(num("1e3", &v) == 0 && v == 1000);
	CHECK(num("1E3", &v) == 0 && v == 1000);
	CHECK(num("2.5e-2", &v) == 0 && v == 0.025);
	CHECK(num("-1.5e+2", &v) == 0 && v == -150);
	CHECK(num_exact("0.1"));
	CHECK(num_exact("123.456"));
	CHECK(num_exact("187.2999877929688"));
	CHECK(num_exact("9007199254740993")); /* 2^53 + 1: rounds */
	CHECK(num_exact("12345678901234567890123"));
	CHECK(num_exact("1234567890.12345678901234"));
	CHECK(num_exact("0.12345678901234567890123"));
	CHECK(num_exact("1e22"));
	CHECK(num_exact("1e23"));
	CHECK(num_exact("1.7976931348623157e308"));
	CHECK(num_exact("4.9e-300"));

	/* only len bytes count */
	CHECK(bars_parse_number("12345", 3, &v) == 0 && v == 123);
	CHECK(bars_parse_number("1.5,2", 3, &v) == 0 && v == 1.5);

	static const char *const bad[] = {"",	"-",   "+",    ".",	 "1.2.3", "abc", "1e999",
					  "-1e999", "1e",	"e5",  "1e+",	 "1x",	  "x1",	 "1 2",
					  "--1",	"+-1", "1-2",  "nan",	 "inf",	  "0x10", "1,5",
					  " "};
	double keep = 77;
	int accepted = 0;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		v = keep;
		if (num(bad[i], &v) == 0) {
			fprintf(stderr, "  accepted '%s' as %g\n", bad[i], v);
			accepted++;
		}
	}
	CHECK_EQ_INT(accepted, 0);
	CHECK(v == keep); /* *out untouched on failure (the last one) */
}

/* Regression: the fast path once counted leading zeros toward its 19 digits
 * and dropped the digits after them (or turned them into a power of ten). */
static void test_parse_number_leading_zeros(void)
{
	double v = -1;
	/* once read as 0 */
	CHECK(num("0.000000000000000000001", &v) == 0 && v == 1e-21);
	/* once read as 0 */
	CHECK(num("000000000000000000000123", &v) == 0 && v == 123);
	/* once 1.2345678901234e-05: must round like strtod */
	CHECK(num_exact("0.0000123456789012345678"));
}

/* ---------------------------------------------------------------- feed */

static void test_feed_merge(void)
{
	const char *a = write_file("AAA.csv", HDR "2024-01-02,1,1,1,1,1\n"
						  "2024-01-03,1,1,1,1,3\n"
						  "2024-01-05,1,1,1,1,5\n");
	const char *b = write_file("BBB.csv", HDR "2024-01-02 12:00:00,2,2,2,2,2\n"
						  "2024-01-03,2,2,2,2,3\n"
						  "2024-01-04,2,2,2,2,4\n");
	const char *paths[2] = {a, b};
	struct symtab *st = symtab_new();
	struct bars_feed f;
	char err[512] = "";
	CHECK_EQ_INT(bars_feed_open(&f, paths, 2, st, "IGNORED", err, sizeof err), 0);
	struct bar out[8];
	int n = 0, r;
	while (n < 8 && (r = bars_feed_next(&f, &out[n], err, sizeof err)) == 1)
		n++;
	CHECK_EQ_INT(r, 0);
	CHECK_EQ_INT(n, 6);
	int aaa = symtab_find(st, "AAA", 3), bbb = symtab_find(st, "BBB", 3);
	CHECK(aaa >= 0 && bbb >= 0);
	CHECK_EQ_INT(symtab_find(st, "IGNORED", 7), -1); /* several files: base names */
	/* AAA 01-02, BBB 01-02 12:00, AAA 01-03 (tie: first file first), BBB 01-03,
	 * BBB 01-04, AAA 01-05 */
	static const int want_file[6] = {0, 1, 0, 1, 1, 0};
	static const double want_vol[6] = {1, 2, 3, 3, 4, 5};
	int bad = 0;
	for (int i = 0; i < n && i < 6; i++)
		if (out[i].sym != (want_file[i] ? bbb : aaa) || out[i].volume != want_vol[i])
			bad++;
	CHECK_EQ_INT(bad, 0);
	CHECK_EQ_INT(out[2].time, D3);
	CHECK_EQ_INT(out[3].time, D3);
	int sorted = 1;
	for (int i = 1; i < n; i++)
		sorted &= out[i].time >= out[i - 1].time;
	CHECK(sorted);
	CHECK_EQ_INT(bars_feed_next(&f, &out[0], err, sizeof err), 0); /* stays at the end */
	bars_feed_close(&f);
	symtab_free(st);
}

static void test_feed_one_file_takes_default_symbol(void)
{
	const char *a = write_file("ONE.csv", HDR "2024-01-02,1,1,1,1,1\n");
	struct symtab *st = symtab_new();
	struct bars_feed f;
	char err[512];
	CHECK_EQ_INT(bars_feed_open(&f, &a, 1, st, "SPY", err, sizeof err), 0);
	struct bar b;
	CHECK_EQ_INT(bars_feed_next(&f, &b, err, sizeof err), 1);
	CHECK_STR(symtab_name(st, b.sym), "SPY");
	CHECK_EQ_INT(bars_feed_next(&f, &b, err, sizeof err), 0);
	bars_feed_close(&f);
	symtab_free(st);
}

static void test_feed_errors(void)
{
	char err[512], want[800];
	struct symtab *st = symtab_new();
	struct bars_feed f;

	/* an error later in the second file surfaces from bars_feed_next */
	const char *a = write_file("GOOD.csv", HDR "2024-01-02,1,1,1,1,1\n"
						   "2024-01-03,1,1,1,1,1\n"
						   "2024-01-04,1,1,1,1,1\n");
	const char *b = write_file("BAD.csv", HDR "2024-01-02,1,1,1,1,1\n"
						  "2024-01-03,1,1,1,1,-1\n");
	const char *p2[2] = {a, b};
	CHECK_EQ_INT(bars_feed_open(&f, p2, 2, st, NULL, err, sizeof err), 0);
	struct bar out;
	int r, n = 0;
	while ((r = bars_feed_next(&f, &out, err, sizeof err)) == 1 && n < 10)
		n++;
	CHECK_EQ_INT(r, -1);
	snprintf(want, sizeof want, "%s:3: negative volume -1", b);
	CHECK_STR(err, want);
	bars_feed_close(&f);

	/* an error on the first row of the second file surfaces from open */
	const char *c = write_file("BAD2.csv", HDR "2024-01-02,1,1,1,1\n");
	const char *p3[2] = {a, c};
	CHECK_EQ_INT(bars_feed_open(&f, p3, 2, st, NULL, err, sizeof err), -1);
	snprintf(want, sizeof want, "%s:2: expected 6 fields, got 5", c);
	CHECK_STR(err, want);
	CHECK(f.files == NULL && f.n == 0); /* closed: nothing left to free */

	/* a missing second file */
	char missing[700];
	snprintf(missing, sizeof missing, "%s/nope.csv", tmpdir);
	const char *p4[2] = {a, missing};
	CHECK_EQ_INT(bars_feed_open(&f, p4, 2, st, NULL, err, sizeof err), -1);
	snprintf(want, sizeof want, "%s: cannot open: No such file or directory", missing);
	CHECK_STR(err, want);

	/* a header-only second file */
	const char *d = write_file("EMPTYROWS.csv", HDR);
	const char *p5[2] = {a, d};
	CHECK_EQ_INT(bars_feed_open(&f, p5, 2, st, NULL, err, sizeof err), -1);
	snprintf(want, sizeof want, "%s: no bars after the header", d);
	CHECK_STR(err, want);
	symtab_free(st);
}

int main(void)
{
	const char *base = getenv("TMPDIR");
	snprintf(tmpdir, sizeof tmpdir, "%s/gantry-test-bars-XXXXXX", base && *base ? base : "/tmp");
	if (!mkdtemp(tmpdir)) {
		fprintf(stderr, "mkdtemp %s: %s\n", tmpdir, strerror(errno));
		return 2;
	}
	RUN(test_basic_file);
	RUN(test_header_order_case_alias_unknown);
	RUN(test_default_symbol);
	RUN(test_symbol_column);
	RUN(test_datetime_forms);
	RUN(test_crlf_blank_lines_quotes);
	RUN(test_header_errors);
	RUN(test_row_errors);
	RUN(test_ohlc_errors);
	RUN(test_time_order_errors);
	RUN(test_file_errors);
	RUN(test_parse_number);
	RUN(test_parse_number_leading_zeros);
	RUN(test_feed_merge);
	RUN(test_feed_one_file_takes_default_symbol);
	RUN(test_feed_errors);
	cleanup();
	return check_summary();
}
