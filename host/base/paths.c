/*
 * paths — see paths.h. Worked out once (threads open sandboxes: reloads
 * compile on helper threads), then read.
 */
#include "paths.h"

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char stdlib_dir[PATH_MAX];
static pthread_once_t stdlib_once = PTHREAD_ONCE_INIT;

/* dir holds a stdlib: its gantry/ folder; then dir, resolved, is the answer. */
static int take_if_stdlib(const char *dir)
{
	char probe[PATH_MAX + 16];
	struct stat sb;
	snprintf(probe, sizeof probe, "%s/gantry", dir);
	if (stat(probe, &sb) != 0 || !S_ISDIR(sb.st_mode))
		return 0;
	if (!realpath(dir, stdlib_dir))
		snprintf(stdlib_dir, sizeof stdlib_dir, "%s", dir);
	return 1;
}

static void find_stdlib(void)
{
	const char *env = getenv("GANTRY_STDLIB");
	if (env && *env) {
		snprintf(stdlib_dir, sizeof stdlib_dir, "%s", env);
		return;
	}
	char bin[PATH_MAX], cand[PATH_MAX + 32];
	ssize_t n = readlink("/proc/self/exe", bin, sizeof bin - 1);
	if (n <= 0) {
		snprintf(stdlib_dir, sizeof stdlib_dir, "stdlib");
		return;
	}
	bin[n] = '\0';
	char *slash = strrchr(bin, '/');
	if (slash)
		*slash = '\0';
	snprintf(cand, sizeof cand, "%s/../share/gantry/stdlib", bin);
	if (take_if_stdlib(cand))
		return;
	char dir[PATH_MAX];
	snprintf(dir, sizeof dir, "%s", bin);
	for (int up = 0; up <= 4; up++) {
		snprintf(cand, sizeof cand, "%s/stdlib", dir);
		if (take_if_stdlib(cand))
			return;
		char *last = strrchr(dir, '/');
		if (!last || last == dir)
			break;
		*last = '\0';
	}
	snprintf(stdlib_dir, sizeof stdlib_dir, "%s/../share/gantry/stdlib", bin);
}

const char *paths_stdlib(void)
{
	pthread_once(&stdlib_once, find_stdlib);
	return stdlib_dir;
}
