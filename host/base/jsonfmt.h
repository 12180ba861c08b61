/*
 * jsonfmt — a JSON string literal from a C string, written through a sink,
 * so files (stdio) and sockets (evbuffer) quote the same way.
 */
#ifndef GANTRY_JSONFMT_H
#define GANTRY_JSONFMT_H

#include <stddef.h>

typedef void (*json_sink)(void *ud, const char *p, size_t n);

/* Writes "s" with ", \ and control characters escaped. */
void json_quote(const char *s, json_sink put, void *ud);

#endif
