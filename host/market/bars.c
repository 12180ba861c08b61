/*
 * bars — the CSV reader. The file is mmap'd and scanned once; fields are
 * (pointer, length) views into the mapping, numbers are parsed in place with
 * an exact fast path (Clinger: mantissa < 2^53, |exp10| <= 22) and strtod on
 * a small stack copy otherwise.
 */
#include "bars.h"
#include "grow.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "timefmt.h"

enum { C_TIME, C_OPEN, C_HIGH, C_LOW, C_CLOSE, C_VOLUME, C_SYMBOL };
static const char *const col_names[] = {"datetime", "open", "high", "low", "close", "volume",
					"symbol"};

static const double pow10_tab[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
				   1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
				   1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

int bars_parse_number(const char *s, size_t len, double *out)
{
	const char *p = s, *end = s + len;
	int neg = 0, ndig = 0, sig = 0, exp10 = 0, dropped = 0;
	uint64_t mant = 0;
	if (p < end && (*p == '-' || *p == '+'))
		neg = *p++ == '-';
	/* sig counts significant digits (leading zeros are not); past 19 the
	 * fast path cannot be exact, and strtod rounds instead */
	for (; p < end && *p >= '0' && *p <= '9'; p++, ndig++) {
		if (sig < 19) {
			mant = mant * 10 + (uint64_t)(*p - '0');
			sig += mant != 0;
		} else {
			exp10++;
			dropped = 1;
		}
	}
	if (p < end && *p == '.') {
		for (p++; p < end && *p >= '0' && *p <= '9'; p++, ndig++) {
			if (sig < 19) {
				mant = mant * 10 + (uint64_t)(*p - '0');
				sig += mant != 0;
				exp10--;
			} else {
				dropped = 1;
			}
		}
	}
	if (ndig == 0)
		return -1;
	if (p == end && !dropped && mant < (1ULL << 53) && exp10 >= -22 && exp10 <= 22) {
		double v = (double)mant;
		v = exp10 < 0 ? v / pow10_tab[-exp10] : v * pow10_tab[exp10];
		*out = neg ? -v : v;
		return 0;
	}
	/* exponent, or too many digits: let strtod round it */
	char buf[400];
	if (len >= sizeof buf)
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	for (size_t i = 0; i < len; i++)
		if (!strchr("0123456789+-.eE", buf[i]))
			return -1;
	char *e;
	errno = 0;
	double v = strtod(buf, &e);
	if (e != buf + len || errno == ERANGE || !isfinite(v))
		return -1;
	*out = v;
	return 0;
}

/* Splits one line into fields. Returns the number of fields (may exceed max). */
static int split_fields(const char *line, size_t len, const char **f, size_t *flen, int max)
{
	int n = 0;
	const char *start = line, *end = line + len;
	for (const char *p = line;; p++) {
		if (p == end || *p == ',') {
			if (n < max) {
				const char *a = start, *b = p;
				while (a < b && (*a == ' ' || *a == '"'))
					a++;
				while (b > a && (b[-1] == ' ' || b[-1] == '"'))
					b--;
				f[n] = a;
				flen[n] = (size_t)(b - a);
			}
			n++;
			if (p == end)
				break;
			start = p + 1;
		}
	}
	return n;
}

/* The next line as a view, without its \r\n. Returns 0 at the end of the data. */
static int next_line(struct bars_file *bf, const char **line, size_t *len)
{
	while (bf->pos < bf->size) {
		const char *s = bf->data + bf->pos;
		const char *nl = memchr(s, '\n', bf->size - bf->pos);
		size_t n = nl ? (size_t)(nl - s) : bf->size - bf->pos;
		bf->pos += n + (nl != NULL);
		bf->line++;
		if (n > 0 && s[n - 1] == '\r')
			n--;
		if (n == 0)
			continue; /* blank lines are allowed */
		*line = s;
		*len = n;
		return 1;
	}
	return 0;
}

static const char *base_symbol(const char *path, char *buf, size_t cap)
{
	const char *b = strrchr(path, '/');
	b = b ? b + 1 : path;
	size_t n = strcspn(b, ".");
	if (n >= cap)
		n = cap - 1;
	memcpy(buf, b, n);
	buf[n] = '\0';
	return buf;
}

static int read_header(struct bars_file *bf, const char *default_symbol, char *err, size_t errlen)
{
	const char *line, *f[BARS_MAX_COLS];
	size_t len, fl[BARS_MAX_COLS];
	if (!next_line(bf, &line, &len)) {
		errf(err, errlen, "%s: empty file (expected a header line "
				  "datetime,open,high,low,close,volume)", bf->path);
		return -1;
	}
	int n = split_fields(line, len, f, fl, BARS_MAX_COLS);
	if (n > BARS_MAX_COLS) {
		errf(err, errlen, "%s:%d: too many columns (%d, at most %d)", bf->path, bf->line, n,
		     BARS_MAX_COLS);
		return -1;
	}
	bf->ncols = n;
	for (int c = 0; c < 7; c++)
		bf->col[c] = -1;
	for (int i = 0; i < n; i++) {
		for (int c = 0; c < 7; c++) {
			size_t cl = strlen(col_names[c]);
			int match = fl[i] == cl && strncasecmp(f[i], col_names[c], cl) == 0;
			if (c == C_TIME && !match)
				match = (fl[i] == 4 && strncasecmp(f[i], "date", 4) == 0) ||
					(fl[i] == 9 && strncasecmp(f[i], "timestamp", 9) == 0);
			if (match) {
				if (bf->col[c] >= 0) {
					errf(err, errlen, "%s:%d: column '%s' appears twice", bf->path,
					     bf->line, col_names[c]);
					return -1;
				}
				bf->col[c] = i;
			}
		}
	}
	int have = 0;
	for (int c = 0; c < 6; c++)
		have += bf->col[c] >= 0;
	if (have == 0) {
		errf(err, errlen, "%s:%d: missing header: expected datetime,open,high,low,close,volume "
				  "(and optionally symbol)", bf->path, bf->line);
		return -1;
	}
	for (int c = 0; c < 6; c++) {
		if (bf->col[c] < 0) {
			errf(err, errlen, "%s:%d: header has no '%s' column (expected "
					  "datetime,open,high,low,close,volume)", bf->path, bf->line,
			     col_names[c]);
			return -1;
		}
	}
	if (bf->col[C_SYMBOL] < 0) {
		char buf[SYMTAB_NAME_MAX + 1];
		const char *sym = default_symbol ? default_symbol : base_symbol(bf->path, buf, sizeof buf);
		bf->default_sym = symtab_intern(bf->symtab, sym, strlen(sym));
		if (bf->default_sym < 0) {
			errf(err, errlen, "%s: bad symbol name '%s'", bf->path, sym);
			return -1;
		}
	}
	return 0;
}

int bars_open(struct bars_file *bf, const char *path, struct symtab *st,
	      const char *default_symbol, char *err, size_t errlen)
{
	memset(bf, 0, sizeof *bf);
	bf->path = path;
	bf->symtab = st;
	bf->last_time = INT64_MIN;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		errf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	struct stat sb;
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		errf(err, errlen, "%s: not a regular file", path);
		close(fd);
		return -1;
	}
	bf->size = (size_t)sb.st_size;
	if (bf->size > 0) {
		void *m = mmap(NULL, bf->size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
		if (m == MAP_FAILED) {
			errf(err, errlen, "%s: cannot map: %s", path, strerror(errno));
			close(fd);
			return -1;
		}
		madvise(m, bf->size, MADV_SEQUENTIAL);
		bf->data = m;
		if (bf->size >= 3 && memcmp(m, "\xEF\xBB\xBF", 3) == 0)
			bf->pos = 3; /* a UTF-8 byte order mark, as spreadsheets write */
	}
	close(fd);
	if (read_header(bf, default_symbol, err, errlen) != 0) {
		bars_close(bf);
		return -1;
	}
	return 0;
}

void bars_close(struct bars_file *bf)
{
	if (bf->data)
		munmap((void *)bf->data, bf->size);
	free(bf->last_by_sym);
	bf->data = NULL;
	bf->last_by_sym = NULL;
}

static int field_number(struct bars_file *bf, const char *f, size_t fl, int c, double *out,
			char *err, size_t errlen)
{
	if (bars_parse_number(f, fl, out) != 0) {
		errf(err, errlen, "%s:%d: bad number '%.*s' in column '%s'", bf->path, bf->line,
		     (int)(fl > 40 ? 40 : fl), f, col_names[c]);
		return -1;
	}
	return 0;
}

static int track_symbol_time(struct bars_file *bf, int sym, int64_t t, char *err, size_t errlen)
{
	int had = bf->nlast;
	int64_t *p = grow_array(bf->last_by_sym, &bf->nlast, sym + 1, sizeof *p, 16);
	if (!p) {
		errf(err, errlen, "%s: out of memory", bf->path);
		return -1;
	}
	for (int i = had; i < bf->nlast; i++)
		p[i] = INT64_MIN; /* no row of this symbol yet */
	bf->last_by_sym = p;
	if (bf->last_by_sym[sym] == t) {
		char a[32];
		time_format_short(t, a);
		errf(err, errlen, "%s:%d: duplicate time %s for %s", bf->path, bf->line, a,
		     symtab_name(bf->symtab, sym));
		return -1;
	}
	bf->last_by_sym[sym] = t;
	return 0;
}

static int check_ohlc(struct bars_file *bf, const struct bar *b, char *err, size_t errlen)
{
	if (b->high < b->low) {
		errf(err, errlen, "%s:%d: high %.10g is below low %.10g", bf->path, bf->line, b->high,
		     b->low);
		return -1;
	}
	if (b->low <= 0) {
		errf(err, errlen, "%s:%d: prices must be positive (low is %.10g)", bf->path, bf->line,
		     b->low);
		return -1;
	}
	if (b->open < b->low || b->open > b->high || b->close < b->low || b->close > b->high) {
		errf(err, errlen, "%s:%d: %s %.10g is outside low..high %.10g..%.10g", bf->path,
		     bf->line, (b->open < b->low || b->open > b->high) ? "open" : "close",
		     (b->open < b->low || b->open > b->high) ? b->open : b->close, b->low, b->high);
		return -1;
	}
	if (b->volume < 0) {
		errf(err, errlen, "%s:%d: negative volume %.10g", bf->path, bf->line, b->volume);
		return -1;
	}
	return 0;
}

int bars_next(struct bars_file *bf, struct bar *out, char *err, size_t errlen)
{
	const char *line, *f[BARS_MAX_COLS];
	size_t len, fl[BARS_MAX_COLS];
	if (!next_line(bf, &line, &len)) {
		if (bf->rows == 0) {
			errf(err, errlen, "%s: no bars after the header", bf->path);
			return -1;
		}
		return 0;
	}
	int n = split_fields(line, len, f, fl, BARS_MAX_COLS);
	if (n != bf->ncols) {
		errf(err, errlen, "%s:%d: expected %d fields, got %d", bf->path, bf->line, bf->ncols, n);
		return -1;
	}
	int ct = bf->col[C_TIME];
	if (time_parse(f[ct], fl[ct], &out->time) != 0) {
		errf(err, errlen, "%s:%d: bad datetime '%.*s' (expected YYYY-MM-DD, "
				  "YYYY-MM-DD HH:MM:SS or YYYY-MM-DDTHH:MM:SS, UTC)", bf->path, bf->line,
		     (int)(fl[ct] > 40 ? 40 : fl[ct]), f[ct]);
		return -1;
	}
	double *dst[5] = {&out->open, &out->high, &out->low, &out->close, &out->volume};
	for (int c = C_OPEN; c <= C_VOLUME; c++)
		if (field_number(bf, f[bf->col[c]], fl[bf->col[c]], c, dst[c - 1], err, errlen))
			return -1;
	if (bf->col[C_SYMBOL] >= 0) {
		int cs = bf->col[C_SYMBOL];
		out->sym = symtab_intern(bf->symtab, f[cs], fl[cs]);
		if (out->sym < 0) {
			errf(err, errlen, "%s:%d: bad symbol '%.*s' (1 to %d characters)", bf->path,
			     bf->line, (int)(fl[cs] > 40 ? 40 : fl[cs]), f[cs], SYMTAB_NAME_MAX);
			return -1;
		}
	} else {
		out->sym = bf->default_sym;
	}
	if (check_ohlc(bf, out, err, errlen))
		return -1;
	if (out->time < bf->last_time) {
		char a[32], b[32];
		time_format_short(out->time, a);
		time_format_short(bf->last_time, b);
		errf(err, errlen, "%s:%d: time %s goes back (the previous row is %s): rows must be "
				  "in time order", bf->path, bf->line, a, b);
		return -1;
	}
	if (bf->col[C_SYMBOL] < 0 && out->time == bf->last_time) {
		char a[32];
		time_format_short(out->time, a);
		errf(err, errlen, "%s:%d: duplicate time %s", bf->path, bf->line, a);
		return -1;
	}
	if (bf->col[C_SYMBOL] >= 0 && track_symbol_time(bf, out->sym, out->time, err, errlen))
		return -1;
	bf->last_time = out->time;
	bf->rows++;
	return 1;
}

int bars_feed_open(struct bars_feed *f, const char *const *paths, int n, struct symtab *st,
		   const char *default_symbol, char *err, size_t errlen)
{
	memset(f, 0, sizeof *f);
	f->files = calloc((size_t)n, sizeof *f->files);
	f->head = calloc((size_t)n, sizeof *f->head);
	f->live = calloc((size_t)n, sizeof *f->live);
	if (!f->files || !f->head || !f->live) {
		errf(err, errlen, "out of memory");
		bars_feed_close(f);
		return -1;
	}
	for (int i = 0; i < n; i++) {
		/* --symbol names the symbol of a file without a symbol column; with
		 * several files each takes its own base name unless only one is given */
		if (bars_open(&f->files[i], paths[i], st, n == 1 ? default_symbol : NULL, err,
			      errlen) != 0) {
			bars_feed_close(f);
			return -1;
		}
		f->n = i + 1;
		int r = bars_next(&f->files[i], &f->head[i], err, errlen);
		if (r < 0) {
			bars_feed_close(f);
			return -1;
		}
		f->live[i] = r;
	}
	return 0;
}

int bars_feed_next(struct bars_feed *f, struct bar *out, char *err, size_t errlen)
{
	int best = -1;
	for (int i = 0; i < f->n; i++)
		if (f->live[i] && (best < 0 || f->head[i].time < f->head[best].time))
			best = i;
	if (best < 0)
		return 0;
	*out = f->head[best];
	int r = bars_next(&f->files[best], &f->head[best], err, errlen);
	if (r < 0)
		return -1;
	f->live[best] = r;
	return 1;
}

void bars_feed_close(struct bars_feed *f)
{
	for (int i = 0; i < f->n; i++)
		bars_close(&f->files[i]);
	free(f->files);
	free(f->head);
	free(f->live);
	memset(f, 0, sizeof *f);
}
