/*
 * fuzz_journal — libFuzzer target over the journal's record reader
 * (journal_scan: lengths, CRCs, torn tails), the payload decoder of every
 * record type, the JSON dump and the check of a snapshot's ctx.state bytes. The first input byte picks whether the
 * buffer is the last segment (torn tails allowed) and whether CRCs are
 * fixed up first, so the mutator reaches the payload decoders too; the rest
 * is a segment's records (no segment header).
 *
 *   make fuzz-journal          FUZZ_SECONDS (60) of fuzzing from fuzz/corpus-journal
 *   make fuzz-journal-smoke    a short deterministic pass (make test runs it)
 */
#include "crc32c.h"
#include "journal.h"
#include "journal_fmt.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void sink(void *ud, const char *p, size_t n)
{
	size_t *total = ud;
	for (size_t i = 0; i < n; i++) /* touch every byte: ASan checks the reads */
		*total += (unsigned char)p[i];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	uint8_t opt = data[0];
	size_t n = size - 1;
	unsigned char *buf = malloc(n ? n : 1);
	if (!buf)
		abort();
	memcpy(buf, data + 1, n);
	if (opt & 2) { /* make each well-framed record's CRC right */
		size_t at = 0;
		while (n - at >= JOURNAL_HDR) {
			uint32_t len;
			memcpy(&len, buf + at, 4);
			if (len < JOURNAL_HDR || len > n - at)
				break;
			uint32_t c = crc32c(0, buf + at + 8, len - 8);
			memcpy(buf + at + 4, &c, 4);
			at += len;
		}
	}
	size_t off = 0, total = 0;
	struct journal_record r;
	char err[256];
	const char *names[2] = {"a", NULL};
	int rc;
	while ((rc = journal_scan(buf, n, &off, opt & 1, &r, err, sizeof err)) == 1) {
		if (r.offset + JOURNAL_HDR + r.plen > n)
			abort(); /* the record must lie inside the buffer */
		jfmt_json(&r, names, 2, sink, &total);
		if (r.h.type == J_SNAPSHOT) {
			static union jpayload u; /* large */
			char e2[256];
			if (jfmt_decode(J_SNAPSHOT, r.payload, r.plen, &u, e2, sizeof e2) == 0 &&
			    u.snap.bloblen)
				jfmt_state_check(u.snap.blob, u.snap.bloblen, e2, sizeof e2);
		}
	}
	if (rc < 0 && !strstr(err, "offset"))
		abort(); /* every error names its offset */
	/* the buffer itself as ctx.state bytes too */
	jfmt_state_check(buf, n, err, sizeof err);
	free(buf);
	return 0;
}
