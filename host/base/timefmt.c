/*
 * timefmt — Howard Hinnant's civil-date algorithms, in integers; the
 * parsers read in place (no copy, no libc time functions).
 */
#include "timefmt.h"

#include <string.h>

int64_t time_days_from_civil(int y, unsigned m, unsigned d)
{
	y -= m <= 2;
	const int64_t era = (y >= 0 ? y : y - 399) / 400;
	const unsigned yoe = (unsigned)(y - era * 400);
	const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

void time_civil_from_days(int64_t z, int *y, unsigned *m, unsigned *d)
{
	z += 719468;
	const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	const unsigned doe = (unsigned)(z - era * 146097);
	const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	const unsigned mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int)(yoe + era * 400) + (*m <= 2);
}

static int digits(const char *s, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

static int days_in_month(int y, int m)
{
	static const int dim[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return m == 2 ? 28 + leap : dim[m - 1];
}

/* A UTC offset, `+HH:MM`, `+HHMM` or `+HH` (or `-`): seconds east of UTC. */
static int parse_offset(const char *s, size_t len, int *secs)
{
	int h, m = 0;
	if ((len != 3 && len != 5 && len != 6) || (s[0] != '+' && s[0] != '-') ||
	    digits(s + 1, 2, &h))
		return -1;
	if ((len == 5 && digits(s + 3, 2, &m)) ||
	    (len == 6 && (s[3] != ':' || digits(s + 4, 2, &m))))
		return -1;
	if (h > 23 || m > 59)
		return -1;
	*secs = (s[0] == '-' ? -1 : 1) * (h * 3600 + m * 60);
	return 0;
}

/* The ISO forms; *zoned (may be NULL) says whether a Z or an offset was given. */
static int parse_iso(const char *s, size_t len, int64_t *ns, int *zoned)
{
	int y, mo, d, h = 0, mi = 0, se = 0, off = 0, z = 0;
	int64_t frac = 0;
	size_t i = 10;
	if (len < 10 || s[4] != '-' || s[7] != '-' || digits(s, 4, &y) || digits(s + 5, 2, &mo) ||
	    digits(s + 8, 2, &d))
		return -1;
	if (y < 1900 || y > 2200 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo))
		return -1;
	if (len > 10 && s[10] != 'Z') {
		if (len < 19 || (s[10] != ' ' && s[10] != 'T') || s[13] != ':' || s[16] != ':' ||
		    digits(s + 11, 2, &h) || digits(s + 14, 2, &mi) || digits(s + 17, 2, &se))
			return -1;
		if (h > 23 || mi > 59 || se > 59)
			return -1;
		i = 19;
		if (i < len && s[i] == '.') {
			size_t start = ++i;
			int64_t scale = 100000000;
			for (; i < len && s[i] >= '0' && s[i] <= '9'; i++, scale /= 10) {
				if (i - start == 9)
					return -1; /* finer than a nanosecond */
				frac += (s[i] - '0') * scale;
			}
			if (i == start)
				return -1;
		}
		if (i < len && s[i] != 'Z') {
			if (parse_offset(s + i, len - i, &off) != 0)
				return -1;
			z = 1;
			i = len;
		}
	}
	if (i < len) {
		if (s[i] != 'Z' || i + 1 != len)
			return -1;
		z = 1;
	}
	int64_t days = time_days_from_civil(y, (unsigned)mo, (unsigned)d);
	*ns = days * NS_PER_DAY + ((int64_t)h * 3600 + mi * 60 + se - off) * NS_PER_SEC + frac;
	if (zoned)
		*zoned = z;
	return 0;
}

int time_parse(const char *s, size_t len, int64_t *ns)
{
	return parse_iso(s, len, ns, NULL);
}

int time_form_from_name(const char *name)
{
	static const char *const names[] = {"auto", "iso", "s", "ms", "us", "ns"};
	for (int i = 0; i < 6; i++)
		if (strcmp(name, names[i]) == 0)
			return i;
	return -1;
}

/* The same span as the ISO forms accept: up to the end of 2200. */
#define EPOCH_MAX_NS (7289654400LL * NS_PER_SEC - 1)

/* digits[.digits] counted in form's unit since the epoch (TIME_AUTO: by magnitude). */
static int parse_epoch(const char *s, size_t len, enum time_form form, int64_t *ns)
{
	uint64_t ip = 0;
	size_t i = 0;
	for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
		if (ip > (UINT64_MAX - 9) / 10)
			return -1;
		ip = ip * 10 + (uint64_t)(s[i] - '0');
	}
	if (i == 0)
		return -1;
	if (form == TIME_AUTO) {
		if (ip < 100000000ULL)
			return -1; /* 20240102 is a date, not 1970-08-23 */
		form = ip < 100000000000ULL	    ? TIME_EPOCH_S
		       : ip < 100000000000000ULL    ? TIME_EPOCH_MS
		       : ip < 100000000000000000ULL ? TIME_EPOCH_US
						    : TIME_EPOCH_NS;
	}
	static const int64_t per_unit[] = {[TIME_EPOCH_S] = NS_PER_SEC,
					   [TIME_EPOCH_MS] = 1000000,
					   [TIME_EPOCH_US] = 1000,
					   [TIME_EPOCH_NS] = 1};
	int64_t per = per_unit[form];
	if (ip > (uint64_t)(EPOCH_MAX_NS / per))
		return -1;
	int64_t t = (int64_t)ip * per;
	if (i < len && s[i] == '.') {
		size_t start = ++i;
		/* digits finer than a nanosecond are dropped */
		for (int64_t scale = per / 10; i < len && s[i] >= '0' && s[i] <= '9';
		     i++, scale /= 10)
			t += (s[i] - '0') * scale;
		if (i == start)
			return -1;
	}
	if (i != len || t > EPOCH_MAX_NS)
		return -1;
	*ns = t;
	return 0;
}

int time_parse_form(const char *s, size_t len, enum time_form form, int64_t *ns, int *zoned)
{
	if (form == TIME_ISO || (form == TIME_AUTO && len > 4 && s[4] == '-'))
		return parse_iso(s, len, ns, zoned);
	*zoned = 1;
	return parse_epoch(s, len, form, ns);
}

static void put2(char *p, unsigned v)
{
	p[0] = (char)('0' + v / 10);
	p[1] = (char)('0' + v % 10);
}

static size_t put_date(int64_t days, char *buf)
{
	int y;
	unsigned m, d;
	time_civil_from_days(days, &y, &m, &d);
	put2(buf, (unsigned)(y / 100) % 100);
	put2(buf + 2, (unsigned)(y % 100));
	buf[4] = '-';
	put2(buf + 5, m);
	buf[7] = '-';
	put2(buf + 8, d);
	return 10;
}

static void split(int64_t ns, int64_t *days, int64_t *rem)
{
	*days = ns / NS_PER_DAY;
	*rem = ns % NS_PER_DAY;
	if (*rem < 0) {
		*rem += NS_PER_DAY;
		(*days)--;
	}
}

static size_t put_clock(int64_t rem, char *p)
{
	unsigned secs = (unsigned)(rem / NS_PER_SEC);
	put2(p, secs / 3600);
	p[2] = ':';
	put2(p + 3, secs / 60 % 60);
	p[5] = ':';
	put2(p + 6, secs % 60);
	return 8;
}

size_t time_format_iso(int64_t ns, char *buf)
{
	int64_t days, rem;
	split(ns, &days, &rem);
	char *p = buf + put_date(days, buf);
	*p++ = 'T';
	p += put_clock(rem, p);
	*p++ = '.';
	unsigned us = (unsigned)(rem % NS_PER_SEC / 1000);
	for (int i = 5; i >= 0; i--, us /= 10)
		p[i] = (char)('0' + us % 10);
	p += 6;
	*p++ = 'Z';
	*p = '\0';
	return (size_t)(p - buf);
}

size_t time_format_short(int64_t ns, char *buf)
{
	int64_t days, rem;
	split(ns, &days, &rem);
	size_t n = put_date(days, buf);
	if (rem != 0) {
		buf[n++] = ' ';
		n += put_clock(rem, buf + n);
	}
	buf[n] = '\0';
	return n;
}
