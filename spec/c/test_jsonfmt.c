/* jsonfmt: quoting for the JSON the host writes (summary.json, ctl answers). */
#include <string.h>

#include "check.h"
#include "jsonfmt.h"

struct buf {
	char s[256];
	size_t n;
};

static void put(void *ud, const char *p, size_t n)
{
	struct buf *b = ud;
	memcpy(b->s + b->n, p, n);
	b->n += n;
	b->s[b->n] = '\0';
}

static const char *quote(const char *in)
{
	static struct buf b;
	b.n = 0;
	b.s[0] = '\0';
	json_quote(in, put, &b);
	return b.s;
}

static void test_quote(void)
{
	CHECK_STR(quote(""), "\"\"");
	CHECK_STR(quote("sma_cross"), "\"sma_cross\"");
	CHECK_STR(quote("a\"b\\c"), "\"a\\\"b\\\\c\"");
	CHECK_STR(quote("line\nnext\ttab"), "\"line\\u000anext\\u0009tab\"");
	CHECK_STR(quote("\x01x\x1f"), "\"\\u0001x\\u001f\"");
	CHECK_STR(quote("caf\xc3\xa9"), "\"caf\xc3\xa9\""); /* UTF-8 passes through */
}

int main(void)
{
	RUN(test_quote);
	return check_summary();
}
