/*
 * fuzz_record — libFuzzer target over the deployment record's verifier
 * (bindings/play_record.c): any bytes as a deployments.jsonl. It must never
 * read out of bounds, and a record it calls intact must have as many lines
 * as newlines.
 *
 *   make fuzz-record          FUZZ_SECONDS (60) of fuzzing from fuzz/record-corpus
 *   make fuzz-record-smoke    a short deterministic pass (make test runs it)
 */
#include "play_record.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	/* an exact-size copy: a read one past the end is caught */
	char *buf = malloc(size ? size : 1);
	if (!buf)
		abort();
	memcpy(buf, data, size);
	char err[256];
	long n = 0;
	long bad = play_record_verify_buf(buf, size, &n, err, sizeof err);
	if (bad == 0) {
		long nl = 0;
		for (size_t i = 0; i < size; i++)
			nl += buf[i] == '\n';
		if (nl != n)
			abort();
	}
	free(buf);
	return 0;
}
