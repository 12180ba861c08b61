/*
 * fuzz_fix — libFuzzer target over the FIX 4.4 framer and parser: the input
 * is a byte stream, framed message by message as the session does (garbled
 * bytes dropped, good frames parsed, every field read back as an int, a
 * double, a time). A frame's fields re-encoded must frame again.
 *
 *   make fuzz-fix         FUZZ_SECONDS (60) of fuzzing from fuzz/corpus-fix
 *   make fuzz-fix-smoke   a short deterministic pass (make test runs it)
 */
#include "fix.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct fix_msg m;
static char out[8192];

static void reencode(const struct fix_msg *msg)
{
	struct fix_writer w;
	fix_begin(&w, out, sizeof out, msg->type[0] ? msg->type : "0");
	for (int i = 3; i < msg->nfields; i++) {
		if (msg->f[i].tag == 10)
			continue;
		fix_add_strn(&w, msg->f[i].tag, msg->buf + msg->f[i].off, msg->f[i].len);
	}
	const char *p;
	long n = fix_finish(&w, &p);
	if (n < 0)
		return;
	size_t used;
	const char *why;
	if (fix_frame(p, (size_t)n, sizeof out, &used, &why) != FIX_FRAME_OK || used != (size_t)n)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	size_t off = 0;
	while (off < size) {
		size_t used;
		const char *why;
		int rc = fix_frame(buf + off, size - off, 4096, &used, &why);
		if (rc == FIX_FRAME_MORE)
			break;
		if (used == 0 || used > size - off)
			abort(); /* no progress, or past the end */
		if (rc == FIX_FRAME_OK) {
			struct fix_error err;
			int ok = fix_parse(buf + off, used, &m, &err) == 0;
			for (int i = 0; i < m.nfields; i++) {
				int64_t v;
				double d;
				char s[32];
				size_t n;
				fix_get_int(&m, m.f[i].tag, &v);
				fix_get_double(&m, m.f[i].tag, &d);
				fix_get_char(&m, m.f[i].tag);
				fix_get_str(&m, m.f[i].tag, s, sizeof s);
				const char *t = fix_get(&m, m.f[i].tag, &n);
				if (t)
					fix_parse_time(t, n, &v);
			}
			if (ok)
				reencode(&m);
		}
		off += used;
	}
	return 0;
}
