/*
 * tokens — see tokens.h. The parser takes bytes as they are in the file
 * (a NUL, a line without its fields, an overlong token: each an error with
 * its line number), so it is the fuzz target's as well.
 */
#include "tokens.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

unsigned tokens_scope_rights(const char *scope)
{
	if (!strcmp(scope, "read"))
		return RIGHT_READ;
	if (!strcmp(scope, "trade"))
		return RIGHT_READ | RIGHT_TRADE;
	if (!strcmp(scope, "risk"))
		return RIGHT_READ | RIGHT_RISK;
	if (!strcmp(scope, "admin"))
		return RIGHT_READ | RIGHT_TRADE | RIGHT_RISK | RIGHT_ADMIN;
	return 0;
}

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* The next whitespace-separated field of [*p, end): its start and length. */
static size_t field(const char **p, const char *end, const char **start)
{
	while (*p < end && is_space(**p))
		(*p)++;
	*start = *p;
	while (*p < end && !is_space(**p))
		(*p)++;
	return (size_t)(*p - *start);
}

static int parse_line(const char *s, const char *end, const char *path, int line,
		      struct token *t, char *err, size_t errlen)
{
	const char *f[3];
	size_t n[3];
	for (const char *c = s; c < end; c++)
		if ((unsigned char)*c < 0x20 && !is_space(*c))
			return errf_fail(err, errlen, "%s:%d: a control character; expected TOKEN SCOPE "
						      "NAME", path, line);
	for (int i = 0; i < 3; i++)
		n[i] = field(&s, end, &f[i]);
	const char *rest;
	if (n[2] == 0 || field(&s, end, &rest) != 0)
		return errf_fail(err, errlen, "%s:%d: expected TOKEN SCOPE NAME (three fields)", path,
				 line);
	if (n[0] < TOKEN_MIN || n[0] > TOKEN_MAX)
		return errf_fail(err, errlen, "%s:%d: a token must have %d to %d characters", path,
				 line, TOKEN_MIN, TOKEN_MAX);
	if (n[1] >= sizeof t->scope || n[2] > TOKEN_NAME_MAX)
		return errf_fail(err, errlen, "%s:%d: %s too long", path, line,
				 n[1] >= sizeof t->scope ? "scope" : "name");
	memcpy(t->secret, f[0], n[0]);
	t->secret[n[0]] = '\0';
	memcpy(t->scope, f[1], n[1]);
	t->scope[n[1]] = '\0';
	memcpy(t->name, f[2], n[2]);
	t->name[n[2]] = '\0';
	t->rights = tokens_scope_rights(t->scope);
	if (!t->rights)
		return errf_fail(err, errlen, "%s:%d: unknown scope '%s' (read, trade, risk, admin)",
				 path, line, t->scope);
	return 0;
}

int tokens_parse(const char *text, size_t len, const char *path, struct token_set *out, char *err,
		 size_t errlen)
{
	struct token_set ts = {NULL, 0};
	const char *p = text, *end = text + len;
	int cap = 0, line = 0;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end, *s = p;
		line++;
		p = nl ? nl + 1 : end;
		while (s < le && is_space(*s))
			s++;
		if (s == le || *s == '#')
			continue;
		if (ts.n == cap) {
			int nc = cap ? cap * 2 : 8;
			struct token *g = realloc(ts.t, (size_t)nc * sizeof *g);
			if (!g) {
				tokens_free(&ts);
				return errf_fail(err, errlen, "%s: out of memory", path);
			}
			ts.t = g;
			cap = nc;
		}
		struct token *t = &ts.t[ts.n];
		if (parse_line(s, le, path, line, t, err, errlen) != 0) {
			tokens_free(&ts);
			return -1;
		}
		for (int i = 0; i < ts.n; i++)
			if (!strcmp(ts.t[i].secret, t->secret)) {
				errf(err, errlen, "%s:%d: the same token as %s's; each token must be "
						  "unique", path, line, ts.t[i].name);
				tokens_free(&ts);
				return -1;
			}
		ts.n++;
	}
	if (ts.n == 0) {
		tokens_free(&ts);
		return errf_fail(err, errlen, "%s: no token (lines of TOKEN SCOPE NAME)", path);
	}
	*out = ts;
	return 0;
}

int tokens_load(const char *path, struct token_set *out, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errf_fail(err, errlen, "%s: cannot open the token file: %s", path,
				 strerror(errno));
	struct stat sb;
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		close(fd);
		return errf_fail(err, errlen, "%s: not a regular file", path);
	}
	if (sb.st_mode & (S_IRWXO | S_IWGRP)) {
		close(fd);
		return errf_fail(err, errlen, "%s: the token file is readable or writable by others "
					      "(mode %03o); chmod 600 it", path,
				 (unsigned)(sb.st_mode & 0777));
	}
	if (sb.st_size > (1 << 20)) {
		close(fd);
		return errf_fail(err, errlen, "%s: over 1 MiB; a token file holds a few lines", path);
	}
	char *buf = malloc((size_t)sb.st_size + 1);
	size_t got = 0;
	ssize_t r = 0;
	while (buf && got < (size_t)sb.st_size &&
	       (r = read(fd, buf + got, (size_t)sb.st_size - got)) > 0)
		got += (size_t)r;
	close(fd);
	if (!buf || r < 0) {
		free(buf);
		return errf_fail(err, errlen, "%s: cannot read the token file", path);
	}
	int rc = tokens_parse(buf, got, path, out, err, errlen);
	memset(buf, 0, got);
	free(buf);
	return rc;
}

const struct token *tokens_find(const struct token_set *ts, const char *s, size_t len)
{
	const struct token *hit = NULL;
	for (int i = 0; i < ts->n; i++) {
		const struct token *t = &ts->t[i];
		size_t tl = strlen(t->secret);
		unsigned char diff = (unsigned char)(tl != len);
		for (size_t k = 0; k < TOKEN_MAX; k++) {
			unsigned char a = k < tl ? (unsigned char)t->secret[k] : 0;
			unsigned char b = k < len ? (unsigned char)s[k] : 0;
			diff |= a ^ b;
		}
		if (len > TOKEN_MAX)
			diff = 1;
		if (!diff)
			hit = t;
	}
	return hit;
}

void tokens_free(struct token_set *ts)
{
	if (ts->t)
		memset(ts->t, 0, (size_t)ts->n * sizeof *ts->t);
	free(ts->t);
	ts->t = NULL;
	ts->n = 0;
}
