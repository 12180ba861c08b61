/*
 * itch_cmd — `gantry itch FILE (--stats | --dump | --book SYM [--depth N])
 *             [--symbol SYM] [--lenient] [--orders N]`.
 *
 * --dump decodes only (framing, lengths, types are checked); --stats and
 * --book also run the books, which check order references and time order.
 * Every integrity error is `gantry: FILE: byte OFFSET: what is wrong`, exit 2;
 * --lenient turns them into warnings (the first few printed, all counted).
 */
#include "book.h"
#include "cli.h"
#include "clock.h"
#include "itch.h"
#include "log.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

enum mode { MODE_NONE, MODE_STATS, MODE_DUMP, MODE_BOOK };
enum { MAX_SHOWN_WARNINGS = 10 };

struct itch_opts {
	const char *file;
	const char *book_sym;
	const char *symbol;
	enum mode mode;
	long depth;
	int lenient;
	uint32_t orders_hint;
};

struct itch_run {
	const struct itch_opts *o;
	struct itch_reader rd;
	struct book_set *books;
	uint64_t by_type[256];
	uint64_t warnings;
	uint64_t warn_kind[ITCH_ERR_COUNT_];
	uint8_t *sym_match; /* dump --symbol: per locate, 1 = SYM */
};

static void usage(FILE *out)
{
	fputs("usage: gantry itch FILE (--stats | --dump | --book SYM [--depth N])\n"
	      "                  [--symbol SYM] [--lenient] [--orders N]\n"
	      "\n"
	      "Decode a NASDAQ TotalView-ITCH 5.0 file ([u16 length][message] framing,\n"
	      "plain or gzip) and print JSON on stdout.\n"
	      "\n"
	      "  --stats       one object: messages, bytes, by_type, symbols, elapsed_s,\n"
	      "                msgs_per_s, live_orders, peak_orders, crossed, locked, warnings\n"
	      "  --dump        one object per message (JSON lines); decoding only\n"
	      "  --book SYM    the book of SYM after the last message, best first\n"
	      "  --depth N     at most N levels per side (--book)\n"
	      "  --symbol SYM  only SYM's messages (--dump) or book (--stats)\n"
	      "  --lenient     data errors become warnings, counted in --stats\n"
	      "  --orders N    expected peak live orders (sizes the pools; they grow anyway)\n"
	      "\n"
	      "Data errors (truncated file, bad length, unknown type, unknown order\n"
	      "reference, timestamp going backwards) stop with exit status 2 and\n"
	      "'gantry: FILE: byte OFFSET: what is wrong'.\n",
	      out);
}

static int parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

static int symbol_ok(const char *s)
{
	size_t n = strlen(s);
	return n > 0 && n <= 8;
}

/* 0 ok, 1 help printed, 2 bad usage (message printed). */
static int parse_args(int argc, char **argv, struct itch_opts *o)
{
	memset(o, 0, sizeof *o);
	o->depth = -1;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *val = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			return 1;
		}
		enum mode m = strcmp(a, "--stats") == 0  ? MODE_STATS
			      : strcmp(a, "--dump") == 0 ? MODE_DUMP
			      : strcmp(a, "--book") == 0 ? MODE_BOOK
							 : MODE_NONE;
		if (m != MODE_NONE) {
			if (o->mode != MODE_NONE) {
				log_user_error("itch: choose one of --stats, --dump, --book");
				return 2;
			}
			o->mode = m;
			if (m == MODE_BOOK) {
				if (!val || !symbol_ok(val)) {
					log_user_error("itch: --book needs a symbol (1 to 8 characters)");
					return 2;
				}
				o->book_sym = argv[++i];
			}
		} else if (strcmp(a, "--symbol") == 0) {
			if (!val || !symbol_ok(val)) {
				log_user_error("itch: --symbol needs a symbol (1 to 8 characters)");
				return 2;
			}
			o->symbol = argv[++i];
		} else if (strcmp(a, "--depth") == 0) {
			if (!val || parse_long(val, 1, 1000000, &o->depth) != 0) {
				log_user_error("itch: --depth needs a whole number from 1 to 1000000");
				return 2;
			}
			i++;
		} else if (strcmp(a, "--orders") == 0) {
			long n;
			if (!val || parse_long(val, 1, 1L << 30, &n) != 0) {
				log_user_error("itch: --orders needs a whole number from 1 to 1073741824");
				return 2;
			}
			o->orders_hint = (uint32_t)n;
			i++;
		} else if (strcmp(a, "--lenient") == 0) {
			o->lenient = 1;
		} else if (a[0] == '-' && a[1] != '\0') {
			log_user_error("itch: unknown option '%s' (try 'gantry itch --help')", a);
			return 2;
		} else if (o->file) {
			log_user_error("itch: one FILE only ('%s' and '%s')", o->file, a);
			return 2;
		} else {
			o->file = a;
		}
	}
	if (!o->file) {
		log_user_error("itch: missing FILE (try 'gantry itch --help')");
		return 2;
	}
	if (o->mode == MODE_NONE) {
		log_user_error("itch: missing --stats, --dump or --book SYM");
		return 2;
	}
	if (o->depth > 0 && o->mode != MODE_BOOK) {
		log_user_error("itch: --depth goes with --book");
		return 2;
	}
	return 0;
}

/* A data error: fatal (returns 2) unless --lenient (warns, returns 0). */
static int data_error(struct itch_run *r, int err, uint64_t off, const char *text)
{
	if (!r->o->lenient) {
		log_user_error("%s: byte %" PRIu64 ": %s", r->o->file, off, text);
		return EXIT_USAGE;
	}
	r->warnings++;
	r->warn_kind[-err < ITCH_ERR_COUNT_ ? -err : 0]++;
	if (r->warnings <= MAX_SHOWN_WARNINGS)
		log_user_error("warning: %s: byte %" PRIu64 ": %s", r->o->file, off, text);
	return 0;
}

static int book_error(struct itch_run *r, int err, const struct itch_msg *m)
{
	char text[160];
	uint64_t ref = itch_u64(m, ITCH_OFF_REF);
	switch (err) {
	case ITCH_ERR_UNKNOWN_REF:
		snprintf(text, sizeof text, "message '%c' refers to order %" PRIu64
			 ", which is not in the book", m->type, ref);
		break;
	case ITCH_ERR_DUP_REF:
		if (m->type == 'U')
			ref = itch_u64(m, ITCH_OFF_U_NEWREF);
		snprintf(text, sizeof text, "message '%c' adds order %" PRIu64
			 ", which is already in the book", m->type, ref);
		break;
	case ITCH_ERR_OVER_REDUCE:
		snprintf(text, sizeof text, "message '%c' takes %u shares from order %" PRIu64
			 ", which has fewer", m->type, itch_u32(m, ITCH_OFF_EXEC_SHARES), ref);
		break;
	default:
		snprintf(text, sizeof text, "out of memory building the books");
		log_user_error("%s: byte %" PRIu64 ": %s", r->o->file, itch_reader_offset(&r->rd), text);
		return EXIT_USAGE;
	}
	return data_error(r, err, itch_reader_offset(&r->rd), text);
}

static void dump_msg(struct itch_run *r, const struct itch_msg *m)
{
	if (r->sym_match) {
		unsigned off = itch_stock_off(m->type);
		if (off) {
			char name[9];
			itch_alpha(m, off, 8, name);
			r->sym_match[m->locate] = strcmp(name, r->o->symbol) == 0;
		}
		if (!r->sym_match[m->locate])
			return;
	}
	char line[1024];
	size_t n = itch_to_json(m, line, sizeof line - 1);
	if (n >= sizeof line - 1)
		n = sizeof line - 2;
	line[n++] = '\n';
	fwrite(line, 1, n, stdout);
}

static int run_loop(struct itch_run *r)
{
	struct itch_msg m;
	struct book_ahead ahead;
	if (r->books)
		book_prefetch_start(r->books, &r->rd, &ahead);
	for (;;) {
		if (r->books)
			book_prefetch_step(r->books, &r->rd, &ahead);
		int rc = itch_reader_next(&r->rd, &m);
		if (rc == 0)
			return 0;
		if (rc < 0) {
			if (rc == ITCH_ERR_IO) {
				log_user_error("%s: byte %" PRIu64 ": %s", r->o->file, r->rd.err_offset,
					       r->rd.err_text);
				return EXIT_USAGE;
			}
			if (data_error(r, rc, r->rd.err_offset, r->rd.err_text) != 0)
				return EXIT_USAGE;
			if (rc != ITCH_ERR_TIME)
				continue;
		}
		r->by_type[(uint8_t)m.type]++;
		if (r->o->mode == MODE_DUMP) {
			dump_msg(r, &m);
			continue;
		}
		int brc = book_apply(r->books, &m, NULL);
		if (__builtin_expect(brc != 0, 0) && book_error(r, brc, &m) != 0)
			return EXIT_USAGE;
	}
}

static void print_price(uint32_t p)
{
	printf("\"%u.%04u\"", p / 10000, p % 10000);
}

static int print_book(struct itch_run *r)
{
	int loc = book_locate(r->books, r->o->book_sym);
	if (loc < 0) {
		log_user_error("%s: no symbol '%s' in the file", r->o->file, r->o->book_sym);
		return EXIT_USAGE;
	}
	printf("{\"symbol\":\"%s\"", r->o->book_sym);
	for (int side = 0; side < 2; side++) {
		size_t n = book_levels(r->books, (uint16_t)loc, side);
		if (r->o->depth > 0 && (size_t)r->o->depth < n)
			n = (size_t)r->o->depth;
		struct book_level_info *lv = malloc((n ? n : 1) * sizeof *lv);
		if (!lv)
			return EXIT_USAGE;
		n = book_depth(r->books, (uint16_t)loc, side, lv, n);
		printf(",\"%s\":[", side == BOOK_BID ? "bids" : "asks");
		for (size_t i = 0; i < n; i++) {
			printf(i ? ",[" : "[");
			print_price(lv[i].price);
			printf(",%" PRIu64 ",%u]", lv[i].shares, lv[i].orders);
		}
		printf("]");
		free(lv);
	}
	printf("}\n");
	return EXIT_OK;
}

static void print_stats(struct itch_run *r, double elapsed)
{
	uint64_t total = 0;
	for (int t = 0; t < 256; t++)
		total += r->by_type[t];
	printf("{\"messages\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"by_type\":{", total,
	       itch_reader_bytes(&r->rd));
	const char *sep = "";
	for (int t = 0; t < 256; t++)
		if (r->by_type[t]) {
			printf("%s\"%c\":%" PRIu64, sep, t, r->by_type[t]);
			sep = ",";
		}
	printf("},\"symbols\":%u,\"elapsed_s\":%.6f,\"msgs_per_s\":%.0f", book_symbols(r->books),
	       elapsed, elapsed > 0 ? (double)total / elapsed : 0.0);
	printf(",\"live_orders\":%" PRIu64 ",\"peak_orders\":%" PRIu64 ",\"crossed\":%" PRIu64
	       ",\"locked\":%" PRIu64 ",\"warnings\":%" PRIu64 ",\"warnings_by_kind\":{",
	       book_live_orders(r->books), book_peak_orders(r->books), book_crossed_total(r->books),
	       book_locked_total(r->books), r->warnings);
	sep = "";
	for (int k = 1; k < ITCH_ERR_COUNT_; k++)
		if (r->warn_kind[k]) {
			printf("%s\"%s\":%" PRIu64, sep, itch_err_name(-k), r->warn_kind[k]);
			sep = ",";
		}
	printf("}");
	if (r->o->symbol)
		printf(",\"symbol\":\"%s\"", r->o->symbol);
	printf("}\n");
}

static int setup(struct itch_run *r)
{
	const struct itch_opts *o = r->o;
	if (o->mode == MODE_DUMP) {
		r->rd.check_time = 0;
		if (o->symbol && !(r->sym_match = calloc(BOOK_LOCATES, 1)))
			return -1;
		return 0;
	}
	/* a big file: fault the book's tables in before the clock starts (a
	 * small one would spend longer on that than on its messages) */
	struct stat st;
	int big = stat(o->file, &st) == 0 && st.st_size >= (64 << 20);
	struct book_config cfg = {.orders_hint = o->orders_hint, .prefault = big};
	r->books = book_set_new(&cfg);
	if (!r->books)
		return -1;
	const char *only = o->mode == MODE_BOOK ? o->book_sym : o->symbol;
	if (only) {
		book_set_filter(r->books, 1);
		if (book_subscribe_name(r->books, only) != 0)
			return -1;
	}
	return 0;
}

int cmd_itch(int argc, char **argv)
{
	struct itch_opts o;
	int rc = parse_args(argc, argv, &o);
	if (rc != 0)
		return rc == 1 ? EXIT_OK : EXIT_USAGE;
	struct itch_run *r = calloc(1, sizeof *r);
	if (!r) {
		log_user_error("itch: out of memory");
		return EXIT_USAGE;
	}
	r->o = &o;
	char err[512];
	if (itch_reader_open(&r->rd, o.file, err, sizeof err) != 0) {
		log_user_error("%s", err);
		free(r);
		return EXIT_USAGE;
	}
	static char outbuf[1 << 16];
	setvbuf(stdout, outbuf, _IOFBF, sizeof outbuf);
	if (setup(r) != 0) {
		log_user_error("itch: out of memory");
		rc = EXIT_USAGE;
	} else {
		double t0 = clock_mono_s();
		rc = run_loop(r);
		double elapsed = clock_mono_s() - t0;
		if (rc == 0 && o.mode == MODE_STATS)
			print_stats(r, elapsed);
		else if (rc == 0 && o.mode == MODE_BOOK)
			rc = print_book(r);
		if (o.lenient && r->warnings > MAX_SHOWN_WARNINGS)
			log_user_error("warning: %s: %" PRIu64 " warnings in all", o.file, r->warnings);
	}
	fflush(stdout);
	itch_reader_close(&r->rd);
	book_set_free(r->books);
	free(r->sym_match);
	free(r);
	return rc;
}
