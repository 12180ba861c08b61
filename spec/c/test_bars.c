/*
 * test_bars — the CSV bar reader on small files in a temporary directory:
 * the header (order, case, aliases, unknown columns, symbol column), every
 * datetime form, line endings, the default symbol, every error with its exact
 * text, bars_parse_number, and the merge of several files by time; files as
 * users have them (Yahoo, Binance klines with and without a header), the
 * options (--columns, --header, time forms, a time zone, --adjust,
 * --lenient).
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
#include "tz.h"

#define S(x) ((int64_t)(x) * 1000000000LL)
#define D2 S(1704153600) /* 2024-01-02 */
#define D3 S(1704240000) /* 2024-01-03 */
#define D4 S(1704326400) /* 2024-01-04 */
#define HDR "datetime,open,high,low,close,volume\n"
#define ISO_OR_EPOCH                                                                               \
	"YYYY-MM-DD, YYYY-MM-DD HH:MM:SS or YYYY-MM-DDTHH:MM:SS, optionally with Z or +HH:MM; "    \
	"or seconds, ms, us or ns since the epoch"

static char tmpdir[512];
static char created[64][600];
static int ncreated;

/* Writes content to tmpdir/name; returns the path (kept until cleanup). */
static const char *write_file(const char *name, const char *content)
{
	char want[600];
	snprintf(want, sizeof want, "%s/%s", tmpdir, name);
	int i = 0;
	while (i < ncreated && strcmp(created[i], want) != 0)
		i++; /* a name written again keeps its slot */
	if (i == ncreated && ncreated < 63)
		ncreated++;
	char *path = created[i < 63 ? i : 63];
	snprintf(path, sizeof created[0], "%s", want);
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

/* Opens path read as opt says and reads every bar (at most 16). */
static void read_path_opt(const char *path, struct symtab *st, const struct bars_options *opt,
			  struct readout *r)
{
	struct bars_file bf;
	memset(r, 0, sizeof *r);
	if (bars_open(&bf, path, st, opt, r->err, sizeof r->err) != 0) {
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

/* Opens path with def as its default symbol and reads every bar. */
static void read_path(const char *path, struct symtab *st, const char *def, struct readout *r)
{
	struct bars_options opt = {.symbol = def};
	read_path_opt(path, st, &opt, r);
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

/* The error text for a file X.csv with content read as opt says:
 * "<path><suffix>" is expected. */
static int error_is_opt(const char *content, const struct bars_options *opt, const char *suffix)
{
	struct readout r;
	struct symtab *st = symtab_new();
	read_path_opt(write_file("X.csv", content), st, opt, &r);
	symtab_free(st);
	char want[1024];
	snprintf(want, sizeof want, "%s/X.csv%s", tmpdir, suffix);
	if (r.rc == 0 || strcmp(r.err, want) != 0) {
		fprintf(stderr, "  want: %s\n  got:  %s (rc %d)\n", want, r.err, r.rc);
		return 0;
	}
	return 1;
}

static int error_is(const char *content, const char *suffix)
{
	return error_is_opt(content, NULL, suffix);
}

/* Reads content (as X.csv) as opt says. */
static void read_opt(const char *content, const struct bars_options *opt, struct readout *r)
{
	struct symtab *st = symtab_new();
	read_path_opt(write_file("X.csv", content), st, opt, r);
	symtab_free(st);
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
	CHECK(error_is(
	    "2024-01-02,1,2,1,2,1\n",
	    ":1: no header line (the first line is data: '2024-01-02,1,2,1,2,1'); name "
	    "the columns with --header, e.g. --header open_time,open,high,low,close,volume "
	    "for Binance klines, or add a header line datetime,open,high,low,close,volume"));
	CHECK(error_is("datetime,open,high,low,close\n2024-01-02,1,2,1,2\n",
		       ":1: header has no 'volume' column (expected "
		       "datetime,open,high,low,close,volume; or --columns volume=NAME)"));
	CHECK(error_is("open,high,low,close,volume\n",
		       ":1: header has no 'datetime' column (expected "
		       "datetime,open,high,low,close,volume; or --columns datetime=NAME)"));
	CHECK(error_is("datetime,open,high,close,volume,sym\n",
		       ":1: header has no 'low' column (expected "
		       "datetime,open,high,low,close,volume; or --columns low=NAME)"));
	CHECK(error_is("date,datetime,open,high,low,close,volume\n",
		       ":1: column 'datetime' appears twice (date and datetime): --columns "
		       "datetime=NAME picks one"));
	CHECK(error_is(
	    "datetime,open,high,low,close,volume,Open\n",
	    ":1: column 'open' appears twice (open and Open): --columns open=NAME picks one"));
	/* the header's line number after blank lines */
	CHECK(error_is("\n\ndatetime,open,high,low,close\n",
		       ":3: header has no 'volume' column (expected "
		       "datetime,open,high,low,close,volume; or --columns volume=NAME)"));
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
	CHECK(error_is(HDR "2024-01-02,1,2,1,2,\n", ":2: missing value '' in column 'volume' "
						    "(--lenient skips rows with missing values)"));
	CHECK(error_is(HDR "2024-01-02,1.2.3,2,1,2,1\n",
		       ":2: bad number '1.2.3' in column 'open'"));
	CHECK(error_is(HDR "2024-01-02,1,2,1,1e999,1\n",
		       ":2: bad number '1e999' in column 'close'"));
	CHECK(error_is(HDR "2024-13-01,1,2,1,2,1\n",
		       ":2: bad datetime '2024-13-01' (expected " ISO_OR_EPOCH ")"));
	CHECK(error_is(HDR "2024-02-30,1,2,1,2,1\n",
		       ":2: bad datetime '2024-02-30' (expected " ISO_OR_EPOCH ")"));
	CHECK(error_is(HDR "01/02/2024,1,2,1,2,1\n",
		       ":2: bad datetime '01/02/2024' (expected " ISO_OR_EPOCH ")"));
	CHECK(error_is(HDR "2024-01-02 25:00:00,1,2,1,2,1\n",
		       ":2: bad datetime '2024-01-02 25:00:00' (expected " ISO_OR_EPOCH ")"));
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
	CHECK_EQ_INT(bars_feed_open(&f, paths, 2, st, &(struct bars_options){.symbol = "IGNORED"},
				    err, sizeof err),
		     0);
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
	CHECK_EQ_INT(
	    bars_feed_open(&f, &a, 1, st, &(struct bars_options){.symbol = "SPY"}, err, sizeof err),
	    0);
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

/* ---------------------------------------------------------------- as users have them */

static void test_vendor_headers(void)
{
	struct readout r;
	/* Yahoo: capitalised, Adj Close (ignored unless adjusting) */
	read_opt("Date,Open,High,Low,Close,Adj Close,Volume\n"
		 "2024-01-02,187.149994,188.440002,183.889999,185.639999,184.734955,82488700\n",
		 NULL, &r);
	CHECK_EQ_INT(r.rc, 0);
	CHECK_EQ_INT(r.b[0].time, D2);
	CHECK_NEAR(r.b[0].close, 185.639999, 0);
	CHECK_NEAR(r.b[0].volume, 82488700, 0);
	/* Binance klines with a header: open_time in milliseconds, more columns */
	read_opt("open_time,open,high,low,close,volume,close_time,quote_volume,count,"
		 "taker_buy_volume,taker_buy_quote_volume,ignore\n"
		 "1704153600000,42283.58,42554.57,42261.02,42475.23,1271.68108,1704157199999,"
		 "53957248.97,47134,682.57,28957416.81,0\n"
		 "1704157200000,42475.23,42775.00,42431.65,42613.56,1196.37856,1704160799999,"
		 "50984893.44,45289,633.17,26986051.61,0\n",
		 NULL, &r);
	CHECK_EQ_INT(r.rc, 0);
	CHECK_EQ_INT(r.n, 2);
	CHECK_EQ_INT(r.b[0].time, D2);
	CHECK_EQ_INT(r.b[1].time, D2 + S(3600));
	CHECK_NEAR(r.b[1].close, 42613.56, 0);
	/* `time`, as charting tools write it, in seconds */
	read_opt("time,open,high,low,close,volume\n1704153600,1,1,1,1,1\n", NULL, &r);
	CHECK_EQ_INT(r.rc, 0);
	CHECK_EQ_INT(r.b[0].time, D2);
	/* a split date and time: say which one is the time */
	CHECK(error_is("Date,Time,Open,High,Low,Close,Volume\n",
		       ":1: column 'datetime' appears twice (Date and Time): --columns "
		       "datetime=NAME picks one"));
}

static void test_columns_option(void)
{
	struct bars_options o = {0};
	char err[256];
	CHECK_EQ_INT(bars_columns(&o, "datetime=open_time,close=Close", err, sizeof err), 0);
	CHECK(o.name[BARS_TIME] && o.namelen[BARS_TIME] == 9 &&
	      !strncmp(o.name[BARS_TIME], "open_time", 9));
	CHECK(o.name[BARS_CLOSE] && o.namelen[BARS_CLOSE] == 5);
	CHECK(o.name[BARS_OPEN] == NULL);
	CHECK_EQ_INT(bars_columns(&o, "close=Last", err, sizeof err), 0); /* the later wins */
	CHECK(o.namelen[BARS_CLOSE] == 4 && !strncmp(o.name[BARS_CLOSE], "Last", 4));
	CHECK_EQ_INT(bars_columns(&o, "Adj_Close=AC,SYMBOL=ticker", err, sizeof err), 0);
	CHECK(o.name[BARS_ADJ_CLOSE] && o.name[BARS_SYMBOL]);

	static const struct {
		const char *spec, *err;
	} bad[] = {
	    {"close", "'close': expected FIELD=NAME (the column NAME of the header holds FIELD)"},
	    {"close=", "'close=': expected FIELD=NAME (the column NAME of the header holds FIELD)"},
	    {"=Close", "'=Close': expected FIELD=NAME (the column NAME of the header holds FIELD)"},
	    {"", "'': expected FIELD=NAME (the column NAME of the header holds FIELD)"},
	    {"close=C,", "'': expected FIELD=NAME (the column NAME of the header holds FIELD)"},
	    {"price=Close", "'price=Close': unknown field 'price' (fields: datetime, open, high, "
			    "low, close, volume, symbol, adj_close)"},
	    {"date=Day", "'date=Day': unknown field 'date' (fields: datetime, open, high, low, "
			 "close, volume, symbol, adj_close)"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct bars_options b = {0};
		CHECK_EQ_INT(bars_columns(&b, bad[i].spec, err, sizeof err), -1);
		CHECK_STR(err, bad[i].err);
	}

	/* a header with other names */
	struct readout r;
	struct bars_options m = {0};
	bars_columns(&m, "datetime=ts,open=o,high=h,low=l,close=c,volume=v", err, sizeof err);
	read_opt("ts,o,h,l,c,v\n2024-01-02,1,3,1,2,5\n", &m, &r);
	CHECK_EQ_INT(r.rc, 0);
	CHECK_NEAR(r.b[0].high, 3, 0);
	CHECK_NEAR(r.b[0].volume, 5, 0);
	/* a named column wins over the usual name, which is then an unknown column */
	struct bars_options c = {0};
	bars_columns(&c, "close=Adj Close", err, sizeof err);
	read_opt("Date,Open,High,Low,Close,Adj Close,Volume\n2024-01-02,10,12,9,11,10.5,100\n", &c,
		 &r);
	CHECK_EQ_INT(r.rc, 0);
	CHECK_NEAR(r.b[0].close, 10.5, 0);
	/* a column given to one field is not another's by its usual name */
	struct bars_options d = {0};
	bars_columns(&d, "datetime=date,close=time", err, sizeof err);
	read_opt("date,time,open,high,low,volume\n2024-01-02,2,1,3,1,9\n", &d, &r);
	CHECK_EQ_INT(r.rc, 0);
	CHECK_EQ_INT(r.b[0].time, D2);
	CHECK_NEAR(r.b[0].close, 2, 0);
	/* the named column is not there */
	struct bars_options e = {0};
	bars_columns(&e, "close=Last", err, sizeof err);
	CHECK(error_is_opt(HDR, &e, ":1: header has no column 'Last' (--columns close=Last)"));
}

static void test_header_option(void)
{
	struct readout r;
	const char *klines = "1704153600000,42283.58,42554.57,42261.02,42475.23,1271.68,"
			     "1704157199999,53957248.97,47134,682.57,28957416.81,0\n"
			     "1704157200000,42475.23,42775.00,42431.65,42613.56,1196.37,"
			     "1704160799999,50984893.44,45289,633.17,26986051.61,0\n";
	CHECK(error_is(klines,
		       ":1: no header line (the first line is data: '1704153600000,42283.58,"
		       "42554.57,42261.02'); name the columns with --header, e.g. --header "
		       "open_time,open,high,low,close,volume for Binance klines, or add a "
		       "header line datetime,open,high,low,close,volume"));
	/* names for the first columns; the first line is the first row */
	struct bars_options o = {.header = "open_time,open,high,low,close,volume"};
	read_opt(klines, &o, &r);
	CHECK_EQ_INT(r.rc, 0);
	CHECK_EQ_INT(r.n, 2);
	CHECK_EQ_INT(r.b[0].time, D2);
	CHECK_NEAR(r.b[0].open, 42283.58, 0);
	CHECK_NEAR(r.b[1].close, 42613.56, 0);
	/* line numbers still count the file's lines */
	CHECK(error_is_opt("\n1704153600000,1,2,1,2,1\n1704157200000,1,2,1,2\n", &o,
			   ":3: expected 6 fields, got 5"));
	/* a file with a header line keeps its own */
	read_opt(HDR "2024-01-02,1,2,1,2,1\n", &o, &r);
	CHECK_EQ_INT(r.rc, 0);
	CHECK_EQ_INT(r.n, 1);
	/* --columns applies to --header's names */
	struct bars_options c = {.header = "t,o,h,l,c,v"};
	char err[256];
	bars_columns(&c, "datetime=t,open=o,high=h,low=l,close=c,volume=v", err, sizeof err);
	read_opt("2024-01-02,1,2,1,2,1\n", &c, &r);
	CHECK_EQ_INT(r.rc, 0);
	CHECK_EQ_INT(r.b[0].time, D2);
	/* more names than columns, and names without the fields */
	struct bars_options m = {.header = "open_time,open,high,low,close,volume,x"};
	CHECK(error_is_opt("2024-01-02,1,2,1,2,1\n", &m,
			   ":1: --header names 7 columns, the first line has 6"));
	struct bars_options n = {.header = "open_time,open,high,low,close"};
	CHECK(error_is_opt("2024-01-02,1,2,1,2,1\n", &n,
			   ":1: header has no 'volume' column (expected "
			   "datetime,open,high,low,close,volume; or --columns volume=NAME)"));
}

static void test_times_as_users_have_them(void)
{
	struct readout r;
	read_opt(HDR "1704153600,1,1,1,1,1\n"
		     "1704153601000,1,1,1,1,1\n"
		     "1704153602000000,1,1,1,1,1\n"
		     "1704153603000000000,1,1,1,1,1\n"
		     "2024-01-02T00:00:04+00:00,1,1,1,1,1\n"
		     "2024-01-01T19:00:05-05:00,1,1,1,1,1\n"
		     "2024-01-02 01:00:06+0100,1,1,1,1,1\n",
		 NULL, &r);
	CHECK_EQ_INT(r.rc, 0);
	CHECK_EQ_INT(r.n, 7);
	int bad = 0;
	for (int i = 0; i < r.n; i++)
		bad += r.b[i].time != D2 + S(i);
	CHECK_EQ_INT(bad, 0);

	/* a named form: every row in it */
	struct bars_options ms = {.time_form = TIME_EPOCH_MS};
	read_opt(HDR "1704153600000,1,1,1,1,1\n1704153600500,1,1,1,1,1\n", &ms, &r);
	CHECK_EQ_INT(r.rc, 0);
	CHECK_EQ_INT(r.b[1].time, D2 + 500000000);
	CHECK(error_is_opt(HDR "1704153600000,1,1,1,1,1\n2024-01-02,1,1,1,1,1\n", &ms,
			   ":3: bad datetime '2024-01-02' (expected milliseconds since the epoch, "
			   "up to 2200: --time-format ms)"));
	struct bars_options s = {.time_form = TIME_EPOCH_S};
	read_opt(HDR "20240102,1,1,1,1,1\n", &s, &r); /* asked for */
	CHECK_EQ_INT(r.rc, 0);
	CHECK_EQ_INT(r.b[0].time, S(20240102));
	CHECK(error_is_opt(HDR "1704153600000,1,1,1,1,1\n", &s,
			   ":2: bad datetime '1704153600000' (expected seconds since the epoch, "
			   "up to 2200: --time-format s)"));
	struct bars_options iso = {.time_form = TIME_ISO};
	CHECK(error_is_opt(
	    HDR "1704153600,1,1,1,1,1\n", &iso,
	    ":2: bad datetime '1704153600' (expected YYYY-MM-DD, YYYY-MM-DD HH:MM:SS "
	    "or YYYY-MM-DDTHH:MM:SS, optionally with Z or +HH:MM: --time-format iso)"));
	/* by magnitude, a YYYYMMDD date is not taken for seconds */
	CHECK(error_is(HDR "20240102,1,1,1,1,1\n",
		       ":2: bad datetime '20240102' (expected " ISO_OR_EPOCH ")"));
}

static void test_time_zone(void)
{
	char err[512];
	struct tz *ny = tz_load("America/New_York", err, sizeof err);
	CHECK(ny != NULL);
	if (!ny)
		return;
	struct bars_options o = {.tz = ny};
	struct readout r;
	read_opt(HDR "2024-01-02 09:30:00,1,1,1,1,1\n"	     /* EST: 14:30Z */
		     "2024-07-01 09:30:00,1,1,1,1,1\n"	     /* EDT: 13:30Z */
		     "2024-07-02,1,1,1,1,1\n"		     /* midnight there: 04:00Z */
		     "2024-07-02 09:30:00Z,1,1,1,1,1\n"	     /* UTC by its Z */
		     "2024-07-02T09:30:00-04:00,1,1,1,1,1\n" /* by its offset */
		     "1719930601,1,1,1,1,1\n",		     /* an epoch is UTC */
		 &o, &r);
	CHECK_EQ_INT(r.rc, 0);
	CHECK_EQ_INT(r.n, 6);
	CHECK_EQ_INT(r.b[0].time, S(1704205800));
	CHECK_EQ_INT(r.b[1].time, S(1719840600));
	CHECK_EQ_INT(r.b[2].time, S(1719892800));
	CHECK_EQ_INT(r.b[3].time, S(1719912600));
	CHECK_EQ_INT(r.b[4].time, S(1719927000));
	CHECK_EQ_INT(r.b[5].time, S(1719930601));
	/* the hour the clocks go back over: once in EDT, then again in EST */
	read_opt(HDR "2024-11-03 00:30:00,1,1,1,1,1\n"
		     "2024-11-03 01:30:00,1,1,1,1,1\n"
		     "2024-11-03 01:59:00.5,1,1,1,1,1\n"
		     "2024-11-03 01:00:00,1,1,1,1,1\n"
		     "2024-11-03 01:30:00,1,1,1,1,1\n"
		     "2024-11-03 02:00:00,1,1,1,1,1\n",
		 &o, &r);
	CHECK_EQ_INT(r.rc, 0);
	CHECK_EQ_INT(r.n, 6);
	int64_t t = S(1730611800); /* 2024-11-03 05:30Z */
	CHECK_EQ_INT(r.b[0].time, t - S(3600));
	CHECK_EQ_INT(r.b[1].time, t);
	CHECK_EQ_INT(r.b[2].time, t + S(29 * 60) + 500000000);
	CHECK_EQ_INT(r.b[3].time, t + S(30 * 60));
	CHECK_EQ_INT(r.b[4].time, t + S(3600));
	CHECK_EQ_INT(r.b[5].time, t + S(90 * 60)); /* 02:00 EST */
	/* the hour they skip */
	CHECK(error_is_opt(HDR "2024-03-10 01:59:00,1,1,1,1,1\n2024-03-10 02:30:00,1,1,1,1,1\n", &o,
			   ":3: 2024-03-10 02:30:00 does not exist in America/New_York (the clocks "
			   "skip it)"));
	tz_free(ny);
}

static void test_adjust(void)
{
	const char *yahoo = "Date,Open,High,Low,Close,Adj Close,Volume\n"
			    "2024-01-02,20,22,18,20,10,1000\n"
			    "2024-01-03,21,24,20,22,22,500\n";
	struct bars_options o = {.adjust = 1};
	struct readout r;
	read_opt(yahoo, &o, &r);
	CHECK_EQ_INT(r.rc, 0);
	CHECK_EQ_INT(r.n, 2);
	/* factor 10/20: prices halved, volume doubled */
	CHECK_NEAR(r.b[0].open, 10, 0);
	CHECK_NEAR(r.b[0].high, 11, 0);
	CHECK_NEAR(r.b[0].low, 9, 0);
	CHECK_NEAR(r.b[0].close, 10, 0);
	CHECK_NEAR(r.b[0].volume, 2000, 0);
	/* factor 1: unchanged */
	CHECK_NEAR(r.b[1].open, 21, 0);
	CHECK_NEAR(r.b[1].volume, 500, 0);
	/* without --adjust the column is ignored */
	read_opt(yahoo, NULL, &r);
	CHECK_NEAR(r.b[0].close, 20, 0);
	/* every spelling of the column */
	read_opt("datetime,open,high,low,close,adj_close,volume\n2024-01-02,4,4,4,4,2,1\n", &o, &r);
	CHECK_NEAR(r.b[0].close, 2, 0);
	read_opt("datetime,open,high,low,close,AdjClose,volume\n2024-01-02,4,4,4,4,1,1\n", &o, &r);
	CHECK_NEAR(r.b[0].close, 1, 0);
	/* a factor that does not divide exactly keeps open and close within low..high */
	read_opt("datetime,open,high,low,close,adj_close,volume\n"
		 "2024-01-02,187.149994,188.440002,183.889999,188.440002,187.534955,82488700\n",
		 &o, &r);
	CHECK_EQ_INT(r.rc, 0);
	CHECK(r.b[0].close <= r.b[0].high && r.b[0].open >= r.b[0].low);
	CHECK_NEAR(r.b[0].close, 187.534955, 1e-9);

	CHECK(error_is_opt(HDR "2024-01-02,1,1,1,1,1\n", &o,
			   ":1: --adjust needs an adjusted close column (Adj Close, adj_close or "
			   "adjclose; or --columns adj_close=NAME)"));
	CHECK(error_is_opt("datetime,open,high,low,close,adj_close,volume\n"
			   "2024-01-02,1,1,1,1,0,1\n",
			   &o, ":2: adjusted close must be positive (is 0)"));
	CHECK(error_is_opt("datetime,open,high,low,close,adj_close,volume\n"
			   "2024-01-02,1,1,1,1,x,1\n",
			   &o, ":2: bad number 'x' in column 'adj_close'"));
	CHECK(error_is_opt("datetime,open,high,low,close,adj_close,volume\n"
			   "2024-01-02,1,1,1,1,null,1\n",
			   &o,
			   ":2: missing value 'null' in column 'adj_close' (--lenient skips rows "
			   "with missing values)"));
}

static void test_missing_values(void)
{
	const char *yahoo = "Date,Open,High,Low,Close,Adj Close,Volume\n"
			    "2024-01-02,10,11,9,10,10,100\n"
			    "2024-01-03,null,null,null,null,null,null\n"
			    "2024-01-04,10,11,9,10,10,\n"
			    "2024-01-05,NaN,11,9,10,10,100\n"
			    "2024-01-06,10,N/A,9,10,10,100\n"
			    "2024-01-07,10,11,NA,10,10,100\n"
			    ",10,11,9,10,10,100\n"
			    "2024-01-08,10,11,9,10,10,100\n";
	CHECK(error_is(yahoo, ":3: missing value 'null' in column 'open' (--lenient skips rows "
			      "with missing values)"));
	struct bars_options o = {.lenient = 1};
	struct readout r;
	struct bars_file bf;
	struct symtab *st = symtab_new();
	char err[512];
	CHECK_EQ_INT(bars_open(&bf, write_file("Y.csv", yahoo), st, &o, err, sizeof err), 0);
	struct bar b[4];
	int n = 0, k;
	while (n < 4 && (k = bars_next(&bf, &b[n], err, sizeof err)) == 1)
		n++;
	CHECK_EQ_INT(k, 0);
	CHECK_EQ_INT(n, 2);
	CHECK_EQ_INT(b[1].time, S(1704672000)); /* 2024-01-08 */
	CHECK_EQ_INT(bf.skipped, 6);
	bars_close(&bf);
	symtab_free(st);
	/* leniency is for missing values only: other bad rows still stop */
	CHECK(error_is_opt(HDR "2024-01-02,1,1,1,1,1\n2024-01-03,1,x,1,1,1\n", &o,
			   ":3: bad number 'x' in column 'high'"));
	CHECK(error_is_opt(HDR "2024-01-02,1,1,1,1,1\n2024-01-03,1,1,1,1\n", &o,
			   ":3: expected 6 fields, got 5"));
	CHECK(error_is_opt(HDR "2024-01-02,1,1,1,1,1\n2024-13-03,1,1,1,1,1\n", &o,
			   ":3: bad datetime '2024-13-03' (expected " ISO_OR_EPOCH ")"));
	CHECK(error_is_opt(HDR "2024-01-02,1,1,2,1,1\n", &o, ":2: high 1 is below low 2"));
	/* nothing left */
	CHECK(error_is_opt(HDR "2024-01-02,null,1,1,1,1\n2024-01-03,,1,1,1,1\n", &o,
			   ": no bars after the header (2 rows skipped for missing values)"));
	(void)r;

	/* several files: one count for the run */
	const char *p[2] = {
	    write_file("AAA.csv", HDR "2024-01-02,1,1,1,1,1\n2024-01-03,null,1,1,1,1\n"
				      "2024-01-04,1,1,1,1,1\n"),
	    write_file("BBB.csv", HDR "2024-01-02,null,1,1,1,1\n2024-01-03,1,1,1,1,1\n"
				      "2024-01-04,nan,1,1,1,1\n")};
	struct bars_feed f;
	st = symtab_new();
	CHECK_EQ_INT(bars_feed_open(&f, p, 2, st, &o, err, sizeof err), 0);
	struct bar out;
	n = 0;
	while (bars_feed_next(&f, &out, err, sizeof err) == 1)
		n++;
	CHECK_EQ_INT(n, 3);
	CHECK_EQ_INT(atomic_load(&f.skipped), 3);
	bars_feed_close(&f);
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
	RUN(test_vendor_headers);
	RUN(test_columns_option);
	RUN(test_header_option);
	RUN(test_times_as_users_have_them);
	RUN(test_time_zone);
	RUN(test_adjust);
	RUN(test_missing_values);
	cleanup();
	return check_summary();
}
