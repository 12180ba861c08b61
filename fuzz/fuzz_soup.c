/*
 * fuzz_soup — libFuzzer target over the SoupBinTCP 3.0 framing: the input is
 * a byte stream as a client would receive it, cut into reads at the sizes
 * the first byte picks; every packet is parsed (soup_parse), Login Accepted
 * and Login Request payloads are parsed, and each Sequenced Data payload is
 * decoded as ITCH and applied to books (zero-copy, as feed_soup.c does).
 * After every input the books must pass book_verify.
 *
 *   make fuzz-net        NET_FUZZ_SECONDS (60) of fuzzing from fuzz/corpus_soup
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
	if (size < 1)
		return 0;
	size_t chunk = (size_t)(data[0] % 64) + 1; /* bytes per read */
	data++;
	size--;
	struct book_set *b = book_set_new(&(struct book_config){.orders_hint = 64});
	if (!b)
		abort();
	/* a receive buffer as the client keeps it: bytes arrive chunk by chunk */
	uint8_t *buf = malloc(size + 1);
	size_t have = 0, fed = 0;
	while (fed < size || have > 0) {
		size_t k = size - fed < chunk ? size - fed : chunk;
		memcpy(buf + have, data + fed, k);
		have += k;
		fed += k;
		struct soup_packet pk;
		long used;
		size_t pos = 0;
		while ((used = soup_parse(buf + pos, have - pos, &pk)) > 0) {
			if (pk.payload + pk.len > buf + have)
				abort(); /* a view past the bytes given */
			char session[11];
			uint64_t seq;
			struct soup_login lg;
			struct itch_msg m;
			struct book_event ev;
			if (pk.type == 'A')
				soup_accepted_parse(&pk, session, &seq);
			else if (pk.type == 'L')
				soup_login_parse(&pk, &lg);
			else if (pk.type == 'S' && itch_decode(pk.payload, pk.len, &m) == ITCH_OK)
				book_apply(b, &m, &ev);
			pos += (size_t)used;
		}
		if (used < 0) { /* a zero length: the client drops the link */
			have = 0;
			if (k == 0)
				break;
			continue;
		}
		memmove(buf, buf + pos, have - pos);
		have -= pos;
		if (k == 0)
			break; /* a partial packet at the end */
	}
	char err[256];
	if (book_verify(b, err, sizeof err) != 0) {
		fprintf(stderr, "book_verify: %s\n", err);
		abort();
	}
	uint8_t login[SOUP_LOGIN_LEN], out[64];
	if (soup_login_request(login, "u", "p", "", 7) != 0 ||
	    soup_build(out, sizeof out, 'R', NULL, 0) != 3)
		abort();
	free(buf);
	book_set_free(b);
	return 0;
}
