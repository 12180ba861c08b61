/*
 * tokens — the bearer tokens of the HTTP API, from a file of lines
 * `TOKEN SCOPE NAME` (blank lines and `#` comments ignored). A scope grants
 * a set of rights; a request needs one right (httpreq.h says which):
 *
 *   read   status, history, alerts, /metrics
 *   trade  read + resume, reload, set of a parameter
 *   risk   read + halt, flatten, set of a risk limit (the kill switch)
 *   admin  all of them + stop
 *
 * There is no default token: without a file the API refuses every request.
 * The file must not be readable or writable by others (refused otherwise),
 * tokens are at least 16 characters and unique. Lookups compare in constant
 * time over the whole list, so timing tells nothing about a near miss.
 */
#ifndef GANTRY_TOKENS_H
#define GANTRY_TOKENS_H

#include <stddef.h>

enum { RIGHT_READ = 1, RIGHT_TRADE = 2, RIGHT_RISK = 4, RIGHT_ADMIN = 8 };

#define TOKEN_MAX 128
#define TOKEN_MIN 16
#define TOKEN_NAME_MAX 64

struct token {
	char secret[TOKEN_MAX + 1];
	char scope[8];
	char name[TOKEN_NAME_MAX + 1];
	unsigned rights;
};

struct token_set {
	struct token *t; /* owned */
	int n;
};

/* The rights of a scope name; 0 when unknown. */
unsigned tokens_scope_rights(const char *scope);
/* Parses text (len bytes, need not end in NUL) into out; errors name
 * `path:LINE: what is wrong` and never quote a secret. 0, or -1 with err. */
int tokens_parse(const char *text, size_t len, const char *path, struct token_set *out, char *err,
		 size_t errlen);
/* Reads and parses path, refusing a file others may read or write. */
int tokens_load(const char *path, struct token_set *out, char *err, size_t errlen);
/* The token whose secret is s (len bytes), or NULL. */
const struct token *tokens_find(const struct token_set *ts, const char *s, size_t len);
void tokens_free(struct token_set *ts);

#endif
