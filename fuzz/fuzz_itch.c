/*
 * fuzz_itch — libFuzzer target over the framed reader, the decoder, the JSON
 * rendering and the books. The first input byte picks options (time checks,
 * a subscription filter); the rest is a `[u16 length][message]` stream. After
 * every input the books must pass book_verify.
 *
 *   make fuzz            FUZZ_SECONDS (60) of fuzzing from fuzz/corpus
 *   make fuzz-smoke      a short deterministic pass (make test runs it)
 */
#include "book.h"
#include "itch.h"

#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	uint8_t opt = data[0];
	struct book_set *b = book_set_new(&(struct book_config){.orders_hint = 64});
	if (!b)
		abort();
	if (opt & 2) {
		book_set_filter(b, 1);
		book_subscribe(b, 1, 1);
		book_subscribe_name(b, "AAAA");
	}
	struct itch_reader rd;
	itch_reader_open_mem(&rd, data + 1, size - 1, "fuzz");
	rd.check_time = opt & 1;
	struct itch_msg m;
	struct book_event ev;
	char json[1024];
	int rc;
	struct itch_ahead far = {0}, near = {0};
	size_t alen;
	for (int i = 0; i < 3; i++) {
		const uint8_t *ap = itch_reader_peek(&rd, &far, &alen);
		book_prefetch(b, ap, ap ? alen : 0);
	}
	while ((rc = itch_reader_next(&rd, &m)) != 0) {
		const uint8_t *ap = itch_reader_peek(&rd, &far, &alen);
		book_prefetch(b, ap, ap ? alen : 0);
		ap = itch_reader_peek(&rd, &near, &alen);
		book_prefetch_near(b, ap, ap ? alen : 0);
		if (rc < 0 && rc != ITCH_ERR_TIME)
			continue;
		if (m.len != itch_type_len((uint8_t)m.type))
			abort();
		if (itch_to_json(&m, json, sizeof json) >= sizeof json)
			abort();
		book_apply(b, &m, &ev);
		struct book_top t;
		book_top(b, m.locate, &t);
		struct book_level_info lv[4];
		book_depth(b, m.locate, BOOK_BID, lv, 4);
		book_depth(b, m.locate, BOOK_ASK, lv, 4);
	}
	char err[256];
	if (book_verify(b, err, sizeof err) != 0) {
		fprintf(stderr, "book_verify: %s\n", err);
		abort();
	}
	itch_reader_close(&rd);
	book_set_free(b);
	return 0;
}
