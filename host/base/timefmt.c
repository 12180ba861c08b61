/*
 * timefmt — Howard Hinnant's civil-date algorithms, in integers.
 */
#include "timefmt.h"

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

int time_parse(const char *s, size_t len, int64_t *ns)
{
	int y, mo, d, h = 0, mi = 0, se = 0;
	int64_t frac = 0;
	if (len > 0 && s[len - 1] == 'Z')
		len--;
	if (len < 10 || s[4] != '-' || s[7] != '-' || digits(s, 4, &y) || digits(s + 5, 2, &mo) ||
	    digits(s + 8, 2, &d))
		return -1;
	if (y < 1900 || y > 2200 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo))
		return -1;
	if (len > 10) {
		if (len < 19 || (s[10] != ' ' && s[10] != 'T') || s[13] != ':' || s[16] != ':' ||
		    digits(s + 11, 2, &h) || digits(s + 14, 2, &mi) || digits(s + 17, 2, &se))
			return -1;
		if (h > 23 || mi > 59 || se > 59)
			return -1;
		if (len > 19) {
			if (s[19] != '.' || len == 20 || len > 29)
				return -1;
			int64_t scale = 100000000;
			for (size_t i = 20; i < len; i++, scale /= 10) {
				if (s[i] < '0' || s[i] > '9')
					return -1;
				frac += (s[i] - '0') * scale;
			}
		}
	}
	int64_t days = time_days_from_civil(y, (unsigned)mo, (unsigned)d);
	*ns = days * NS_PER_DAY + ((int64_t)h * 3600 + mi * 60 + se) * NS_PER_SEC + frac;
	return 0;
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
