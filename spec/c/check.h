/*
 * check.h — the smallest unit-test harness that tells the truth.
 *
 * A test file defines test functions and calls them from main() through RUN;
 * CHECK records a failure with file:line and goes on; main() ends with
 * `return check_summary();`, which prints "N passed, N failed" (one check is
 * one assertion) and returns non-zero when anything failed.
 */
#ifndef GANTRY_CHECK_H
#define GANTRY_CHECK_H

#include <math.h>
#include <stdio.h>
#include <string.h>

static int check_passed, check_failed;

#define CHECK(cond)                                                                  \
	do {                                                                             \
		if (cond) {                                                                  \
			check_passed++;                                                          \
		} else {                                                                     \
			check_failed++;                                                          \
			fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);          \
		}                                                                            \
	} while (0)

#define CHECK_EQ_INT(a, b)                                                           \
	do {                                                                             \
		long long check_a_ = (long long)(a), check_b_ = (long long)(b);              \
		if (check_a_ == check_b_) {                                                  \
			check_passed++;                                                          \
		} else {                                                                     \
			check_failed++;                                                          \
			fprintf(stderr, "FAIL %s:%d: %s == %s (%lld != %lld)\n", __FILE__,        \
			        __LINE__, #a, #b, check_a_, check_b_);                           \
		}                                                                            \
	} while (0)

#define CHECK_NEAR(a, b, eps)                                                        \
	do {                                                                             \
		double check_a_ = (a), check_b_ = (b);                                       \
		if (fabs(check_a_ - check_b_) <= (eps)) {                                    \
			check_passed++;                                                          \
		} else {                                                                     \
			check_failed++;                                                          \
			fprintf(stderr, "FAIL %s:%d: %s ~ %s (%.10g != %.10g)\n", __FILE__,       \
			        __LINE__, #a, #b, check_a_, check_b_);                           \
		}                                                                            \
	} while (0)

#define CHECK_STR(a, b)                                                              \
	do {                                                                             \
		const char *check_a_ = (a), *check_b_ = (b);                                 \
		if (check_a_ && check_b_ && strcmp(check_a_, check_b_) == 0) {               \
			check_passed++;                                                          \
		} else {                                                                     \
			check_failed++;                                                          \
			fprintf(stderr, "FAIL %s:%d: %s == \"%s\" (got \"%s\")\n", __FILE__,      \
			        __LINE__, #a, check_b_ ? check_b_ : "(null)",                    \
			        check_a_ ? check_a_ : "(null)");                                 \
		}                                                                            \
	} while (0)

#define RUN(fn)                                                                      \
	do {                                                                             \
		fprintf(stderr, "-- %s\n", #fn);                                             \
		fn();                                                                        \
	} while (0)

static inline int check_summary(void)
{
	printf("%d passed, %d failed\n", check_passed, check_failed);
	return check_failed != 0;
}

#endif
