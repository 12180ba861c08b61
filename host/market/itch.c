/*
 * itch — ITCH 5.0 decoding, JSON rendering and the framed file reader.
 *
 * Invariant: a struct itch_msg handed out by itch_decode or the reader has
 * m->len == itch_type_len(m->type), so every body offset of that type is in
 * bounds. Offsets reported to users are byte offsets of the frame (its 2-byte
 * length field) in the (decompressed) stream.
 */
#include "itch.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

/* Fixed message lengths, indexed by type byte; 0 = unknown type. */
const uint8_t itch_len_table[256] = {
	['S'] = 12, ['R'] = 39, ['H'] = 25, ['Y'] = 20, ['L'] = 26, ['V'] = 35,
	['W'] = 12, ['K'] = 28, ['J'] = 35, ['h'] = 21, ['A'] = 36, ['F'] = 40,
	['E'] = 31, ['C'] = 36, ['X'] = 23, ['D'] = 19, ['U'] = 35, ['P'] = 44,
	['Q'] = 40, ['B'] = 19, ['I'] = 50, ['N'] = 20, ['O'] = 48,
};

static const char *const err_names[ITCH_ERR_COUNT_] = {
	"ok", "truncated", "length", "unknown_type", "time_backwards", "io",
	"unknown_ref", "duplicate_ref", "over_reduce",
};

const char *itch_err_name(int err)
{
	int i = -err;
	return i >= 0 && i < ITCH_ERR_COUNT_ ? err_names[i] : "error";
}

size_t itch_type_len(uint8_t type)
{
	return itch_len_table[type];
}

static inline int decode(const uint8_t *p, size_t len, struct itch_msg *m)
{
	if (len == 0)
		return ITCH_ERR_LENGTH;
	size_t want = itch_len_table[p[0]];
	if (want == 0)
		return ITCH_ERR_TYPE;
	if (len != want)
		return ITCH_ERR_LENGTH;
	itch_view(m, p, len);
	return ITCH_OK;
}

int itch_decode(const uint8_t *p, size_t len, struct itch_msg *m)
{
	return decode(p, len, m);
}

size_t itch_alpha(const struct itch_msg *m, unsigned off, unsigned n, char *out)
{
	while (n > 0 && m->p[off + n - 1] == ' ')
		n--;
	memcpy(out, m->p + off, n);
	out[n] = '\0';
	return n;
}

unsigned itch_stock_off(char type)
{
	switch (type) {
	case 'R': case 'H': case 'Y': case 'K': case 'J': case 'h': case 'N': case 'O':
		return ITCH_OFF_STOCK;
	case 'A': case 'F': case 'P':
		return ITCH_OFF_ADD_STOCK;
	case 'Q':
		return ITCH_OFF_Q_STOCK;
	case 'L':
		return 15;
	case 'I':
		return 28;
	default:
		return 0;
	}
}

size_t itch_stock(const struct itch_msg *m, char out[9])
{
	unsigned off = itch_stock_off(m->type);
	if (off == 0) {
		out[0] = '\0';
		return 0;
	}
	return itch_alpha(m, off, 8, out);
}

/* ------------------------------------------------------------ JSON */

enum fkind { F_U32, F_U64, F_P4, F_P8, F_A1, F_A2, F_A4, F_A8 };
struct field {
	const char *name;
	uint8_t off;
	uint8_t kind;
};
struct layout {
	char type;
	uint8_t n;
	struct field f[14];
};

#define STOCK {"stock", 11, F_A8}
static const struct layout layouts[] = {
	{'S', 1, {{"event", 11, F_A1}}},
	{'R', 14, {STOCK, {"market_category", 19, F_A1}, {"financial_status", 20, F_A1},
		   {"round_lot_size", 21, F_U32}, {"round_lots_only", 25, F_A1},
		   {"issue_classification", 26, F_A1}, {"issue_sub_type", 27, F_A2},
		   {"authenticity", 29, F_A1}, {"short_sale_threshold", 30, F_A1},
		   {"ipo_flag", 31, F_A1}, {"luld_tier", 32, F_A1}, {"etp_flag", 33, F_A1},
		   {"etp_leverage", 34, F_U32}, {"inverse", 38, F_A1}}},
	{'H', 4, {STOCK, {"trading_state", 19, F_A1}, {"reserved", 20, F_A1}, {"reason", 21, F_A4}}},
	{'Y', 2, {STOCK, {"reg_sho_action", 19, F_A1}}},
	{'L', 5, {{"mpid", 11, F_A4}, {"stock", 15, F_A8}, {"primary_mm", 23, F_A1},
		  {"mm_mode", 24, F_A1}, {"participant_state", 25, F_A1}}},
	{'V', 3, {{"level1", 11, F_P8}, {"level2", 19, F_P8}, {"level3", 27, F_P8}}},
	{'W', 1, {{"breached_level", 11, F_A1}}},
	{'K', 4, {STOCK, {"release_time", 19, F_U32}, {"qualifier", 23, F_A1}, {"price", 24, F_P4}}},
	{'J', 5, {STOCK, {"ref_price", 19, F_P4}, {"upper", 23, F_P4}, {"lower", 27, F_P4},
		  {"extension", 31, F_U32}}},
	{'h', 3, {STOCK, {"market_code", 19, F_A1}, {"action", 20, F_A1}}},
	{'A', 5, {{"ref", 11, F_U64}, {"side", 19, F_A1}, {"shares", 20, F_U32},
		  {"stock", 24, F_A8}, {"price", 32, F_P4}}},
	{'F', 6, {{"ref", 11, F_U64}, {"side", 19, F_A1}, {"shares", 20, F_U32},
		  {"stock", 24, F_A8}, {"price", 32, F_P4}, {"attribution", 36, F_A4}}},
	{'E', 3, {{"ref", 11, F_U64}, {"shares", 19, F_U32}, {"match", 23, F_U64}}},
	{'C', 5, {{"ref", 11, F_U64}, {"shares", 19, F_U32}, {"match", 23, F_U64},
		  {"printable", 31, F_A1}, {"price", 32, F_P4}}},
	{'X', 2, {{"ref", 11, F_U64}, {"shares", 19, F_U32}}},
	{'D', 1, {{"ref", 11, F_U64}}},
	{'U', 4, {{"ref", 11, F_U64}, {"new_ref", 19, F_U64}, {"shares", 27, F_U32},
		  {"price", 31, F_P4}}},
	{'P', 6, {{"ref", 11, F_U64}, {"side", 19, F_A1}, {"shares", 20, F_U32},
		  {"stock", 24, F_A8}, {"price", 32, F_P4}, {"match", 36, F_U64}}},
	{'Q', 5, {{"shares", 11, F_U64}, {"stock", 19, F_A8}, {"price", 27, F_P4},
		  {"match", 31, F_U64}, {"cross_type", 39, F_A1}}},
	{'B', 1, {{"match", 11, F_U64}}},
	{'I', 9, {{"paired", 11, F_U64}, {"imbalance", 19, F_U64}, {"direction", 27, F_A1},
		  {"stock", 28, F_A8}, {"far", 36, F_P4}, {"near", 40, F_P4},
		  {"ref_price", 44, F_P4}, {"cross_type", 48, F_A1}, {"variation", 49, F_A1}}},
	{'N', 2, {STOCK, {"interest", 19, F_A1}}},
	{'O', 8, {STOCK, {"open_eligibility", 19, F_A1}, {"min_price", 20, F_P4},
		  {"max_price", 24, F_P4}, {"near_price", 28, F_P4}, {"near_time", 32, F_U64},
		  {"lower", 40, F_P4}, {"upper", 44, F_P4}}},
};
#undef STOCK

static const struct layout *layout_of(char type)
{
	for (size_t i = 0; i < sizeof layouts / sizeof layouts[0]; i++)
		if (layouts[i].type == type)
			return &layouts[i];
	return NULL;
}

struct jbuf {
	char *buf;
	size_t cap, n;
};

static void jput(struct jbuf *j, const char *s, size_t len)
{
	if (j->n + 1 < j->cap) {
		size_t room = j->cap - 1 - j->n;
		memcpy(j->buf + j->n, s, len < room ? len : room);
	}
	j->n += len;
}

static void jprintf(struct jbuf *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void jprintf(struct jbuf *j, const char *fmt, ...)
{
	char tmp[64];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	if (n > 0)
		jput(j, tmp, (size_t)n);
}

static void jstring(struct jbuf *j, const uint8_t *s, size_t n)
{
	jput(j, "\"", 1);
	for (size_t i = 0; i < n; i++) {
		uint8_t c = s[i];
		if (c == '"' || c == '\\') {
			char e[2] = {'\\', (char)c};
			jput(j, e, 2);
		} else if (c < 0x20 || c >= 0x7f) {
			jprintf(j, "\\u%04x", c);
		} else {
			jput(j, (const char *)&c, 1);
		}
	}
	jput(j, "\"", 1);
}

size_t itch_to_json(const struct itch_msg *m, char *buf, size_t cap)
{
	struct jbuf j = {buf, cap, 0};
	char t = m->type;
	jput(&j, "{\"type\":", 8);
	jstring(&j, (const uint8_t *)&t, 1);
	jprintf(&j, ",\"locate\":%u,\"tracking\":%u,\"ts\":%llu", m->locate, m->tracking,
		(unsigned long long)m->ts);
	const struct layout *l = layout_of(m->type);
	for (unsigned i = 0; l && i < l->n; i++) {
		const struct field *f = &l->f[i];
		const uint8_t *p = m->p + f->off;
		jprintf(&j, ",\"%s\":", f->name);
		switch (f->kind) {
		case F_U32:
			jprintf(&j, "%u", itch_be32(p));
			break;
		case F_U64:
			jprintf(&j, "%llu", (unsigned long long)itch_be64(p));
			break;
		case F_P4: {
			uint32_t v = itch_be32(p);
			jprintf(&j, "\"%u.%04u\"", v / 10000, v % 10000);
			break;
		}
		case F_P8: {
			uint64_t v = itch_be64(p);
			jprintf(&j, "\"%llu.%08llu\"", (unsigned long long)(v / 100000000),
				(unsigned long long)(v % 100000000));
			break;
		}
		default: {
			size_t n = f->kind == F_A1 ? 1 : f->kind == F_A2 ? 2 : f->kind == F_A4 ? 4 : 8;
			while (n > 0 && p[n - 1] == ' ')
				n--;
			jstring(&j, p, n);
		}
		}
	}
	jput(&j, "}", 1);
	if (j.n < cap)
		buf[j.n] = '\0';
	else if (cap > 0)
		buf[cap - 1] = '\0';
	return j.n;
}

/* ------------------------------------------------------------ reader */

enum { GZ_BUF = 1 << 20, MAX_FRAME = 2 + 65535 };

static void reader_init(struct itch_reader *rd, const char *path)
{
	memset(rd, 0, sizeof *rd);
	rd->path = path;
	rd->fd = -1;
	rd->check_time = 1;
}

void itch_reader_open_mem(struct itch_reader *rd, const uint8_t *buf, size_t len,
			  const char *name)
{
	reader_init(rd, name);
	rd->base = buf;
	rd->size = len;
}

int itch_reader_open(struct itch_reader *rd, const char *path, char *err, size_t errlen)
{
	reader_init(rd, path);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		close(fd);
		return -1;
	}
	uint8_t magic[2] = {0, 0};
	ssize_t got = pread(fd, magic, 2, 0);
	if (got == 2 && magic[0] == 0x1f && magic[1] == 0x8b) {
		gzFile gz = gzdopen(fd, "rb");
		rd->buf = gz ? malloc(GZ_BUF) : NULL;
		if (!gz || !rd->buf) {
			snprintf(err, errlen, "%s: cannot open gzip stream", path);
			if (gz)
				gzclose(gz);
			else
				close(fd);
			free(rd->buf);
			rd->buf = NULL;
			return -1;
		}
		gzbuffer(gz, 1 << 17);
		rd->gz = gz;
		rd->buf_cap = GZ_BUF;
		rd->base = rd->buf;
		return 0;
	}
	rd->fd = fd;
	if (st.st_size == 0)
		return 0;
	/* up to 2 GiB the page tables are filled at once (no faults while
	 * decoding); bigger files are faulted in as they are read */
	int populate = (uint64_t)st.st_size <= (2ull << 30) ? MAP_POPULATE : 0;
	void *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE | populate, fd, 0);
	if (map == MAP_FAILED) {
		snprintf(err, errlen, "%s: cannot map: %s", path, strerror(errno));
		close(fd);
		rd->fd = -1;
		return -1;
	}
	madvise(map, (size_t)st.st_size, MADV_SEQUENTIAL);
	rd->base = map;
	rd->size = rd->map_len = (size_t)st.st_size;
	return 0;
}

int itch_reader_load(struct itch_reader *rd, size_t max)
{
	const size_t huge = 2u << 20;
	if (!rd->map_len || rd->mem || rd->size > max || rd->messages)
		return 0;
	size_t len = (rd->size + huge - 1) / huge * huge + huge; /* room to align */
	uint8_t *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return 0;
	uint8_t *at = (uint8_t *)(((uintptr_t)m + huge - 1) & ~(uintptr_t)(huge - 1));
	madvise(at, len - (size_t)(at - m), MADV_HUGEPAGE);
	/* read(), not a copy through the mapping: the kernel copies from the page
	 * cache, with none of the mapping's page walks */
	size_t have = 0;
	while (have < rd->size) {
		ssize_t r = pread(rd->fd, at + have, rd->size - have, (off_t)have);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			munmap(m, len);
			return 0;
		}
		have += (size_t)r;
	}
	munmap((void *)rd->base, rd->map_len);
	rd->mem = m;
	rd->map_len = len;
	rd->base = at;
	return 1;
}

void itch_reader_close(struct itch_reader *rd)
{
	if (rd->map_len)
		munmap(rd->mem ? rd->mem : (void *)rd->base, rd->map_len);
	rd->mem = NULL;
	if (rd->gz)
		gzclose((gzFile)rd->gz);
	else if (rd->fd >= 0)
		close(rd->fd);
	free(rd->buf);
	rd->map_len = 0;
	rd->gz = NULL;
	rd->fd = -1;
	rd->buf = NULL;
	rd->base = NULL;
	rd->size = rd->pos = 0;
}

/* Moves the unread tail to the front of the buffer and reads more. */
static int gz_refill(struct itch_reader *rd)
{
	size_t rest = rd->size - rd->pos;
	memmove(rd->buf, rd->buf + rd->pos, rest);
	rd->base_off += rd->pos;
	rd->pos = 0;
	rd->size = rest;
	while (!rd->gz_eof && rd->size < rd->buf_cap) {
		int n = gzread((gzFile)rd->gz, rd->buf + rd->size, (unsigned)(rd->buf_cap - rd->size));
		if (n < 0) {
			int zerr;
			const char *msg = gzerror((gzFile)rd->gz, &zerr);
			rd->err = ITCH_ERR_IO;
			rd->err_offset = rd->base_off + rd->size;
			snprintf(rd->err_text, sizeof rd->err_text, "gzip: %s", msg);
			return ITCH_ERR_IO;
		}
		if (n == 0)
			rd->gz_eof = 1;
		rd->size += (size_t)n;
	}
	return 0;
}

static int fail(struct itch_reader *rd, int err, uint64_t off, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int fail(struct itch_reader *rd, int err, uint64_t off, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(rd->err_text, sizeof rd->err_text, fmt, ap);
	va_end(ap);
	rd->err = err;
	rd->err_offset = off;
	return err;
}


/* Reported once per backward jump: the clock then follows the new time. */
int itch_reader_time_error(struct itch_reader *rd, const struct itch_msg *msg)
{
	uint64_t prev = rd->last_ts;
	rd->last_ts = msg->ts;
	return fail(rd, ITCH_ERR_TIME, rd->frame_off,
		    "timestamp %llu is before the previous message's %llu",
		    (unsigned long long)msg->ts, (unsigned long long)prev);
}

/* Everything but a well-formed frame fully in the buffer: refills, the end,
 * and the errors. */
int itch_reader_next_slow(struct itch_reader *rd, struct itch_msg *msg)
{
	if (rd->done)
		return 0;
	if (rd->gz && rd->size - rd->pos < MAX_FRAME && !rd->gz_eof && gz_refill(rd) != 0) {
		rd->done = 1;
		return ITCH_ERR_IO;
	}
	size_t avail = rd->size - rd->pos;
	uint64_t off = rd->base_off + rd->pos;
	if (avail == 0) {
		rd->done = 1;
		return 0;
	}
	if (avail < 2) {
		rd->done = 1;
		return fail(rd, ITCH_ERR_TRUNCATED, off,
			    "truncated frame: 1 byte left where a 2-byte length was expected");
	}
	const uint8_t *f = rd->base + rd->pos;
	size_t len = itch_be16(f);
	if (avail - 2 < len) {
		rd->done = 1;
		return fail(rd, ITCH_ERR_TRUNCATED, off,
			    "truncated message: length %zu but only %zu bytes left", len, avail - 2);
	}
	rd->frame_off = off;
	rd->pos += 2 + len;
	int rc = decode(f + 2, len, msg);
	if (rc == ITCH_ERR_TYPE) {
		uint8_t t = f[2];
		if (t >= 0x21 && t < 0x7f)
			return fail(rd, rc, off, "unknown message type '%c' (0x%02x)", t, t);
		return fail(rd, rc, off, "unknown message type 0x%02x", t);
	}
	if (rc == ITCH_ERR_LENGTH) {
		if (len == 0)
			return fail(rd, rc, off, "empty message (length 0)");
		return fail(rd, rc, off, "message type '%c' has length %zu, expected %zu", f[2],
			    len, itch_type_len(f[2]));
	}
	rd->messages++;
	if (msg->ts < rd->last_ts && rd->check_time)
		return itch_reader_time_error(rd, msg);
	rd->last_ts = msg->ts;
	return 1;
}

uint64_t itch_reader_offset(const struct itch_reader *rd)
{
	return rd->frame_off;
}

uint64_t itch_reader_bytes(const struct itch_reader *rd)
{
	return rd->base_off + rd->pos;
}
