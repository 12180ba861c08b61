/*
 * fix — FIX 4.4 encoder, framer and zero-copy parser (see fix.h).
 *
 * The encoder writes the body first, at FIX_HEAD_ROOM into the buffer, and
 * then `8=FIX.4.4|9=N|` right-aligned in front of it, so neither a copy nor
 * a second pass is needed. Every read of the parser and framer is checked
 * against the length it was given: no input can make them read outside it.
 */
#include "fix.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "timefmt.h"

_Static_assert(FIX_MAX_FIELDS < 256, "idx holds a field index + 1 in a byte");

static const char fix_prefix[] = "8=" FIX_BEGIN "\0019=";
#define FIX_PREFIX_LEN (sizeof fix_prefix - 1)

/* ------------------------------------------------------------ encoding */

void fix_begin(struct fix_writer *w, char *buf, size_t cap, const char *msgtype)
{
	w->buf = buf;
	w->cap = cap;
	w->len = FIX_HEAD_ROOM;
	w->overflow = cap < FIX_HEAD_ROOM + 8;
	if (!w->overflow)
		fix_add_str(w, 35, msgtype);
}

static char *put_uint(char *p, uint64_t v)
{
	char tmp[24];
	int n = 0;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		*p++ = tmp[--n];
	return p;
}

/* Room for a tag, '=', n value bytes and SOH; the position of the value. */
static char *field_open(struct fix_writer *w, int tag, size_t n)
{
	if (w->overflow || tag <= 0 || w->cap - w->len < n + 14) {
		w->overflow = 1;
		return NULL;
	}
	char *p = put_uint(w->buf + w->len, (uint64_t)tag);
	*p++ = '=';
	return p;
}

static void field_close(struct fix_writer *w, char *end)
{
	*end++ = FIX_SOH;
	w->len = (size_t)(end - w->buf);
}

void fix_add_strn(struct fix_writer *w, int tag, const char *s, size_t n)
{
	char *p = field_open(w, tag, n);
	if (!p)
		return;
	memcpy(p, s, n);
	field_close(w, p + n);
}

void fix_add_str(struct fix_writer *w, int tag, const char *s)
{
	fix_add_strn(w, tag, s, strlen(s));
}

void fix_add_int(struct fix_writer *w, int tag, int64_t v)
{
	char *p = field_open(w, tag, 21);
	if (!p)
		return;
	if (v < 0) {
		*p++ = '-';
		field_close(w, put_uint(p, (uint64_t)0 - (uint64_t)v));
	} else {
		field_close(w, put_uint(p, (uint64_t)v));
	}
}

void fix_add_char(struct fix_writer *w, int tag, char c)
{
	fix_add_strn(w, tag, &c, 1);
}

void fix_add_price(struct fix_writer *w, int tag, double v)
{
	char *p = field_open(w, tag, 40);
	if (!p)
		return;
	if (!isfinite(v))
		v = 0;
	if (fabs(v) < 9e10) { /* v * 1e8 fits an int64 exactly enough */
		int64_t n = llround(v * 1e8);
		if (n < 0) {
			*p++ = '-';
			n = -n;
		}
		p = put_uint(p, (uint64_t)(n / 100000000));
		int64_t frac = n % 100000000;
		if (frac) {
			char d[8];
			int k = 8;
			for (int i = 7; i >= 0; i--, frac /= 10)
				d[i] = (char)('0' + frac % 10);
			while (k > 0 && d[k - 1] == '0')
				k--;
			*p++ = '.';
			memcpy(p, d, (size_t)k);
			p += k;
		}
	} else {
		p += snprintf(p, 40, "%.8f", v);
		while (p[-1] == '0')
			p--;
		if (p[-1] == '.')
			p--;
	}
	field_close(w, p);
}

static char *two(char *p, unsigned v)
{
	p[0] = (char)('0' + v / 10 % 10);
	p[1] = (char)('0' + v % 10);
	return p + 2;
}

void fix_add_time(struct fix_writer *w, int tag, int64_t ns)
{
	char *p = field_open(w, tag, 21);
	if (!p)
		return;
	if (ns < 0)
		ns = 0;
	int64_t days = ns / NS_PER_DAY, rem = ns % NS_PER_DAY;
	int y;
	unsigned m, d;
	time_civil_from_days(days, &y, &m, &d);
	int64_t secs = rem / NS_PER_SEC;
	unsigned ms = (unsigned)(rem % NS_PER_SEC / 1000000);
	p = two(two(p, (unsigned)y / 100), (unsigned)y % 100);
	p = two(two(p, m), d);
	*p++ = '-';
	p = two(p, (unsigned)(secs / 3600));
	*p++ = ':';
	p = two(p, (unsigned)(secs / 60 % 60));
	*p++ = ':';
	p = two(p, (unsigned)(secs % 60));
	*p++ = '.';
	p[0] = (char)('0' + ms / 100);
	p = two(p + 1, ms % 100);
	field_close(w, p);
}

void fix_add_raw(struct fix_writer *w, const char *p, size_t n)
{
	if (w->overflow || w->cap - w->len < n + 8) {
		w->overflow = 1;
		return;
	}
	memcpy(w->buf + w->len, p, n);
	w->len += n;
}

long fix_finish(struct fix_writer *w, const char **msg)
{
	if (w->overflow || w->cap - w->len < 8)
		return -1;
	size_t body = w->len - FIX_HEAD_ROOM;
	if (body > 999999)
		return -1;
	char num[8];
	char *e = put_uint(num, body);
	size_t nlen = (size_t)(e - num);
	size_t head = FIX_PREFIX_LEN + nlen + 1;
	char *start = w->buf + FIX_HEAD_ROOM - head;
	memcpy(start, fix_prefix, FIX_PREFIX_LEN);
	memcpy(start + FIX_PREFIX_LEN, num, nlen);
	start[FIX_PREFIX_LEN + nlen] = FIX_SOH;
	unsigned sum = 0;
	const unsigned char *u = (const unsigned char *)start;
	size_t n = head + body;
	for (size_t i = 0; i < n; i++)
		sum += u[i];
	sum &= 255;
	char *t = w->buf + w->len;
	memcpy(t, "10=", 3); // NOLINT(bugprone-not-null-terminated-result): a field, not a string
	t[3] = (char)('0' + sum / 100);
	t[4] = (char)('0' + sum / 10 % 10);
	t[5] = (char)('0' + sum % 10);
	t[6] = FIX_SOH;
	*msg = start;
	return (long)(n + 7);
}

/* ------------------------------------------------------------ framing */

/* Where the next message might start after the first byte: the first place
 * the prefix matches (as far as the bytes go), else len. */
static size_t resync(const char *buf, size_t len)
{
	for (size_t i = 1; i < len; i++) {
		if (buf[i] != '8')
			continue;
		size_t n = len - i < FIX_PREFIX_LEN ? len - i : FIX_PREFIX_LEN;
		if (memcmp(buf + i, fix_prefix, n) == 0)
			return i;
	}
	return len;
}

int fix_frame(const char *buf, size_t len, size_t max_len, size_t *used, const char **why)
{
	*used = 0;
	*why = NULL;
	if (len == 0)
		return FIX_FRAME_MORE;
	size_t n = len < FIX_PREFIX_LEN ? len : FIX_PREFIX_LEN;
	if (memcmp(buf, fix_prefix, n) != 0) {
		*used = resync(buf, len);
		*why = "bad BeginString";
		return FIX_FRAME_GARBLED;
	}
	if (len < FIX_PREFIX_LEN)
		return FIX_FRAME_MORE;
	size_t i = FIX_PREFIX_LEN, body = 0;
	int digits = 0;
	while (i < len && buf[i] >= '0' && buf[i] <= '9' && digits < 8) {
		body = body * 10 + (size_t)(buf[i] - '0');
		i++;
		digits++;
	}
	if (i == len && digits < 8)
		return FIX_FRAME_MORE;
	if (digits == 0 || digits >= 8 || buf[i] != FIX_SOH || body == 0 ||
	    body + i + 8 > max_len) {
		*used = resync(buf, len);
		*why = "bad BodyLength";
		return FIX_FRAME_GARBLED;
	}
	size_t head = i + 1, total = head + body + 7;
	if (len < total)
		return FIX_FRAME_MORE;
	const char *t = buf + head + body;
	if (t[-1] != FIX_SOH || memcmp(t, "10=", 3) != 0 || t[6] != FIX_SOH || t[3] < '0' ||
	    t[3] > '9' || t[4] < '0' || t[4] > '9' || t[5] < '0' || t[5] > '9') {
		*used = resync(buf, len);
		*why = "bad BodyLength";
		return FIX_FRAME_GARBLED;
	}
	unsigned sum = 0;
	const unsigned char *u = (const unsigned char *)buf;
	for (size_t k = 0; k < head + body; k++)
		sum += u[k];
	unsigned want =
	    (unsigned)(t[3] - '0') * 100 + (unsigned)(t[4] - '0') * 10 + (unsigned)(t[5] - '0');
	*used = total;
	if ((sum & 255) != want) {
		*why = "bad CheckSum";
		return FIX_FRAME_GARBLED;
	}
	return FIX_FRAME_OK;
}

/* ------------------------------------------------------------ parsing */

static int parse_int(const char *s, size_t n, int64_t *out)
{
	size_t i = 0;
	int neg = 0;
	if (n > 0 && s[0] == '-') {
		neg = 1;
		i = 1;
	}
	if (i == n || n - i > 18)
		return -1;
	int64_t v = 0;
	for (; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = neg ? -v : v;
	return 0;
}

static const double pow10s[] = {1e0,  1e1,  1e2,  1e3,	1e4,  1e5,  1e6,  1e7,	1e8, 1e9,
				1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18};

static int parse_double(const char *s, size_t n, double *out)
{
	size_t i = 0;
	int neg = 0, dot = -1, digits = 0;
	if (n > 0 && s[0] == '-') {
		neg = 1;
		i = 1;
	}
	int64_t mant = 0;
	int scale = 0;
	for (; i < n; i++) {
		if (s[i] == '.' && dot < 0) {
			dot = (int)i;
			continue;
		}
		if (s[i] < '0' || s[i] > '9')
			return -1;
		digits++;
		if (mant < 100000000000000000LL) {
			mant = mant * 10 + (s[i] - '0');
			if (dot >= 0)
				scale++;
		} else if (dot < 0) {
			return -1; /* more than 18 integer digits: not a price or quantity */
		}
	}
	if (digits == 0)
		return -1;
	double v = (double)mant / pow10s[scale];
	*out = neg ? -v : v;
	return 0;
}

static int fail(struct fix_error *err, int reason, int tag, const char *text)
{
	err->reason = reason;
	err->ref_tag = tag;
	snprintf(err->text, sizeof err->text, "%s", text);
	return -1;
}

int fix_parse_time(const char *s, size_t len, int64_t *ns)
{
	if (len < 17 || s[8] != '-' || s[11] != ':' || s[14] != ':')
		return -1;
	int v[6];
	static const int at[6] = {0, 4, 6, 9, 12, 15}, w[6] = {4, 2, 2, 2, 2, 2};
	for (int k = 0; k < 6; k++) {
		v[k] = 0;
		for (int j = 0; j < w[k]; j++) {
			char c = s[at[k] + j];
			if (c < '0' || c > '9')
				return -1;
			v[k] = v[k] * 10 + (c - '0');
		}
	}
	/* years as timefmt.c takes them: ns since 1970 fit an int64 through 2262 */
	if (v[0] < 1900 || v[0] > 2200 || v[1] < 1 || v[1] > 12 || v[2] < 1 || v[2] > 31 ||
	    v[3] > 23 || v[4] > 59 || v[5] > 60)
		return -1;
	int64_t frac = 0, scale = NS_PER_SEC;
	if (len > 17) {
		if (s[17] != '.' || len == 18 || len > 27)
			return -1;
		for (size_t i = 18; i < len; i++) {
			if (s[i] < '0' || s[i] > '9')
				return -1;
			frac = frac * 10 + (s[i] - '0');
			scale /= 10;
		}
	}
	int64_t days = time_days_from_civil(v[0], (unsigned)v[1], (unsigned)v[2]);
	*ns = days * NS_PER_DAY + ((int64_t)v[3] * 3600 + v[4] * 60 + v[5]) * NS_PER_SEC +
	      frac * scale;
	return 0;
}

/* The header fields a session needs, checked once every field is indexed. */
static int check_header(struct fix_msg *m, struct fix_error *err)
{
	if (m->nfields < 4 || m->f[2].tag != 35)
		return fail(err, FIX_REJ_OUT_OF_ORDER, 35, "MsgType must be the third field");
	const struct fix_field *t = &m->f[2];
	if (t->len > 3)
		return fail(err, FIX_REJ_BAD_MSGTYPE, 35, "Invalid MsgType");
	for (uint32_t k = 0; k < t->len; k++) {
		char c = m->buf[t->off + k];
		if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')))
			return fail(err, FIX_REJ_BAD_MSGTYPE, 35, "Invalid MsgType");
	}
	memcpy(m->type, m->buf + t->off, t->len);
	m->type[t->len] = '\0';
	size_t n;
	const char *s = fix_get(m, 34, &n);
	if (!s)
		return fail(err, FIX_REJ_REQUIRED_MISSING, 34, "Required tag missing");
	if (parse_int(s, n, &m->seq) != 0 || m->seq <= 0) {
		m->seq = 0;
		return fail(err, FIX_REJ_BAD_FORMAT, 34, "Incorrect data format for value");
	}
	static const int need[] = {49, 56, 52};
	for (size_t k = 0; k < sizeof need / sizeof need[0]; k++)
		if (fix_find(m, need[k]) < 0)
			return fail(err, FIX_REJ_REQUIRED_MISSING, need[k], "Required tag missing");
	int64_t ns;
	s = fix_get(m, 52, &n);
	if (fix_parse_time(s, n, &ns) != 0)
		return fail(err, FIX_REJ_BAD_FORMAT, 52, "Incorrect data format for value");
	s = fix_get(m, 43, &n);
	if (s && (n != 1 || (*s != 'Y' && *s != 'N')))
		return fail(err, FIX_REJ_BAD_VALUE, 43,
			    "Value is incorrect (out of range) for this tag");
	m->poss_dup = s && *s == 'Y';
	return 0;
}

int fix_parse(const char *buf, size_t len, struct fix_msg *m, struct fix_error *err)
{
	m->buf = buf;
	m->len = len;
	m->nfields = 0;
	m->type[0] = '\0';
	m->seq = 0;
	m->poss_dup = 0;
	memset(m->idx, 0, sizeof m->idx);
	size_t i = 0;
	while (i < len) {
		int64_t tag = 0;
		size_t t0 = i;
		while (i < len && buf[i] >= '0' && buf[i] <= '9' && i - t0 < 9)
			tag = tag * 10 + (buf[i++] - '0');
		if (i == t0 || i >= len || buf[i] != '=' || tag == 0)
			return fail(err, FIX_REJ_INVALID_TAG, 0, "Invalid tag number");
		size_t v0 = ++i;
		const char *soh = memchr(buf + i, FIX_SOH, len - i);
		if (!soh)
			return fail(err, FIX_REJ_BAD_FORMAT, (int)tag, "Field not terminated");
		i = (size_t)(soh - buf);
		if (i == v0)
			return fail(err, FIX_REJ_NO_VALUE, (int)tag,
				    "Tag specified without a value");
		if (m->nfields == FIX_MAX_FIELDS)
			return fail(err, FIX_REJ_OTHER, (int)tag, "Too many fields");
		if (tag < FIX_IDX_TAGS && !m->idx[tag])
			m->idx[tag] = (unsigned char)(m->nfields + 1); /* FIX_MAX_FIELDS < 256 */
		m->f[m->nfields++] = (struct fix_field){(int)tag, (uint32_t)v0, (uint32_t)(i - v0)};
		i++;
	}
	return check_header(m, err);
}

int fix_find(const struct fix_msg *m, int tag)
{
	if (tag >= 0 && tag < FIX_IDX_TAGS)
		return m->idx[tag] - 1;
	for (int i = 0; i < m->nfields; i++)
		if (m->f[i].tag == tag)
			return i;
	return -1;
}

const char *fix_get(const struct fix_msg *m, int tag, size_t *len)
{
	int i = fix_find(m, tag);
	if (i < 0)
		return NULL;
	*len = m->f[i].len;
	return m->buf + m->f[i].off;
}

int fix_get_int(const struct fix_msg *m, int tag, int64_t *out)
{
	size_t n;
	const char *s = fix_get(m, tag, &n);
	return s ? parse_int(s, n, out) : -1;
}

int fix_get_double(const struct fix_msg *m, int tag, double *out)
{
	size_t n;
	const char *s = fix_get(m, tag, &n);
	return s ? parse_double(s, n, out) : -1;
}

char fix_get_char(const struct fix_msg *m, int tag)
{
	size_t n;
	const char *s = fix_get(m, tag, &n);
	return s && n == 1 ? *s : 0;
}

int fix_get_str(const struct fix_msg *m, int tag, char *out, size_t cap)
{
	size_t n;
	const char *s = fix_get(m, tag, &n);
	if (!s || cap == 0)
		return -1;
	if (n >= cap)
		n = cap - 1;
	memcpy(out, s, n);
	out[n] = '\0';
	return 0;
}

int fix_is_admin(const char *type)
{
	return type[0] && !type[1] && strchr("012345A", type[0]) != NULL;
}
