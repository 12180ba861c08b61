/*
 * play_record — see play.h: the deployment record's hash chain, and the
 * SHA-256 and whole-file reads the playbook bindings share. No Lua here:
 * the verifier is fuzzed on its own (fuzz/fuzz_record.c).
 */
#include "play_record.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "log.h"

/* ------------------------------------------------------------ hashing */

void play_sha256_hex(const void *p, size_t len, char out[65])
{
	unsigned char md[32];
	unsigned int n = 0;
	if (EVP_Digest(p, len, md, &n, EVP_sha256(), NULL) != 1 || n != 32)
		memset(md, 0, sizeof md);
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	out[64] = '\0';
}

int play_read_all(const char *path, char **out, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return -1;
	size_t cap = 65536, n = 0;
	char *buf = malloc(cap + 1);
	size_t r;
	while (buf && (r = fread(buf + n, 1, cap - n, f)) > 0) {
		n += r;
		if (n == cap) {
			char *b = realloc(buf, 2 * cap + 1);
			if (!b) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = b;
			cap *= 2;
		}
	}
	int bad = ferror(f);
	fclose(f);
	if (!buf || bad) {
		free(buf);
		errno = buf ? EIO : ENOMEM;
		return -1;
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return 0;
}

/* ------------------------------------------------------------ the record */

#define PREV_KEY "{\"prev\": \""
#define HASH_KEY "\", \"hash\": \""

/* The hash a line carries ("" when it has none in place) and the text it
 * covers: the line without its `"hash": "...", ` field. */
static int split_line(const char *line, size_t len, char prev[65], char hash[65], char *rest,
		      size_t restlen, size_t *restn)
{
	size_t p = sizeof PREV_KEY - 1, h = sizeof HASH_KEY - 1;
	if (len < p + 64 + h + 64 + 3 || memcmp(line, PREV_KEY, p) != 0 ||
	    memcmp(line + p + 64, HASH_KEY, h) != 0 || line[p + 64 + h + 64] != '"')
		return -1;
	memcpy(prev, line + p, 64);
	prev[64] = '\0';
	memcpy(hash, line + p + 64 + h, 64);
	hash[64] = '\0';
	/* covered: {"prev": "<prev>"  +  what follows the hash's closing quote */
	size_t head = p + 64 + 1, tail = len - (p + 64 + h + 64 + 1);
	if (head + tail >= restlen)
		return -1;
	memcpy(rest, line, head);
	memcpy(rest + head, line + p + 64 + h + 64 + 1, tail);
	*restn = head + tail;
	return 0;
}

/* The hash of the last line of buf (64 zeros for an empty file); -1 when it is not ours. */
static int last_hash(const char *buf, size_t len, char out[65])
{
	memset(out, '0', 64);
	out[64] = '\0';
	while (len > 0 && buf[len - 1] == '\n')
		len--;
	if (len == 0)
		return 0;
	const char *start = buf + len;
	while (start > buf && start[-1] != '\n')
		start--;
	size_t p = sizeof PREV_KEY - 1, h = sizeof HASH_KEY - 1;
	if ((size_t)(buf + len - start) < p + 64 + h + 64 ||
	    memcmp(start + p + 64, HASH_KEY, h) != 0)
		return -1;
	memcpy(out, start + p + 64 + h, 64);
	return 0;
}

int play_record_append(const char *path, const char *body, char *err, size_t errlen)
{
	size_t blen = strlen(body);
	if (blen < 2 || body[0] != '{' || body[blen - 1] != '}' || strchr(body, '\n'))
		return errf_fail(err, errlen, "record: a step must be one JSON object on one line");
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return errf_fail(err, errlen, "%s: cannot open: %s", path, strerror(errno));
	if (flock(fd, LOCK_EX) != 0) {
		close(fd);
		return errf_fail(err, errlen, "%s: cannot lock: %s", path, strerror(errno));
	}
	char *buf = NULL, prev[65];
	size_t len = 0;
	int rc = -1;
	if (play_read_all(path, &buf, &len) != 0) {
		errf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
	} else if (last_hash(buf, len, prev) != 0) {
		errf(err, errlen,
		     "%s: its last line is not a record line; run "
		     "`gantry play --verify %s`",
		     path, path);
	} else {
		/* covered text: {"prev": "<prev>"<rest of body after '{'> */
		size_t n = sizeof PREV_KEY - 1 + 64 + 1 + blen + 2;
		char *covered = malloc(n + 1), *line = malloc(n + 128);
		if (covered && line) {
			int cn = snprintf(covered, n + 1, PREV_KEY "%s\"%s%s", prev,
					  blen > 2 ? ", " : "", body + 1);
			char hash[65];
			play_sha256_hex(covered, (size_t)cn, hash);
			int ln = snprintf(line, n + 128, PREV_KEY "%s" HASH_KEY "%s\"%s%s\n", prev,
					  hash, blen > 2 ? ", " : "", body + 1);
			if (lseek(fd, 0, SEEK_END) < 0 || write(fd, line, (size_t)ln) != ln)
				errf(err, errlen, "%s: cannot write: %s", path, strerror(errno));
			else
				rc = fsync(fd) == 0 ? 0
						    : errf_fail(err, errlen, "%s: fsync: %s", path,
								strerror(errno));
		} else {
			errf(err, errlen, "out of memory");
		}
		free(covered);
		free(line);
	}
	free(buf);
	close(fd); /* releases the lock */
	return rc;
}

long play_record_verify_buf(const char *buf, size_t len, long *nlines, char *err, size_t errlen)
{
	*nlines = 0;
	char expect[65], prev[65], hash[65], got[65];
	memset(expect, '0', 64);
	expect[64] = '\0';
	long bad = 0, line = 0;
	char *rest = malloc(len + 1);
	for (size_t i = 0; rest && i < len && !bad;) {
		const char *nl = memchr(buf + i, '\n', len - i);
		size_t n = nl ? (size_t)(nl - (buf + i)) : len - i, rn;
		line++;
		if (!nl) {
			errf(err, errlen, "line %ld: cut short (no newline at its end)", line);
			bad = line;
		} else if (split_line(buf + i, n, prev, hash, rest, len + 1, &rn) != 0) {
			errf(err, errlen,
			     "line %ld: not a record line (no \"prev\" and \"hash\" first)", line);
			bad = line;
		} else if (strcmp(prev, expect) != 0) {
			errf(err, errlen,
			     "line %ld: \"prev\" is not the hash of line %ld (a line "
			     "before it was changed, removed or reordered)",
			     line, line - 1);
			bad = line;
		} else {
			play_sha256_hex(rest, rn, got);
			if (strcmp(got, hash) != 0) {
				errf(err, errlen,
				     "line %ld: its content does not match its \"hash\" "
				     "(the line was changed)",
				     line);
				bad = line;
			}
			memcpy(expect, hash, 65);
		}
		i += n + 1;
	}
	if (!rest) {
		errf(err, errlen, "out of memory");
		bad = -1;
	}
	free(rest);
	*nlines = bad ? 0 : line;
	return bad;
}

long play_record_verify(const char *path, long *nlines, char *err, size_t errlen)
{
	char *buf;
	size_t len;
	*nlines = 0;
	if (play_read_all(path, &buf, &len) != 0) {
		errf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
		return -1;
	}
	long bad = play_record_verify_buf(buf, len, nlines, err, errlen);
	free(buf);
	return bad;
}
