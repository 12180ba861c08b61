/*
 * fuzz_mold — libFuzzer target over the MoldUDP64 framing: the input is a
 * sequence of datagrams `[u16 length][datagram]`; each is parsed
 * (mold_parse), its blocks iterated, and each block decoded as ITCH and
 * applied to books when it continues the session's sequence (next = seq +
 * count, as feed_mold.c tracks it); re-request parsing too. After every
 * input the books must pass book_verify.
 *
 *   make fuzz-net        NET_FUZZ_SECONDS (60) of fuzzing from fuzz/corpus_mold
 *   make fuzz-smoke-net  a short deterministic pass (spec/netfeed_fuzz_spec.lua)
 */
#include "book.h"
#include "itch.h"
#include "netframe.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct book_set *b = book_set_new(&(struct book_config){.orders_hint = 64});
	if (!b)
		abort();
	uint64_t next = 0;
	for (size_t pos = 0; pos + 2 <= size;) {
		size_t len = (size_t)data[pos] << 8 | data[pos + 1];
		if (len > size - pos - 2)
			len = size - pos - 2;
		/* a copy of exactly the datagram: ASan sees any read past it */
		uint8_t *d = malloc(len ? len : 1);
		memcpy(d, data + pos + 2, len);
		pos += 2 + len;
		struct mold_header h;
		size_t bad = 0;
		mold_request_parse(d, len, &h);
		if (mold_parse(d, len, &h, &bad) != 0) {
			free(d);
			continue;
		}
		struct mold_iter it;
		mold_iter_init(&it, d, len, &h);
		const uint8_t *m;
		size_t mlen;
		unsigned n = 0;
		uint64_t s = h.seq;
		while (mold_iter_next(&it, &m, &mlen)) {
			if (m < d || m + mlen > d + len)
				abort();
			struct itch_msg im;
			struct book_event ev;
			if (s++ == next && itch_decode(m, mlen, &im) == ITCH_OK) {
				book_apply(b, &im, &ev);
				next = s;
			}
			n++;
		}
		if (h.count != MOLD_HEARTBEAT && h.count != MOLD_END && n != h.count)
			abort(); /* mold_parse promised count blocks */
		if (next == 0)
			next = h.seq;
		free(d);
	}
	char err[256];
	if (book_verify(b, err, sizeof err) != 0) {
		fprintf(stderr, "book_verify: %s\n", err);
		abort();
	}
	book_set_free(b);
	return 0;
}
