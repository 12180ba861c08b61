/*
 * journal — the append-only record of everything that changed the book of
 * record or could have (docs/journal.md has the format byte by byte).
 *
 * A journal is a directory of segment files NNNNNNNN.gjl (old ones may be
 * gzip-compressed to NNNNNNNN.gjl.gz), each a 16-byte header and then
 * records: a 40-byte header (length, CRC32C, sequence number, time, type,
 * who, strategy, version, source hash) and a payload (journal_fmt.h).
 *
 * Invariants:
 *  - sequence numbers rise by one across records and segments, no gaps;
 *  - a record is written whole or, at a crash, torn at the very end of the
 *    last segment: a reader cuts a torn tail (and says so) but treats any
 *    damaged record with data after it as an error naming its offset;
 *  - journal_append only copies into a buffer; journal_commit writes the
 *    buffer with write() (so it survives the process being killed) and,
 *    when asked to be durable, makes it survive a machine crash as the
 *    policy says: `always` fdatasyncs before it returns, `group` leaves it
 *    to a thread that fdatasyncs every N microseconds (the order does not
 *    wait: up to N us of records may be lost at a power failure, never at a
 *    process crash), `off` never syncs.
 *  - A writer always starts a new segment: the old last segment's torn tail
 *    is cut (truncated) when the writer opens.
 */
#ifndef GANTRY_JOURNAL_H
#define GANTRY_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

enum journal_fsync { JOURNAL_FSYNC_ALWAYS, JOURNAL_FSYNC_GROUP, JOURNAL_FSYNC_OFF };

struct journal_opts {
	int fsync;		/* enum journal_fsync */
	int64_t group_us;	/* group: the sync period */
	uint64_t segment_bytes; /* rotate past this size (0: 64 MB) */
	int compress;		/* gzip segments once rotated out */
};

#define JOURNAL_HDR 40
#define JOURNAL_SEG_HDR 16
#define JOURNAL_MAX_PAYLOAD (16u << 20)
#define JOURNAL_MAGIC "GJOURNL1"

/* Who caused a record. */
enum journal_who { JW_HOST, JW_STRATEGY, JW_OPERATOR, JW_RISK, JW_VENUE };
#define JOURNAL_NO_STRAT 0xffff

struct journal_hdr {
	uint32_t len; /* the whole record, header included */
	uint32_t crc; /* CRC32C of bytes 8 .. len */
	uint64_t seq;
	int64_t time; /* ns since the epoch (event time in a replay) */
	uint8_t type, who;
	uint16_t strat;
	uint32_t version;
	uint64_t hash; /* the strategy's source hash (FNV-1a) */
};

/* "always", "off", "group" (200 us) or "group:N[us|ms]". 0, or -1 with err. */
int journal_parse_fsync(const char *s, struct journal_opts *o, char *err, size_t errlen);
const char *journal_fsync_name(int fsync);

/* ------------------------------------------------------------ writing */

struct journal;

/* Opens dir (made if missing) for appending: finds the last sequence
 * number, cuts a torn tail (cut_bytes, cut_offset say what was cut) and
 * starts a new segment. NULL with err (a damaged journal is not appended to:
 * the error names the offset). */
struct journal *journal_open(const char *dir, const struct journal_opts *o, char *err,
			     size_t errlen);
/* Commits what is buffered (durably), stops the sync thread, closes. */
int journal_close(struct journal *j);
/* Copies one record into the buffer; h->seq and h->len, h->crc are set
 * here. Returns its sequence number (0 out of memory). */
uint64_t journal_append(struct journal *j, struct journal_hdr *h, const void *payload, size_t len);
/* Writes the buffer out; durable: as the policy says (above). 0, or -1
 * with errno set (the caller must not act on what it journaled). */
int journal_commit(struct journal *j, int durable);
uint64_t journal_last_seq(const struct journal *j);
/* Bytes appended but not yet synced to disk (written or still buffered):
 * the journal's lag, for /metrics. 0 under `off` once written. */
uint64_t journal_lag_bytes(const struct journal *j);
/* Nanoseconds the oldest unsynced byte has waited (0 when none). */
int64_t journal_lag_ns(const struct journal *j);
const char *journal_dir(const struct journal *j);
const struct journal_opts *journal_options(const struct journal *j);

/* ------------------------------------------------------------ reading */

struct journal_record {
	struct journal_hdr h;
	const unsigned char *payload;
	size_t plen;
	const char *segment; /* its file name */
	uint64_t offset;     /* of the record in the segment file (uncompressed) */
};

/* One buffer of records. 1 a record (off moves past it), 0 the end, -1 a
 * damaged record (err names the offset), -2 a torn tail (only when
 * last_segment: err says where; the caller cuts at *off). */
int journal_scan(const unsigned char *buf, size_t n, size_t *off, int last_segment,
		 struct journal_record *out, char *err, size_t errlen);

struct journal_reader {
	char dir[1024];
	char **segs; /* file names, in order */
	int nseg, cur;
	unsigned char *buf;
	size_t n, off;
	uint64_t expect_seq; /* 0: any */
	/* a torn tail found (in the last segment): where and how many bytes */
	int torn;
	char torn_seg[64];
	uint64_t torn_offset, torn_bytes;
	uint64_t bytes;	  /* of every segment read, uncompressed */
	char reason[256]; /* why the tail is torn */
};

/* 0, or -1 with err (not a directory, no segments is fine: 0 records). */
int journal_reader_open(struct journal_reader *r, const char *dir, char *err, size_t errlen);
/* 1 a record, 0 the end (a torn tail: r->torn), -1 damaged or a sequence
 * gap (err names the segment and the offset). The record's payload points
 * into the reader's buffer until the next call. */
int journal_next(struct journal_reader *r, struct journal_record *out, char *err, size_t errlen);
void journal_reader_close(struct journal_reader *r);

#endif
