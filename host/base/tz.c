/*
 * tz — a TZif file (RFC 8536) as a table of transitions: the instants (UTC
 * seconds, from the file's 64-bit section) and the offset in force from each.
 * Before the first transition the file's first time type holds; after the
 * last, the POSIX rule of its footer (`EST5EDT,M3.2.0,M11.1.0`): Debian's
 * files list transitions up to 2037, slim files only up to the last change
 * of rule, and the footer covers the rest either way.
 */
#include "tz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "timefmt.h"

#define TZ_FILE_MAX (1u << 20)

/* A day of the year in a POSIX rule: `Jn` (1..365, February 29 never
 * counted), `n` (0..365) or `Mm.w.d` (day d of week w of month m, week 5 the
 * last), and the wall-clock time of the change. */
struct tz_day {
	char kind; /* 'J', 'n' or 'M' */
	int n, m, w, d;
	int32_t time;
};

struct tz {
	char name[128];
	int64_t *at;  /* transition instants, increasing */
	int32_t *off; /* the offset from at[i] on */
	int n;
	int32_t first_off; /* before at[0] */
	/* the footer's rule, for instants from at[n-1] on */
	int has_rule, has_dst;
	int32_t std_off, dst_off;
	struct tz_day start, end;
};

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p)
{
	return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

/* ---------------------------------------------------------------- POSIX rule */

static const char *rule_name(const char *p)
{
	if (*p == '<') {
		const char *e = strchr(p, '>');
		return e && e - p >= 4 ? e + 1 : NULL;
	}
	const char *s = p;
	while ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z'))
		p++;
	return p - s >= 3 ? p : NULL;
}

static const char *rule_num(const char *p, int max, int *out)
{
	int v = 0, nd = 0;
	for (; *p >= '0' && *p <= '9' && nd < 4; p++, nd++)
		v = v * 10 + (*p - '0');
	if (nd == 0 || v > max)
		return NULL;
	*out = v;
	return p;
}

/* [+-]hh[:mm[:ss]] in seconds; hours up to 167 (RFC 8536's extension). */
static const char *rule_hms(const char *p, int32_t *out)
{
	int sign = 1, h, m = 0, s = 0;
	if (*p == '+' || *p == '-')
		sign = *p++ == '-' ? -1 : 1;
	if (!(p = rule_num(p, 167, &h)))
		return NULL;
	if (*p == ':' && !(p = rule_num(p + 1, 59, &m)))
		return NULL;
	if (*p == ':' && !(p = rule_num(p + 1, 59, &s)))
		return NULL;
	*out = sign * (h * 3600 + m * 60 + s);
	return p;
}

static const char *rule_day(const char *p, struct tz_day *d)
{
	memset(d, 0, sizeof *d);
	d->time = 2 * 3600;
	if (*p == 'J') {
		d->kind = 'J';
		p = rule_num(p + 1, 365, &d->n);
		if (p && d->n < 1)
			return NULL;
	} else if (*p == 'M') {
		d->kind = 'M';
		if (!(p = rule_num(p + 1, 12, &d->m)) || d->m < 1 || *p != '.' ||
		    !(p = rule_num(p + 1, 5, &d->w)) || d->w < 1 || *p != '.' ||
		    !(p = rule_num(p + 1, 6, &d->d)))
			return NULL;
	} else {
		d->kind = 'n';
		p = rule_num(p, 365, &d->n);
	}
	if (p && *p == '/')
		p = rule_hms(p + 1, &d->time);
	return p;
}

/* std offset [dst [offset] [,start[/time],end[/time]]]; offsets count west. */
static int parse_rule(struct tz *z, const char *p)
{
	int32_t west;
	if (!(p = rule_name(p)) || !(p = rule_hms(p, &west)))
		return -1;
	z->std_off = -west;
	z->has_rule = 1;
	if (*p == '\0')
		return 0;
	if (!(p = rule_name(p)))
		return -1;
	z->has_dst = 1;
	z->dst_off = z->std_off + 3600;
	if (*p != ',' && *p != '\0') {
		if (!(p = rule_hms(p, &west)))
			return -1;
		z->dst_off = -west;
	}
	if (*p == '\0') /* no dates: the US rule, as POSIX systems default */
		p = ",M3.2.0,M11.1.0";
	if (*p != ',' || !(p = rule_day(p + 1, &z->start)) || *p != ',' ||
	    !(p = rule_day(p + 1, &z->end)) || *p != '\0')
		return -1;
	return 0;
}

static int is_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* The day (since the epoch) a rule names in year y. */
static int64_t rule_days(const struct tz_day *d, int y)
{
	int64_t jan1 = time_days_from_civil(y, 1, 1);
	if (d->kind == 'J')
		return jan1 + d->n - 1 + (is_leap(y) && d->n >= 60);
	if (d->kind == 'n')
		return jan1 + d->n;
	static const int dim[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int64_t first = time_days_from_civil(y, (unsigned)d->m, 1);
	int dow = (int)(((first + 4) % 7 + 7) % 7); /* 1970-01-01 was a Thursday */
	int day = 1 + (d->d - dow + 7) % 7 + (d->w - 1) * 7;
	int last = dim[d->m - 1] + (d->m == 2 && is_leap(y));
	while (day > last)
		day -= 7;
	return first + day - 1;
}

static int32_t rule_offset(const struct tz *z, int64_t t)
{
	if (!z->has_dst)
		return z->std_off;
	int y;
	unsigned m, d;
	int64_t local = t + z->std_off;
	time_civil_from_days(local / 86400 - (local % 86400 < 0), &y, &m, &d);
	/* each change happens at its wall-clock time, read in the offset before it */
	int64_t start = rule_days(&z->start, y) * 86400 + z->start.time - z->std_off;
	int64_t end = rule_days(&z->end, y) * 86400 + z->end.time - z->dst_off;
	int dst = start < end ? (t >= start && t < end) : !(t >= end && t < start);
	return dst ? z->dst_off : z->std_off;
}

/* ---------------------------------------------------------------- TZif */

/* The file's counts: isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt. */
static int header(const unsigned char *p, size_t avail, uint32_t c[6])
{
	if (avail < 44 || memcmp(p, "TZif", 4) != 0)
		return -1;
	for (int i = 0; i < 6; i++) {
		c[i] = be32(p + 20 + 4 * i);
		if (c[i] > TZ_FILE_MAX)
			return -1;
	}
	return 0;
}

static size_t block_size(const uint32_t c[6], size_t tsize)
{
	return c[3] * tsize + c[3] + c[4] * 6 + c[5] + c[2] * (tsize + 4) + c[1] + c[0];
}

/* 0, or -1 with why in err. */
static int parse_tzif(struct tz *z, const unsigned char *p, size_t size, char *err, size_t errlen)
{
	uint32_t c[6];
	size_t tsize = 4;
	if (header(p, size, c) != 0)
		return errf(err, errlen, "not a TZif file"), -1;
	size_t v1 = block_size(c, 4);
	const unsigned char *end = p + size, *data = p + 44;
	if (p[4] >= '2') { /* skip the 32-bit section for the 64-bit one */
		if (v1 > size - 44 || header(data + v1, (size_t)(end - data - v1), c) != 0)
			return errf(err, errlen, "a truncated TZif file"), -1;
		data += v1 + 44;
		tsize = 8;
	}
	size_t body = block_size(c, tsize);
	if (body > (size_t)(end - data) || c[4] == 0)
		return errf(err, errlen, "a truncated TZif file"), -1;
	if (c[2] != 0)
		return errf(err, errlen,
			    "a zone with leap seconds (the right/ zones): use the "
			    "zone's plain name"),
		       -1;
	const unsigned char *times = data, *idx = times + c[3] * tsize, *types = idx + c[3];
	z->n = (int)c[3];
	z->at = calloc(c[3] + 1, sizeof *z->at);
	z->off = calloc(c[3] + 1, sizeof *z->off);
	if (!z->at || !z->off)
		return errf(err, errlen, "out of memory"), -1;
	for (uint32_t i = 0; i < c[3]; i++) {
		z->at[i] = tsize == 8 ? be64(times + 8 * i) : (int32_t)be32(times + 4 * i);
		if (idx[i] >= c[4] || (i > 0 && z->at[i] <= z->at[i - 1]))
			return errf(err, errlen, "a malformed TZif file"), -1;
		z->off[i] = (int32_t)be32(types + 6 * idx[i]);
	}
	z->first_off = (int32_t)be32(types);
	if (tsize == 8) { /* the footer: \nRULE\n */
		const unsigned char *f = data + body;
		const unsigned char *nl =
		    f < end && *f == '\n' ? memchr(f + 1, '\n', (size_t)(end - f - 1)) : NULL;
		char rule[256];
		size_t len = nl ? (size_t)(nl - f - 1) : 0;
		if (len > 0 && len < sizeof rule) {
			memcpy(rule, f + 1, len);
			rule[len] = '\0';
			if (parse_rule(z, rule) != 0)
				return errf(err, errlen, "a rule this reader does not know: %s",
					    rule),
				       -1;
		}
	}
	return 0;
}

/* A name as the tz database spells them, and nothing that leaves its folder. */
static int name_ok(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n >= sizeof((struct tz *)0)->name || name[0] == '/' || name[0] == '.')
		return 0;
	for (size_t i = 0; i < n; i++) {
		char ch = name[i];
		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		      (ch >= '0' && ch <= '9') || strchr("/_+-.", ch)))
			return 0;
		if (ch == '.' && name[i + 1] == '.')
			return 0;
	}
	return 1;
}

static unsigned char *read_all(const char *path, size_t *size)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	unsigned char *buf = malloc(TZ_FILE_MAX);
	size_t n = buf ? fread(buf, 1, TZ_FILE_MAX, f) : 0;
	fclose(f);
	*size = n;
	return buf;
}

struct tz *tz_load(const char *name, char *err, size_t errlen)
{
	char path[300], why[200];
	if (!name_ok(name)) {
		errf(err, errlen,
		     "unknown time zone '%s' (a name of the tz database, e.g. "
		     "America/New_York, Europe/London, UTC)",
		     name);
		return NULL;
	}
	snprintf(path, sizeof path, "%s/%s", TZ_DIR, name);
	size_t size = 0;
	unsigned char *data = read_all(path, &size);
	if (!data) {
		FILE *utc = fopen(TZ_DIR "/UTC", "rb");
		if (utc)
			fclose(utc);
		errf(err, errlen, "unknown time zone '%s' (%s)", name,
		     utc ? "not in " TZ_DIR ": a name of the tz database, e.g. America/New_York, "
			   "Europe/London, UTC"
			 : "no tz database in " TZ_DIR ": install the tzdata package");
		return NULL;
	}
	struct tz *z = calloc(1, sizeof *z);
	if (!z || parse_tzif(z, data, size, why, sizeof why) != 0) {
		errf(err, errlen, "unknown time zone '%s' (%s: %s)", name, path,
		     z ? why : "out of memory");
		free(data);
		tz_free(z);
		return NULL;
	}
	free(data);
	snprintf(z->name, sizeof z->name, "%s", name);
	return z;
}

void tz_free(struct tz *z)
{
	if (!z)
		return;
	free(z->at);
	free(z->off);
	free(z);
}

const char *tz_name(const struct tz *z)
{
	return z->name;
}

int32_t tz_offset_at(const struct tz *z, int64_t t)
{
	if (z->n == 0)
		return z->has_rule ? rule_offset(z, t) : z->first_off;
	if (t < z->at[0])
		return z->first_off;
	if (t >= z->at[z->n - 1])
		return z->has_rule ? rule_offset(z, t) : z->off[z->n - 1];
	int lo = 0, hi = z->n - 1; /* at[lo] <= t < at[hi] */
	while (hi - lo > 1) {
		int mid = lo + (hi - lo) / 2;
		if (z->at[mid] <= t)
			lo = mid;
		else
			hi = mid;
	}
	return z->off[lo];
}

int tz_local_to_utc(const struct tz *z, int64_t local, int64_t out[2])
{
	/* every offset is within a day and two hours of UTC, so an instant that
	 * reads `local` lies within that much of it: try the offsets in force
	 * at both ends of that span and at its middle */
	const int64_t span = 26 * 3600;
	int32_t offs[3] = {tz_offset_at(z, local - span), tz_offset_at(z, local),
			   tz_offset_at(z, local + span)};
	int64_t found[3];
	int n = 0;
	for (int i = 0; i < 3; i++) {
		int64_t u = local - offs[i];
		int dup = 0;
		for (int k = 0; k < n; k++)
			dup |= found[k] == u;
		if (!dup && tz_offset_at(z, u) == offs[i])
			found[n++] = u;
	}
	for (int i = 1; i < n; i++) /* earliest first */
		for (int k = i; k > 0 && found[k] < found[k - 1]; k--) {
			int64_t t = found[k];
			found[k] = found[k - 1];
			found[k - 1] = t;
		}
	if (n > 0) {
		out[0] = found[0];
		out[1] = found[n - 1]; /* three readings in two days: the first and the last */
	}
	return n > 2 ? 2 : n;
}
