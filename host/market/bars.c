/*
 * bars — the CSV reader. The file is mmap'd and scanned once; fields are
 * (pointer, length) views into the mapping, numbers are parsed in place with
 * an exact fast path (Clinger: mantissa < 2^53, |exp10| <= 22) and strtod on
 * a small stack copy otherwise. Whatever the options ask (a time zone, the
 * adjustment, skipping) costs a row nothing until it applies: a missing
 * value is looked for only once a field has failed to parse.
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
#include "tz.h"

const char *const bars_field_names[BARS_NFIELDS + 1] = {
    "datetime", "open", "high", "low", "close", "volume", "symbol", "adj_close", NULL};

/* Other header names of a field, as data vendors write them (Yahoo's `Date`
 * and `Adj Close`, Binance's `open_time`); case does not matter. */
static const struct {
	int field;
	const char *name;
} aliases[] = {
    {BARS_TIME, "date"},      {BARS_TIME, "time"},	     {BARS_TIME, "timestamp"},
    {BARS_TIME, "open_time"}, {BARS_ADJ_CLOSE, "adj close"}, {BARS_ADJ_CLOSE, "adjclose"},
};

/* Rows that need no further line each once this many were shown. */
#define SKIPS_SHOWN 10

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

static int name_is(const char *f, size_t fl, const char *name, size_t len)
{
	return fl == len && strncasecmp(f, name, len) == 0;
}

/* The field --columns calls name (len bytes), or BARS_NFIELDS. */
static int field_named(const char *name, size_t len)
{
	int k = 0;
	while (k < BARS_NFIELDS &&
	       !name_is(name, len, bars_field_names[k], strlen(bars_field_names[k])))
		k++;
	return k;
}

int bars_columns(struct bars_options *o, const char *spec, char *err, size_t errlen)
{
	for (const char *p = spec;; p++) {
		size_t n = strcspn(p, ",");
		const char *eq = memchr(p, '=', n);
		if (!eq || eq == p || eq + 1 == p + n) {
			errf(err, errlen, "'%.*s': expected FIELD=NAME (the column NAME of the "
					  "header holds FIELD)", (int)n, p);
			return -1;
		}
		int k = field_named(p, (size_t)(eq - p));
		if (k == BARS_NFIELDS) {
			errf(err, errlen, "'%.*s': unknown field '%.*s' (fields: datetime, open, "
					  "high, low, close, volume, symbol, adj_close)", (int)n, p,
			     (int)(eq - p), p);
			return -1;
		}
		o->name[k] = eq + 1;
		o->namelen[k] = (size_t)(p + n - eq - 1);
		p += n;
		if (*p == '\0')
			return 0;
	}
}

/* Does header column i hold field c? By the name the options give c, else
 * by c's usual names unless the options give column i to another field. */
static int column_is(const struct bars_options *o, int c, const char *f, size_t fl)
{
	if (o->name[c])
		return name_is(f, fl, o->name[c], o->namelen[c]);
	for (int k = 0; k < BARS_NFIELDS; k++)
		if (o->name[k] && name_is(f, fl, o->name[k], o->namelen[k]))
			return 0;
	if (name_is(f, fl, bars_field_names[c], strlen(bars_field_names[c])))
		return 1;
	for (size_t a = 0; a < sizeof aliases / sizeof aliases[0]; a++)
		if (aliases[a].field == c &&
		    name_is(f, fl, aliases[a].name, strlen(aliases[a].name)))
			return 1;
	return 0;
}

/* A first line with a number in it is data, not a header. */
static int is_data_line(const char *const *f, const size_t *fl, int n)
{
	double v;
	for (int i = 0; i < n && i < BARS_MAX_COLS; i++)
		if (bars_parse_number(f[i], fl[i], &v) == 0)
			return 1;
	return 0;
}

static int map_columns(struct bars_file *bf, const char *const *f, const size_t *fl, int n,
		       char *err, size_t errlen)
{
	for (int c = 0; c < BARS_NFIELDS; c++)
		bf->col[c] = -1;
	for (int i = 0; i < n; i++) {
		for (int c = 0; c < BARS_NFIELDS; c++) {
			if (!column_is(&bf->opt, c, f[i], fl[i]))
				continue;
			if (bf->col[c] >= 0) {
				int j = bf->col[c];
				errf(err, errlen,
				     "%s:%d: column '%s' appears twice (%.*s and %.*s): "
				     "--columns %s=NAME picks one",
				     bf->path, bf->line, bars_field_names[c], (int)fl[j], f[j],
				     (int)fl[i], f[i], bars_field_names[c]);
				return -1;
			}
			bf->col[c] = i;
		}
	}
	for (int c = 0; c <= BARS_ADJ_CLOSE; c++) {
		if (bf->col[c] >= 0 || c == BARS_SYMBOL || (c == BARS_ADJ_CLOSE && !bf->opt.adjust))
			continue;
		if (bf->opt.name[c])
			errf(err, errlen, "%s:%d: header has no column '%.*s' (--columns %s=%.*s)",
			     bf->path, bf->line, (int)bf->opt.namelen[c], bf->opt.name[c],
			     bars_field_names[c], (int)bf->opt.namelen[c], bf->opt.name[c]);
		else if (c == BARS_ADJ_CLOSE)
			errf(err, errlen,
			     "%s:%d: --adjust needs an adjusted close column (Adj Close, "
			     "adj_close or adjclose; or --columns adj_close=NAME)",
			     bf->path, bf->line);
		else
			errf(err, errlen,
			     "%s:%d: header has no '%s' column (expected "
			     "datetime,open,high,low,close,volume; or --columns %s=NAME)",
			     bf->path, bf->line, bars_field_names[c], bars_field_names[c]);
		return -1;
	}
	return 0;
}

/* A first line of data: the columns are named by opt.header, and the line
 * is read again as the first row. */
static int header_from_option(struct bars_file *bf, const char *line, size_t len, int n, char *err,
			      size_t errlen)
{
	const char *h = bf->opt.header, *f[BARS_MAX_COLS];
	size_t fl[BARS_MAX_COLS];
	if (!h) {
		errf(err, errlen,
		     "%s:%d: no header line (the first line is data: '%.*s'); name "
		     "the columns with --header, e.g. --header "
		     "open_time,open,high,low,close,volume for Binance klines, or add a "
		     "header line datetime,open,high,low,close,volume",
		     bf->path, bf->line, (int)(len > 40 ? 40 : len), line);
		return -1;
	}
	int nh = split_fields(h, strlen(h), f, fl, BARS_MAX_COLS);
	if (nh > n) {
		errf(err, errlen, "%s:%d: --header names %d columns, the first line has %d",
		     bf->path, bf->line, nh, n);
		return -1;
	}
	bf->ncols = n; /* columns past the names are ignored */
	if (map_columns(bf, f, fl, nh, err, errlen) != 0)
		return -1;
	bf->pos = (size_t)(line - bf->data);
	bf->line--;
	return 0;
}

static int read_header(struct bars_file *bf, char *err, size_t errlen)
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
	if (is_data_line(f, fl, n)) {
		if (header_from_option(bf, line, len, n, err, errlen) != 0)
			return -1;
	} else if (map_columns(bf, f, fl, n, err, errlen) != 0) {
		return -1;
	}
	if (bf->col[BARS_SYMBOL] < 0) {
		char buf[SYMTAB_NAME_MAX + 1];
		const char *sym =
		    bf->opt.symbol ? bf->opt.symbol : base_symbol(bf->path, buf, sizeof buf);
		bf->default_sym = symtab_intern(bf->symtab, sym, strlen(sym));
		if (bf->default_sym < 0) {
			errf(err, errlen, "%s: bad symbol name '%s'", bf->path, sym);
			return -1;
		}
	}
	return 0;
}

int bars_open(struct bars_file *bf, const char *path, struct symtab *st,
	      const struct bars_options *opt, char *err, size_t errlen)
{
	memset(bf, 0, sizeof *bf);
	bf->path = path;
	if (opt)
		bf->opt = *opt;
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
	if (read_header(bf, err, errlen) != 0) {
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

/* Empty, null, NaN, NA or N/A: how exporters write "no value". */
static int is_missing(const char *f, size_t fl)
{
	static const char *const words[] = {"null", "nan", "na", "n/a"};
	for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
		if (name_is(f, fl, words[i], strlen(words[i])))
			return 1;
	return fl == 0;
}

#define ROW_SKIP 2

/* A field of column c failed to parse: ROW_SKIP when leniently skipping a
 * missing value (counted, the first rows of a run logged), else -1 with why. */
static int bad_field(struct bars_file *bf, int c, const char *f, size_t fl, char *err,
		     size_t errlen)
{
	int shown = (int)(fl > 40 ? 40 : fl);
	if (is_missing(f, fl)) {
		if (!bf->opt.lenient) {
			errf(err, errlen,
			     "%s:%d: missing value '%.*s' in column '%s' (--lenient "
			     "skips rows with missing values)",
			     bf->path, bf->line, shown, f, bars_field_names[c]);
			return -1;
		}
		long before = bf->total ? atomic_fetch_add(bf->total, 1) : bf->skipped;
		bf->skipped++;
		if (before < SKIPS_SHOWN)
			log_msg(LOG_WARN, "bars",
				"%s:%d: skipped a row: missing value '%.*s' in "
				"column '%s'%s",
				bf->path, bf->line, shown, f, bars_field_names[c],
				before == SKIPS_SHOWN - 1
				    ? " (further skipped rows are counted, the total "
				      "shown at the end)"
				    : "");
		return ROW_SKIP;
	}
	if (c != BARS_TIME) {
		errf(err, errlen, "%s:%d: bad number '%.*s' in column '%s'", bf->path, bf->line,
		     shown, f, bars_field_names[c]);
		return -1;
	}
	static const char *const expect[] = {
	    [TIME_AUTO] = "YYYY-MM-DD, YYYY-MM-DD HH:MM:SS or YYYY-MM-DDTHH:MM:SS, optionally "
			  "with Z or +HH:MM; or seconds, ms, us or ns since the epoch",
	    [TIME_ISO] = "YYYY-MM-DD, YYYY-MM-DD HH:MM:SS or YYYY-MM-DDTHH:MM:SS, optionally "
			 "with Z or +HH:MM: --time-format iso",
	    [TIME_EPOCH_S] = "seconds since the epoch, up to 2200: --time-format s",
	    [TIME_EPOCH_MS] = "milliseconds since the epoch, up to 2200: --time-format ms",
	    [TIME_EPOCH_US] = "microseconds since the epoch, up to 2200: --time-format us",
	    [TIME_EPOCH_NS] = "nanoseconds since the epoch, up to 2200: --time-format ns",
	};
	errf(err, errlen, "%s:%d: bad datetime '%.*s' (expected %s)", bf->path, bf->line, shown, f,
	     expect[bf->opt.time_form]);
	return -1;
}

/* A wall-clock time in opt.tz to UTC. In the hour the clocks go back over,
 * the first reading, unless it would go back in time: then the second. */
static int local_to_utc(struct bars_file *bf, int64_t *t, char *err, size_t errlen)
{
	int64_t secs = *t / NS_PER_SEC, frac = *t % NS_PER_SEC, u[2];
	if (frac < 0) {
		frac += NS_PER_SEC;
		secs--;
	}
	int n = tz_local_to_utc(bf->opt.tz, secs, u);
	if (n == 0) {
		char a[32];
		time_format_short(*t, a);
		errf(err, errlen, "%s:%d: %s does not exist in %s (the clocks skip it)", bf->path,
		     bf->line, a, tz_name(bf->opt.tz));
		return -1;
	}
	*t = u[0] * NS_PER_SEC + frac;
	if (n == 2 && *t < bf->last_time)
		*t = u[1] * NS_PER_SEC + frac;
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

/* Ratio adjustment: the row as if every split and dividend since had
 * already happened (adj_close / close; check_ohlc made close positive). */
static int adjust(struct bars_file *bf, double adj, struct bar *b, char *err, size_t errlen)
{
	if (!(adj > 0)) {
		errf(err, errlen, "%s:%d: adjusted close must be positive (is %.10g)", bf->path,
		     bf->line, adj);
		return -1;
	}
	double k = adj / b->close;
	b->open *= k;
	b->high *= k;
	b->low *= k;
	b->close *= k;
	b->volume /= k;
	return 0;
}

/* One line into *out: 1, ROW_SKIP, or -1 with err. */
static int parse_row(struct bars_file *bf, const char *line, size_t len, struct bar *out, char *err,
		     size_t errlen)
{
	const char *f[BARS_MAX_COLS];
	size_t fl[BARS_MAX_COLS];
	int n = split_fields(line, len, f, fl, BARS_MAX_COLS);
	if (n != bf->ncols) {
		errf(err, errlen, "%s:%d: expected %d fields, got %d", bf->path, bf->line, bf->ncols, n);
		return -1;
	}
	int ct = bf->col[BARS_TIME], zoned;
	if (time_parse_form(f[ct], fl[ct], bf->opt.time_form, &out->time, &zoned) != 0)
		return bad_field(bf, BARS_TIME, f[ct], fl[ct], err, errlen);
	double *dst[5] = {&out->open, &out->high, &out->low, &out->close, &out->volume};
	for (int c = BARS_OPEN; c <= BARS_VOLUME; c++) {
		int k = bf->col[c];
		if (bars_parse_number(f[k], fl[k], dst[c - 1]) != 0) {
			if (bf->opt.raw && is_missing(f[k], fl[k])) {
				*dst[c - 1] = NAN;
				continue;
			}
			return bad_field(bf, c, f[k], fl[k], err, errlen);
		}
	}
	int ca = bf->col[BARS_ADJ_CLOSE];
	double adj = 0;
	if (bf->opt.adjust && bars_parse_number(f[ca], fl[ca], &adj) != 0)
		return bad_field(bf, BARS_ADJ_CLOSE, f[ca], fl[ca], err, errlen);
	if (!zoned && bf->opt.tz && local_to_utc(bf, &out->time, err, errlen) != 0)
		return -1;
	if (bf->col[BARS_SYMBOL] >= 0) {
		int cs = bf->col[BARS_SYMBOL];
		out->sym = symtab_intern(bf->symtab, f[cs], fl[cs]);
		if (out->sym < 0) {
			errf(err, errlen, "%s:%d: bad symbol '%.*s' (1 to %d characters)", bf->path,
			     bf->line, (int)(fl[cs] > 40 ? 40 : fl[cs]), f[cs], SYMTAB_NAME_MAX);
			return -1;
		}
	} else {
		out->sym = bf->default_sym;
	}
	if (!bf->opt.raw && check_ohlc(bf, out, err, errlen))
		return -1;
	if (bf->opt.adjust && adjust(bf, adj, out, err, errlen) != 0)
		return -1;
	return 1;
}

int bars_next(struct bars_file *bf, struct bar *out, char *err, size_t errlen)
{
	const char *line;
	size_t len;
	int r;
	do {
		if (!next_line(bf, &line, &len)) {
			if (bf->rows == 0) {
				if (bf->skipped)
					errf(err, errlen,
					     "%s: no bars after the header (%ld rows "
					     "skipped for missing values)",
					     bf->path, bf->skipped);
				else
					errf(err, errlen, "%s: no bars after the header", bf->path);
				return -1;
			}
			return 0;
		}
		r = parse_row(bf, line, len, out, err, errlen);
	} while (r == ROW_SKIP);
	if (r < 0)
		return -1;
	if (bf->opt.raw) {
		bf->last_time = out->time;
		bf->rows++;
		return 1;
	}
	if (out->time < bf->last_time) {
		char a[32], b[32];
		time_format_short(out->time, a);
		time_format_short(bf->last_time, b);
		errf(err, errlen, "%s:%d: time %s goes back (the previous row is %s): rows must be "
				  "in time order", bf->path, bf->line, a, b);
		return -1;
	}
	if (bf->col[BARS_SYMBOL] < 0 && out->time == bf->last_time) {
		char a[32];
		time_format_short(out->time, a);
		errf(err, errlen, "%s:%d: duplicate time %s", bf->path, bf->line, a);
		return -1;
	}
	if (bf->col[BARS_SYMBOL] >= 0 && track_symbol_time(bf, out->sym, out->time, err, errlen))
		return -1;
	bf->last_time = out->time;
	bf->rows++;
	return 1;
}

int bars_feed_open(struct bars_feed *f, const char *const *paths, int n, struct symtab *st,
		   const struct bars_options *opt, char *err, size_t errlen)
{
	struct bars_options each = {0};
	if (opt)
		each = *opt;
	/* --symbol names the symbol of a file without a symbol column; with
	 * several files each takes its own base name unless only one is given */
	if (n != 1)
		each.symbol = NULL;
	memset(f, 0, sizeof *f);
	atomic_init(&f->skipped, 0);
	f->files = calloc((size_t)n, sizeof *f->files);
	f->head = calloc((size_t)n, sizeof *f->head);
	f->live = calloc((size_t)n, sizeof *f->live);
	if (!f->files || !f->head || !f->live) {
		errf(err, errlen, "out of memory");
		bars_feed_close(f);
		return -1;
	}
	for (int i = 0; i < n; i++) {
		if (bars_open(&f->files[i], paths[i], st, &each, err, errlen) != 0) {
			bars_feed_close(f);
			return -1;
		}
		f->n = i + 1;
		f->files[i].total = &f->skipped;
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
	if (best < 0) {
		long skipped = atomic_load(&f->skipped);
		if (!f->ended && skipped > 0)
			log_msg(LOG_WARN, "bars",
				"skipped %ld row%s with missing values (--lenient)", skipped,
				skipped == 1 ? "" : "s");
		f->ended = 1;
		return 0;
	}
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
