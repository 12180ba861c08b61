/*
 * play_record — the deployment record (deployments.jsonl): JSON lines, each
 * `{"prev": "<hash of the line before>", "hash": "<its own>", ...}`, where a
 * line's hash is the SHA-256 of the line without its `"hash": "...", `
 * field, and the first line's prev is 64 zeros. An edited line fails its
 * own hash; a removed or reordered one fails the next line's prev. No Lua:
 * fuzz/fuzz_record.c drives the verifier alone.
 */
#ifndef GANTRY_BINDINGS_PLAY_RECORD_H
#define GANTRY_BINDINGS_PLAY_RECORD_H

#include <stddef.h>

/* SHA-256 of len bytes as 64 hex digits and a NUL. */
void play_sha256_hex(const void *p, size_t len, char out[65]);

/* The deployment record. Appends one line: the object text `body` (a JSON
 * object, "{...}") with `"prev": "<hex of the last line>"` put first. The
 * file is locked (flock) while it is read and written, so a second writer
 * (`gantry approve`) chains after it. 0, or -1 with err. */
int play_record_append(const char *path, const char *body, char *err, size_t errlen);

/* A whole file into a malloc'd, NUL-terminated buffer: 0, or -1 (errno). */
int play_read_all(const char *path, char **out, size_t *len);

/* The same check over bytes in memory (any bytes: bounds-checked). */
long play_record_verify_buf(const char *buf, size_t len, long *nlines, char *err, size_t errlen);

/* Verifies the chain: 0 intact (lines in *nlines), or the 1-based number of
 * the first bad line with why in err; -1 when the file cannot be read. */
long play_record_verify(const char *path, long *nlines, char *err, size_t errlen);

#endif
