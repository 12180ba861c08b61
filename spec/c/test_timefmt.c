/*
 * test_timefmt — UTC calendar time <-> ns: parse, ISO and short formats,
 * leap days, the epoch, 2100 (not a leap year), before 1970, and the strings
 * time_parse must refuse. Expected seconds come from `date -u -d ... +%s`.
 */
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "timefmt.h"

#define S(x) ((int64_t)(x) * NS_PER_SEC)

/* Parses a NUL-terminated string; returns the parse result, *ns on success. */
static int parse(const char *s, int64_t *ns)
{
	return time_parse(s, strlen(s), ns);
}

/* 1 when s parses to exactly want. */
static int parses_to(const char *s, int64_t want)
{
	int64_t ns = INT64_MIN;
	return parse(s, &ns) == 0 && ns == want;
}

static void test_days_from_civil(void)
{
	CHECK_EQ_INT(time_days_from_civil(1970, 1, 1), 0);
	CHECK_EQ_INT(time_days_from_civil(1970, 1, 2), 1);
	CHECK_EQ_INT(time_days_from_civil(1969, 12, 31), -1);
	CHECK_EQ_INT(time_days_from_civil(2000, 3, 1), 951868800 / 86400);
	CHECK_EQ_INT(time_days_from_civil(2024, 1, 2), 1704153600 / 86400);
	CHECK_EQ_INT(time_days_from_civil(1900, 1, 1), -2208988800LL / 86400);

	int y;
	unsigned m, d;
	time_civil_from_days(0, &y, &m, &d);
	CHECK(y == 1970 && m == 1 && d == 1);
	time_civil_from_days(-1, &y, &m, &d);
	CHECK(y == 1969 && m == 12 && d == 31);
	time_civil_from_days(951782400 / 86400, &y, &m, &d);
	CHECK(y == 2000 && m == 2 && d == 29);
	time_civil_from_days(4102444800LL / 86400 + 59, &y, &m, &d); /* 2100 has no Feb 29 */
	CHECK(y == 2100 && m == 3 && d == 1);

	/* every day from 1899 to 2201 survives the round trip */
	int bad = 0;
	for (int64_t z = time_days_from_civil(1899, 1, 1); z < time_days_from_civil(2201, 1, 1); z++) {
		time_civil_from_days(z, &y, &m, &d);
		if (time_days_from_civil(y, m, d) != z)
			bad++;
	}
	CHECK_EQ_INT(bad, 0);
}

static void test_parse_forms(void)
{
	CHECK(parses_to("1970-01-01", 0));
	CHECK(parses_to("2024-01-02", S(1704153600)));
	CHECK(parses_to("2024-01-02 09:30:00", S(1704187800)));
	CHECK(parses_to("2024-01-02T09:30:00", S(1704187800)));
	CHECK(parses_to("2024-01-02T09:30:00Z", S(1704187800)));
	CHECK(parses_to("2024-01-02Z", S(1704153600)));
	CHECK(parses_to("2024-01-02 09:30:00.5", S(1704187800) + 500000000));
	CHECK(parses_to("2024-01-02T09:30:00.123456Z", S(1704187800) + 123456000));
	CHECK(parses_to("2024-01-02T09:30:00.000000001", S(1704187800) + 1));
	CHECK(parses_to("2024-01-02T09:30:00.999999999Z", S(1704187800) + 999999999));
	CHECK(parses_to("2024-02-29 12:34:56", S(1709210096)));
	CHECK(parses_to("2000-02-29", S(951782400)));
	CHECK(parses_to("2100-01-01", S(4102444800LL)));
	CHECK(parses_to("2100-02-28 23:59:59", S(4107542399LL)));
	CHECK(parses_to("1969-12-31 23:59:59", S(-1)));
	CHECK(parses_to("1960-03-01 06:07:08", S(-310413172)));
	CHECK(parses_to("1900-01-01", S(-2208988800LL)));
	CHECK(parses_to("2200-12-31 23:59:59", S(7289654399LL)));

	/* only len bytes are read: the tail after len is not part of the value */
	int64_t ns = -7;
	CHECK_EQ_INT(time_parse("2024-01-02 09:30:00,garbage", 19, &ns), 0);
	CHECK_EQ_INT(ns, S(1704187800));
	CHECK_EQ_INT(time_parse("2024-01-02,more", 10, &ns), 0);
	CHECK_EQ_INT(ns, S(1704153600));
}

static void test_parse_rejects(void)
{
	static const char *const bad[] = {
		"",
		"Z",
		"2024",
		"2024-01",
		"2024-1-02",
		"2024/01/02",
		"24-01-02",
		"2024-13-01",
		"2024-00-10",
		"2024-01-00",
		"2024-01-32",
		"2023-02-29", /* not a leap year */
		"2100-02-29", /* divisible by 100, not by 400 */
		"1900-02-29",
		"2024-02-30",
		"2024-04-31",
		"2024-01-02 ",
		"2024-01-02 09:30",
		"2024-01-02 24:00:00",
		"2024-01-02 09:60:00",
		"2024-01-02 09:30:61",
		"2024-01-02X09:30:00",
		"2024-01-02 09-30-00",
		"2024-01-02 09:30:00.",
		"2024-01-02 09:30:00.1234567890", /* 10 fraction digits */
		"2024-01-02 09:30:00.12a",
		"2024-01-02 09:30:00x",
		"2024-01-02 9:30:00",
		"2024-01-0a",
		"abcd-ef-gh",
		"2024-01-02ZZ",
		"-024-01-02",
		" 2024-01-02",
	};
	int64_t ns = 12345;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int rc = parse(bad[i], &ns);
		if (rc != -1)
			fprintf(stderr, "  accepted: '%s'\n", bad[i]);
		CHECK_EQ_INT(rc, -1);
	}
}

static void test_format_iso(void)
{
	char buf[TIME_ISO_LEN + 1];
	CHECK_EQ_INT(time_format_iso(0, buf), TIME_ISO_LEN);
	CHECK_STR(buf, "1970-01-01T00:00:00.000000Z");
	time_format_iso(S(1704187800) + 123456789, buf); /* sub-microsecond digits dropped */
	CHECK_STR(buf, "2024-01-02T09:30:00.123456Z");
	time_format_iso(S(1709210096), buf);
	CHECK_STR(buf, "2024-02-29T12:34:56.000000Z");
	time_format_iso(S(4107542399LL), buf);
	CHECK_STR(buf, "2100-02-28T23:59:59.000000Z");
	time_format_iso(S(4107542400LL), buf);
	CHECK_STR(buf, "2100-03-01T00:00:00.000000Z");
	time_format_iso(S(-1), buf);
	CHECK_STR(buf, "1969-12-31T23:59:59.000000Z");
	time_format_iso(-1, buf); /* one ns before the epoch */
	CHECK_STR(buf, "1969-12-31T23:59:59.999999Z");
	time_format_iso(S(-310413172), buf);
	CHECK_STR(buf, "1960-03-01T06:07:08.000000Z");
	time_format_iso(S(-2208988800LL), buf);
	CHECK_STR(buf, "1900-01-01T00:00:00.000000Z");
}

static void test_format_short(void)
{
	char buf[32];
	CHECK_EQ_INT(time_format_short(S(1704153600), buf), 10);
	CHECK_STR(buf, "2024-01-02");
	CHECK_EQ_INT(time_format_short(S(1704187800), buf), 19);
	CHECK_STR(buf, "2024-01-02 09:30:00");
	time_format_short(0, buf);
	CHECK_STR(buf, "1970-01-01");
	time_format_short(S(-1), buf);
	CHECK_STR(buf, "1969-12-31 23:59:59");
	time_format_short(S(951782400), buf);
	CHECK_STR(buf, "2000-02-29");
	time_format_short(S(-310413172), buf);
	CHECK_STR(buf, "1960-03-01 06:07:08");
}

/* parse(format(t)) == t for a spread of times, in both formats. */
static void test_round_trips(void)
{
	static const int64_t secs[] = {0,	   1,	       -1,	   59,	       86399,
				       86400,	   951782400,  951868799, 1709210096, 4102444800LL,
				       4107542399LL, -310413172, -2208988800LL, 7289654399LL,
				       1704187800};
	int bad_iso = 0, bad_short = 0;
	for (size_t i = 0; i < sizeof secs / sizeof secs[0]; i++) {
		for (int64_t us = 0; us < 2; us++) {
			int64_t t = S(secs[i]) + us * 250000000; /* and +0.25 s for the ISO form */
			char iso[TIME_ISO_LEN + 1], sh[32];
			int64_t back = INT64_MIN;
			size_t n = time_format_iso(t, iso);
			if (time_parse(iso, n, &back) != 0 || back != t) {
				fprintf(stderr, "  iso round trip: %s\n", iso);
				bad_iso++;
			}
			if (us)
				continue; /* the short form has no fraction */
			n = time_format_short(t, sh);
			back = INT64_MIN;
			if (time_parse(sh, n, &back) != 0 || back != t) {
				fprintf(stderr, "  short round trip: %s\n", sh);
				bad_short++;
			}
		}
	}
	CHECK_EQ_INT(bad_iso, 0);
	CHECK_EQ_INT(bad_short, 0);

	/* every day of 2000 (leap), 2023, 2100 (not leap) and 1969, at noon */
	static const int years[] = {1969, 2000, 2023, 2100};
	int bad = 0;
	for (size_t k = 0; k < 4; k++) {
		int64_t z0 = time_days_from_civil(years[k], 1, 1);
		int64_t z1 = time_days_from_civil(years[k] + 1, 1, 1);
		for (int64_t z = z0; z < z1; z++) {
			int64_t t = z * NS_PER_DAY + S(43200);
			char sh[32];
			int64_t back = INT64_MIN;
			size_t n = time_format_short(t, sh);
			if (time_parse(sh, n, &back) != 0 || back != t)
				bad++;
		}
	}
	CHECK_EQ_INT(bad, 0);
	CHECK_EQ_INT(time_days_from_civil(2001, 1, 1) - time_days_from_civil(2000, 1, 1), 366);
	CHECK_EQ_INT(time_days_from_civil(2101, 1, 1) - time_days_from_civil(2100, 1, 1), 365);
}

int main(void)
{
	RUN(test_days_from_civil);
	RUN(test_parse_forms);
	RUN(test_parse_rejects);
	RUN(test_format_iso);
	RUN(test_format_short);
	RUN(test_round_trips);
	return check_summary();
}
