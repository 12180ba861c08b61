/*
 * outdir — see outdir.h. Nothing here writes a run's files: it decides
 * whether a run may, before the first one is opened.
 */
#include "outdir.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "output.h"

/* Every file a run writes into its directory (output.c, engine.c). */
static const char *const run_files[] = {"summary.json", "fills.csv", "orders.csv", "equity.csv",
					"report.html"};
#define NRUN_FILES (sizeof run_files / sizeof run_files[0])

/* Past this many, something else is making these names: give up. */
#define UNIQUE_TRIES 10000

int outdir_make_unique(const char *base, char *out, size_t len, char *err, size_t errlen)
{
	char parent[4096];
	snprintf(parent, sizeof parent, "%s", base);
	char *slash = strrchr(parent, '/');
	if (slash && slash != parent) {
		*slash = '\0';
		if (output_mkdirs(parent, err, errlen) != 0)
			return -1;
	}
	for (int n = 1; n <= UNIQUE_TRIES; n++) {
		int w = n == 1 ? snprintf(out, len, "%s", base) : snprintf(out, len, "%s-%d", base, n);
		if (w < 0 || (size_t)w >= len) {
			errf(err, errlen, "%s: path too long", base);
			return -1;
		}
		if (mkdir(out, 0755) == 0)
			return 0;
		if (errno != EEXIST) {
			errf(err, errlen, "%s: cannot create: %s", out, strerror(errno));
			return -1;
		}
	}
	errf(err, errlen, "%s: %d directories of that name exist already; give --out", base,
	     UNIQUE_TRIES);
	return -1;
}

static void lock_path(const char *dir, char *buf, size_t len)
{
	snprintf(buf, len, "%s/.lock", dir);
}

/* The pid the holder wrote, or 0 while it has not written it yet. */
static long holder_pid(int fd)
{
	char buf[32];
	ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	long pid = 0;
	return sscanf(buf, "%ld", &pid) == 1 ? pid : 0;
}

int outdir_lock(const char *dir, char *err, size_t errlen)
{
	char path[4096];
	lock_path(dir, path, sizeof path);
	for (int tries = 0; tries < 100; tries++) {
		int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
		if (fd < 0) {
			errf(err, errlen, "%s: cannot lock: %s", path, strerror(errno));
			return -1;
		}
		if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
			int busy = errno == EWOULDBLOCK;
			long pid = busy ? holder_pid(fd) : 0;
			if (busy && pid)
				errf(err, errlen, "%s: another gantry (pid %ld) is writing there; stop it, "
						  "or give this run another --out", dir, pid);
			else if (busy)
				errf(err, errlen, "%s: another gantry is writing there; stop it, or give "
						  "this run another --out", dir);
			else
				errf(err, errlen, "%s: cannot lock: %s", path, strerror(errno));
			close(fd);
			return -1;
		}
		/* the holder before us may have removed the file between our open and
		 * our flock (outdir_unlock): a lock on a file no one else can find
		 * keeps no one out, so take the one at the path */
		struct stat held, named;
		if (fstat(fd, &held) == 0 && stat(path, &named) == 0 && held.st_ino == named.st_ino &&
		    held.st_dev == named.st_dev) {
			char pid[32];
			int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
			if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)n, 0) != n)
				log_msg(LOG_WARN, "out", "%s: cannot write the pid: %s", path,
					strerror(errno));
			return fd;
		}
		close(fd);
	}
	errf(err, errlen, "%s: cannot lock: it keeps being removed", path);
	return -1;
}

void outdir_unlock(const char *dir, int fd)
{
	if (fd < 0)
		return;
	char path[4096];
	lock_path(dir, path, sizeof path);
	unlink(path); /* still held: whoever opened it before waits for the close, then retries */
	close(fd);
}

int outdir_earlier_run(const char *dir, char *list, size_t len)
{
	size_t used = 0;
	int n = 0;
	if (len)
		list[0] = '\0';
	for (size_t i = 0; i < NRUN_FILES; i++) {
		char path[4096];
		struct stat sb;
		snprintf(path, sizeof path, "%s/%s", dir, run_files[i]);
		if (lstat(path, &sb) != 0)
			continue;
		int w = snprintf(list + used, len - used, "%s%s", n ? ", " : "", run_files[i]);
		if (w > 0 && (size_t)w < len - used)
			used += (size_t)w;
		n++;
	}
	return n;
}

int outdir_clear(const char *dir, char *err, size_t errlen)
{
	for (size_t i = 0; i < NRUN_FILES; i++) {
		char path[4096];
		snprintf(path, sizeof path, "%s/%s", dir, run_files[i]);
		if (unlink(path) != 0 && errno != ENOENT) {
			errf(err, errlen, "%s: cannot remove: %s", path, strerror(errno));
			return -1;
		}
	}
	return 0;
}
