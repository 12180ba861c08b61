/*
 * netframe — SoupBinTCP 3.0 and MoldUDP64 framing, parsed within the bytes
 * given (see netframe.h). Nothing here allocates or reads past `avail`/`len`.
 */
#include "netframe.h"

#include <stdio.h>
#include <string.h>

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}

static uint64_t be64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

/* ------------------------------------------------------------ SoupBinTCP */

long soup_parse(const uint8_t *p, size_t avail, struct soup_packet *out)
{
	if (avail < 2)
		return 0;
	size_t len = be16(p);
	if (len == 0)
		return -1;
	if (avail < 2 + len)
		return 0;
	out->type = (char)p[2];
	out->payload = p + 3;
	out->len = len - 1;
	return (long)(2 + len);
}

size_t soup_build(uint8_t *out, size_t cap, char type, const uint8_t *payload, size_t len)
{
	if (len > 65534 || cap < 3 + len)
		return 0;
	put16(out, (uint16_t)(len + 1));
	out[2] = (uint8_t)type;
	if (len)
		memcpy(out + 3, payload, len);
	return 3 + len;
}

/* A left-justified, space-padded alpha field: -1 when v is longer. */
static int put_alpha(uint8_t *p, size_t n, const char *v)
{
	size_t k = v ? strlen(v) : 0;
	if (k > n)
		return -1;
	memset(p, ' ', n);
	if (k)
		memcpy(p, v, k);
	return 0;
}

/* A right-justified, space-padded number field of n digits. */
static void put_num(uint8_t *p, size_t n, uint64_t v)
{
	char tmp[24];
	int k = snprintf(tmp, sizeof tmp, "%llu", (unsigned long long)v);
	memset(p, ' ', n);
	memcpy(p + n - (size_t)k, tmp, (size_t)k);
}

static void get_alpha(const uint8_t *p, size_t n, char *out)
{
	size_t a = 0, b = n;
	while (a < b && p[a] == ' ')
		a++;
	while (b > a && p[b - 1] == ' ')
		b--;
	memcpy(out, p + a, b - a);
	out[b - a] = '\0';
}

/* Digits with spaces either side; -1 when anything else or empty. */
static int get_num(const uint8_t *p, size_t n, uint64_t *v)
{
	size_t a = 0, b = n;
	while (a < b && p[a] == ' ')
		a++;
	while (b > a && p[b - 1] == ' ')
		b--;
	if (a == b)
		return -1;
	uint64_t x = 0;
	for (size_t i = a; i < b; i++) {
		if (p[i] < '0' || p[i] > '9' || x > (UINT64_MAX - 9) / 10)
			return -1;
		x = x * 10 + (uint64_t)(p[i] - '0');
	}
	*v = x;
	return 0;
}

int soup_login_request(uint8_t out[SOUP_LOGIN_LEN], const char *user, const char *pass,
		       const char *session, uint64_t seq)
{
	put16(out, 47);
	out[2] = 'L';
	if (put_alpha(out + 3, 6, user) || put_alpha(out + 9, 10, pass) ||
	    put_alpha(out + 19, 10, session))
		return -1;
	put_num(out + 29, 20, seq);
	return 0;
}

int soup_login_parse(const struct soup_packet *pk, struct soup_login *out)
{
	if (pk->type != 'L' || pk->len != 46)
		return -1;
	get_alpha(pk->payload, 6, out->user);
	get_alpha(pk->payload + 6, 10, out->pass);
	get_alpha(pk->payload + 16, 10, out->session);
	return get_num(pk->payload + 26, 20, &out->seq);
}

int soup_accepted_parse(const struct soup_packet *pk, char session[11], uint64_t *seq)
{
	if (pk->type != 'A' || pk->len != SOUP_ACCEPTED_PAYLOAD)
		return -1;
	get_alpha(pk->payload, 10, session);
	return get_num(pk->payload + 10, 20, seq);
}

void soup_accepted_build(uint8_t out[SOUP_ACCEPTED_PAYLOAD], const char *session, uint64_t seq)
{
	char s[11];
	snprintf(s, sizeof s, "%s", session ? session : "");
	put_alpha(out, 10, s);
	put_num(out + 10, 20, seq);
}

/* ------------------------------------------------------------ MoldUDP64 */

int mold_parse(const uint8_t *p, size_t len, struct mold_header *h, size_t *bad_off)
{
	if (len < MOLD_HDR_LEN)
		return -1;
	memcpy(h->session, p, 10);
	h->session[10] = '\0';
	h->seq = be64(p + 10);
	h->count = be16(p + 18);
	if (h->count == MOLD_HEARTBEAT || h->count == MOLD_END)
		return 0;
	size_t pos = MOLD_HDR_LEN;
	for (unsigned i = 0; i < h->count; i++) {
		if (len - pos < 2 || be16(p + pos) == 0 || len - pos - 2 < be16(p + pos)) {
			if (bad_off)
				*bad_off = pos;
			return -2;
		}
		pos += 2 + (size_t)be16(p + pos);
	}
	return 0;
}

void mold_iter_init(struct mold_iter *it, const uint8_t *p, size_t len, const struct mold_header *h)
{
	it->p = p;
	it->len = len;
	it->pos = MOLD_HDR_LEN;
	it->left = h->count == MOLD_END ? 0 : h->count;
}

int mold_iter_next(struct mold_iter *it, const uint8_t **msg, size_t *mlen)
{
	/* checked by mold_parse; checked again so a misuse cannot read past */
	if (it->left == 0 || it->len - it->pos < 2)
		return 0;
	size_t n = be16(it->p + it->pos);
	if (it->len - it->pos - 2 < n)
		return 0;
	*msg = it->p + it->pos + 2;
	*mlen = n;
	it->pos += 2 + n;
	it->left--;
	return 1;
}

void mold_header_build(uint8_t out[MOLD_HDR_LEN], const char *session, uint64_t seq, uint16_t count)
{
	size_t k = strnlen(session, 10);
	memset(out, ' ', 10);
	memcpy(out, session, k);
	put64(out + 10, seq);
	put16(out + 18, count);
}

int mold_request_parse(const uint8_t *p, size_t len, struct mold_header *h)
{
	if (len != MOLD_REQUEST_LEN)
		return -1;
	memcpy(h->session, p, 10);
	h->session[10] = '\0';
	h->seq = be64(p + 10);
	h->count = be16(p + 18);
	return 0;
}
