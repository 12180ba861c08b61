/*
 * test_timefmt — UTC calendar time <-> ns: parse, ISO and short formats,
 * leap days, the epoch, 2100 (not a leap year), before 1970, and the strings
 * time_parse must refuse; UTC offsets, epoch counts in each unit and by
 * magnitude; time zones from the tz database (tz.h), checked against the C
 * library's reading of the same files over three centuries. Expected seconds
 * come from `date -u -d ... +%s`.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "timefmt.h"
#include "tz.h"

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

static void test_parse_offsets(void)
{
	int64_t open = S(1704187800); /* 2024-01-02 09:30:00 UTC */
	CHECK(parses_to("2024-01-02T09:30:00+00:00", open));
	CHECK(parses_to("2024-01-02T09:30:00-00:00", open));
	CHECK(parses_to("2024-01-02T04:30:00-05:00", open));
	CHECK(parses_to("2024-01-02 04:30:00-0500", open));
	CHECK(parses_to("2024-01-02T04:30:00-05", open));
	CHECK(parses_to("2024-01-02T10:30:00+0100", open));
	CHECK(parses_to("2024-01-02T15:00:00+05:30", open));
	CHECK(parses_to("2024-01-02T04:30:00.25-05:00", open + 250000000));
	/* yfinance's dates: midnight in New York */
	CHECK(parses_to("2024-01-02 00:00:00-05:00", S(1704153600 + 5 * 3600)));
	/* across a day and a year */
	CHECK(parses_to("2023-12-31T23:00:00-10:00", S(1704099600)));

	int64_t ns = 0;
	int zoned = -1;
	CHECK_EQ_INT(time_parse_form("2024-01-02T04:30:00-05:00", 25, TIME_AUTO, &ns, &zoned), 0);
	CHECK_EQ_INT(zoned, 1);
	CHECK_EQ_INT(time_parse_form("2024-01-02T09:30:00Z", 20, TIME_ISO, &ns, &zoned), 0);
	CHECK_EQ_INT(zoned, 1);
	CHECK_EQ_INT(time_parse_form("2024-01-02Z", 11, TIME_AUTO, &ns, &zoned), 0);
	CHECK_EQ_INT(zoned, 1);
	CHECK_EQ_INT(time_parse_form("2024-01-02 09:30:00", 19, TIME_AUTO, &ns, &zoned), 0);
	CHECK_EQ_INT(zoned, 0); /* a wall-clock time: a zone may apply */
	CHECK_EQ_INT(ns, open);
	CHECK_EQ_INT(time_parse_form("2024-01-02", 10, TIME_ISO, &ns, &zoned), 0);
	CHECK_EQ_INT(zoned, 0);

	static const char *const bad[] = {
	    "2024-01-02T09:30:00+5",	  "2024-01-02T09:30:00+050",
	    "2024-01-02T09:30:00+05:0",	  "2024-01-02T09:30:00+24:00",
	    "2024-01-02T09:30:00+05:60",  "2024-01-02T09:30:00+0500x",
	    "2024-01-02T09:30:00 +05:00", "2024-01-02+01:00",
	    "2024-01-02T09:30:00Z+01:00", "2024-01-02T09:30:00+01:00Z",
	    "2024-01-02T09:30:00*05:00",  "2024-01-02T09:30:00+",
	    "2024-01-02T09:30:00.+01:00", "2024-01-02T09:30:00-05:00:00",
	};
	int accepted = 0;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (parse(bad[i], &ns) != -1) {
			fprintf(stderr, "  accepted: '%s'\n", bad[i]);
			accepted++;
		}
	}
	CHECK_EQ_INT(accepted, 0);
}

/* 1 when s in form parses to want, as a UTC (zoned) value. */
static int form_is(const char *s, enum time_form form, int64_t want)
{
	int64_t ns = INT64_MIN;
	int zoned = -1;
	int rc = time_parse_form(s, strlen(s), form, &ns, &zoned);
	if (rc != 0 || ns != want || zoned != 1) {
		fprintf(stderr, "  '%s' form %d: rc %d, %lld, zoned %d\n", s, (int)form, rc,
			(long long)ns, zoned);
		return 0;
	}
	return 1;
}

static int form_refuses(const char *s, enum time_form form)
{
	int64_t ns = 99;
	int zoned = 0;
	if (time_parse_form(s, strlen(s), form, &ns, &zoned) != -1) {
		fprintf(stderr, "  accepted '%s' in form %d as %lld\n", s, (int)form,
			(long long)ns);
		return 0;
	}
	return 1;
}

static void test_parse_epochs(void)
{
	int64_t t = S(1704153600); /* 2024-01-02 */
	/* by magnitude */
	CHECK(form_is("1704153600", TIME_AUTO, t));
	CHECK(form_is("1704153600000", TIME_AUTO, t));
	CHECK(form_is("1704153600000000", TIME_AUTO, t));
	CHECK(form_is("1704153600000000000", TIME_AUTO, t));
	CHECK(form_is("1704153600.25", TIME_AUTO, t + 250000000));
	CHECK(form_is("1704153600123.5", TIME_AUTO, t + 123500000));
	CHECK(form_is("100000000", TIME_AUTO, S(100000000)));	 /* 1973-03-03: the smallest */
	CHECK(form_refuses("99999999999", TIME_AUTO));		 /* seconds up to 1e11: past 2200 */
	CHECK(form_is("100000000000", TIME_AUTO, S(100000000))); /* then milliseconds */
	CHECK(form_is("100000000000000", TIME_AUTO, S(100000000)));    /* microseconds */
	CHECK(form_is("100000000000000000", TIME_AUTO, S(100000000))); /* nanoseconds */
	/* each unit named */
	CHECK(form_is("1704153600", TIME_EPOCH_S, t));
	CHECK(form_is("1704153600000", TIME_EPOCH_MS, t));
	CHECK(form_is("1704153600000000", TIME_EPOCH_US, t));
	CHECK(form_is("1704153600000000000", TIME_EPOCH_NS, t));
	CHECK(form_is("20240102", TIME_EPOCH_S, S(20240102))); /* asked for: 1970-08-23 */
	CHECK(form_is("0", TIME_EPOCH_MS, 0));
	CHECK(form_is("1.5", TIME_EPOCH_MS, 1500000));
	CHECK(form_is("1.000000001", TIME_EPOCH_S, S(1) + 1));
	CHECK(form_is("1.0000000019", TIME_EPOCH_S, S(1) + 1));	     /* below a ns: dropped */
	CHECK(form_is("7289654399", TIME_EPOCH_S, S(7289654399LL))); /* the end of 2200 */

	CHECK(form_refuses("20240102", TIME_AUTO)); /* a date, not 1970-08-23 */
	CHECK(form_refuses("99999999", TIME_AUTO));
	CHECK(form_refuses("", TIME_AUTO));
	CHECK(form_refuses("-1704153600", TIME_AUTO));
	CHECK(form_refuses("1704153600x", TIME_AUTO));
	CHECK(form_refuses("1704153600.", TIME_AUTO));
	CHECK(form_refuses("1704153600.5.5", TIME_AUTO));
	CHECK(form_refuses("1e9", TIME_AUTO));
	CHECK(form_refuses(" 1704153600", TIME_AUTO));
	CHECK(form_refuses("7289654400", TIME_EPOCH_S));	/* 2201 */
	CHECK(form_refuses("99999999999999999999", TIME_AUTO)); /* past 2^64 */
	CHECK(form_refuses("18446744073709551616", TIME_EPOCH_NS));
	CHECK(form_refuses("2024-01-02", TIME_EPOCH_MS));
	CHECK(form_refuses("1704153600", TIME_ISO));
	CHECK(form_refuses("12345-01-02", TIME_AUTO));

	CHECK_EQ_INT(time_form_from_name("auto"), TIME_AUTO);
	CHECK_EQ_INT(time_form_from_name("iso"), TIME_ISO);
	CHECK_EQ_INT(time_form_from_name("s"), TIME_EPOCH_S);
	CHECK_EQ_INT(time_form_from_name("ms"), TIME_EPOCH_MS);
	CHECK_EQ_INT(time_form_from_name("us"), TIME_EPOCH_US);
	CHECK_EQ_INT(time_form_from_name("ns"), TIME_EPOCH_NS);
	CHECK_EQ_INT(time_form_from_name("MS"), -1);
	CHECK_EQ_INT(time_form_from_name("seconds"), -1);
	CHECK_EQ_INT(time_form_from_name(""), -1);
}

/* The C library's offset for zone at t, from the same tzdata: what we must agree with. */
static long libc_offset(time_t t)
{
	struct tm tm;
	localtime_r(&t, &tm);
	return tm.tm_gmtoff;
}

static void test_tz_against_libc(void)
{
	static const char *const zones[] = {
	    "America/New_York", "Europe/London",     "Europe/Berlin",
	    "Australia/Sydney", "Asia/Kolkata",	     "America/Sao_Paulo",
	    "Pacific/Chatham",	"Asia/Tokyo",	     "UTC",
	    "America/Chicago",	"Africa/Casablanca", "Pacific/Apia",
	};
	char err[512];
	for (size_t k = 0; k < sizeof zones / sizeof zones[0]; k++) {
		struct tz *z = tz_load(zones[k], err, sizeof err);
		CHECK(z != NULL);
		if (!z) {
			fprintf(stderr, "  %s\n", err);
			continue;
		}
		CHECK_STR(tz_name(z), zones[k]);
		setenv("TZ", zones[k], 1);
		tzset();
		/* every 6 hours 1 minute from 1900 to 2200 (the transitions' hours and
		 * minutes drift through every phase), and each side of every change */
		int bad = 0, n = 0;
		for (int64_t t = -2208988800LL; t < 7289654400LL; t += 6 * 3600 + 60, n++) {
			if (tz_offset_at(z, t) != libc_offset((time_t)t)) {
				if (bad++ < 3)
					fprintf(stderr, "  %s at %lld: %d, libc %ld\n", zones[k],
						(long long)t, tz_offset_at(z, t),
						libc_offset((time_t)t));
			}
		}
		CHECK_EQ_INT(bad, 0);
		CHECK(n > 400000);
		/* local -> UTC -> the same local, where there is one reading */
		int bad_back = 0;
		for (int64_t t = 946684800LL; t < 4102444800LL; t += 7 * 86400 + 3 * 3600 + 17) {
			int64_t local = t + tz_offset_at(z, t), u[2];
			int c = tz_local_to_utc(z, local, u);
			if (c < 1 || (u[0] != t && u[c - 1] != t))
				bad_back++;
		}
		CHECK_EQ_INT(bad_back, 0);
		tz_free(z);
	}
	unsetenv("TZ");
	tzset();
}

static void test_tz_gaps_and_overlaps(void)
{
	char err[512];
	struct tz *z = tz_load("America/New_York", err, sizeof err);
	CHECK(z != NULL);
	if (!z)
		return;
	int64_t u[2] = {0, 0};
	/* 2024-01-02 09:30 EST = 14:30Z */
	CHECK_EQ_INT(tz_local_to_utc(z, 1704187800, u), 1);
	CHECK_EQ_INT(u[0], 1704187800 + 5 * 3600);
	/* 2024-07-01 09:30 EDT = 13:30Z */
	CHECK_EQ_INT(tz_local_to_utc(z, 1719826200, u), 1);
	CHECK_EQ_INT(u[0], 1719826200 + 4 * 3600);
	/* 2024-03-10 02:30 never happened */
	CHECK_EQ_INT(tz_local_to_utc(z, 1710037800, u), 0);
	/* 2024-11-03 01:30 happened twice: 05:30Z (EDT), then 06:30Z (EST) */
	CHECK_EQ_INT(tz_local_to_utc(z, 1730597400, u), 2);
	CHECK_EQ_INT(u[0], 1730597400 + 4 * 3600);
	CHECK_EQ_INT(u[1], 1730597400 + 5 * 3600);
	/* 2090, past the file's transitions: the footer's rule */
	int64_t t2090 = 3786825600LL; /* 2090-01-01 */
	CHECK_EQ_INT(tz_offset_at(z, t2090), -5 * 3600);
	CHECK_EQ_INT(tz_offset_at(z, t2090 + 180 * 86400), -4 * 3600);
	tz_free(z);

	/* the southern hemisphere: DST across the new year */
	z = tz_load("Australia/Sydney", err, sizeof err);
	CHECK(z != NULL);
	if (z) {
		CHECK_EQ_INT(tz_offset_at(z, 1704153600), 11 * 3600); /* January: AEDT */
		CHECK_EQ_INT(tz_offset_at(z, 1719792000), 10 * 3600); /* July: AEST */
		CHECK_EQ_INT(tz_offset_at(z, t2090), 11 * 3600);
		CHECK_EQ_INT(tz_offset_at(z, t2090 + 180 * 86400), 10 * 3600);
		tz_free(z);
	}
}

static void test_tz_errors(void)
{
	char err[512];
	CHECK(tz_load("Mars/Olympus_Mons", err, sizeof err) == NULL);
	CHECK_STR(err, "unknown time zone 'Mars/Olympus_Mons' (not in /usr/share/zoneinfo: a name "
		       "of the tz database, e.g. America/New_York, Europe/London, UTC)");
	CHECK(tz_load("../../etc/passwd", err, sizeof err) == NULL);
	CHECK_STR(err, "unknown time zone '../../etc/passwd' (a name of the tz database, e.g. "
		       "America/New_York, Europe/London, UTC)");
	CHECK(tz_load("America/../../../etc/passwd", err, sizeof err) == NULL);
	CHECK(strstr(err, "unknown time zone 'America/../../../etc/passwd'") == err);
	CHECK(tz_load("/etc/localtime", err, sizeof err) == NULL);
	CHECK(tz_load("", err, sizeof err) == NULL);
	CHECK(tz_load("America/New York", err, sizeof err) == NULL);
	/* files of the database that are not zones */
	CHECK(tz_load("zone.tab", err, sizeof err) == NULL);
	CHECK_STR(err, "unknown time zone 'zone.tab' (/usr/share/zoneinfo/zone.tab: not a TZif "
		       "file)");
	CHECK(tz_load("America", err, sizeof err) == NULL);
	CHECK(strstr(err, "unknown time zone 'America' (") == err);
	FILE *f = fopen("/usr/share/zoneinfo/right/UTC", "rb");
	if (f) { /* Debian ships the leap-second zones */
		fclose(f);
		CHECK(tz_load("right/UTC", err, sizeof err) == NULL);
		CHECK(strstr(err, "leap seconds") != NULL);
	}
}

int main(void)
{
	RUN(test_days_from_civil);
	RUN(test_parse_forms);
	RUN(test_parse_rejects);
	RUN(test_format_iso);
	RUN(test_format_short);
	RUN(test_round_trips);
	RUN(test_parse_offsets);
	RUN(test_parse_epochs);
	RUN(test_tz_against_libc);
	RUN(test_tz_gaps_and_overlaps);
	RUN(test_tz_errors);
	return check_summary();
}
