/*
 * journal — segment files, the append buffer, the sync policies, rotation
 * and the reader. Records are little-endian (the hosts we run on).
 *
 * The writer runs on the loop's thread: append copies into a buffer,
 * commit write()s it. Under `group` one thread wakes every group_us and
 * fdatasyncs the current segment when something was written since the last
 * sync; it takes the mutex only around that sync, and the loop's thread
 * takes it only to rotate, so neither waits for the other in the common case.
 * A rotated segment is compressed on a thread of its own (joined at the next
 * rotation and at close), then the plain file removed.
 */
#include "journal.h"

#include "crc32c.h"
#include "grow.h"
#include "log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

struct journal {
	char dir[1024];
	struct journal_opts o;
	int fd, dirfd;
	uint32_t segno;
	uint64_t seg_bytes;
	uint64_t seq;
	unsigned char *buf;
	size_t n, cap;
	_Atomic uint64_t written, synced; /* bytes ever written / synced */
	_Atomic int64_t oldest_unsynced;  /* mono ns of the first write after a sync, 0 none */
	pthread_mutex_t mu;
	/* the sync thread sleeps on wake until something is written (no
	 * polling while the journal is idle) */
	pthread_mutex_t wake_mu;
	pthread_cond_t wake;
	pthread_t syncer;
	int have_syncer;
	_Atomic int stop;
	pthread_t gz;
	int have_gz;
	char gz_path[1100];
	int io_error;
};

static int64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void setf(char *err, size_t errlen, const char *fmt, const char *a, unsigned long long x)
{
	if (err && errlen)
		snprintf(err, errlen, fmt, a, x);
}

int journal_parse_fsync(const char *s, struct journal_opts *o, char *err, size_t errlen)
{
	if (strcmp(s, "always") == 0) {
		o->fsync = JOURNAL_FSYNC_ALWAYS;
		return 0;
	}
	if (strcmp(s, "off") == 0) {
		o->fsync = JOURNAL_FSYNC_OFF;
		return 0;
	}
	if (strcmp(s, "group") == 0) {
		o->fsync = JOURNAL_FSYNC_GROUP;
		o->group_us = 200;
		return 0;
	}
	if (strncmp(s, "group:", 6) == 0) {
		char *end;
		errno = 0;
		double v = strtod(s + 6, &end);
		double mul = 1;
		if (strcmp(end, "ms") == 0)
			mul = 1000;
		else if (strcmp(end, "us") != 0 && *end)
			v = -1;
		v *= mul;
		if (errno == 0 && end != s + 6 && v >= 1 && v <= 10e6) {
			o->fsync = JOURNAL_FSYNC_GROUP;
			o->group_us = (int64_t)v;
			return 0;
		}
	}
	if (err && errlen)
		snprintf(
		    err, errlen,
		    "journal fsync '%s': expected always, group, group:N[us|ms] (1 us to 10 s) "
		    "or off",
		    s);
	return -1;
}

const char *journal_fsync_name(int fsync)
{
	return fsync == JOURNAL_FSYNC_ALWAYS  ? "always"
	       : fsync == JOURNAL_FSYNC_GROUP ? "group"
					      : "off";
}

/* ------------------------------------------------------------ encoding */

static void put32(unsigned char *p, uint32_t v)
{
	memcpy(p, &v, 4);
}
static void put64(unsigned char *p, uint64_t v)
{
	memcpy(p, &v, 8);
}
static uint32_t get32(const unsigned char *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}
static uint64_t get64(const unsigned char *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

static void encode_hdr(unsigned char *p, const struct journal_hdr *h)
{
	put32(p, h->len);
	put32(p + 4, 0);
	put64(p + 8, h->seq);
	put64(p + 16, (uint64_t)h->time);
	p[24] = h->type;
	p[25] = h->who;
	p[26] = (unsigned char)(h->strat & 0xff);
	p[27] = (unsigned char)(h->strat >> 8);
	put32(p + 28, h->version);
	put64(p + 32, h->hash);
}

static void decode_hdr(const unsigned char *p, struct journal_hdr *h)
{
	h->len = get32(p);
	h->crc = get32(p + 4);
	h->seq = get64(p + 8);
	h->time = (int64_t)get64(p + 16);
	h->type = p[24];
	h->who = p[25];
	h->strat = (uint16_t)(p[26] | p[27] << 8);
	h->version = get32(p + 28);
	h->hash = get64(p + 32);
}

/* ------------------------------------------------------------ reading */

int journal_scan(const unsigned char *buf, size_t n, size_t *off, int last_segment,
		 struct journal_record *out, char *err, size_t errlen)
{
	size_t at = *off;
	if (at >= n)
		return 0;
	size_t left = n - at;
	const char *why = NULL;
	if (left < JOURNAL_HDR) {
		why = "a partial record header";
	} else {
		uint32_t len = get32(buf + at);
		if (len < JOURNAL_HDR || len - JOURNAL_HDR > JOURNAL_MAX_PAYLOAD)
			why = "a record length out of range";
		else if (len > left)
			why = "a record running past the end of the file";
		else if (crc32c(0, buf + at + 8, len - 8) != get32(buf + at + 4)) {
			if (last_segment && len == left) {
				why = "a record whose CRC does not match";
			} else {
				setf(err, errlen,
				     "damaged record at offset %s%llu: its CRC does not match", "",
				     (unsigned long long)at);
				return -1;
			}
		} else {
			decode_hdr(buf + at, &out->h);
			out->payload = buf + at + JOURNAL_HDR;
			out->plen = len - JOURNAL_HDR;
			out->offset = at;
			*off = at + len;
			return 1;
		}
	}
	if (last_segment) {
		setf(err, errlen, "torn last record at offset %s%llu", "", (unsigned long long)at);
		if (err && errlen) {
			size_t k = strlen(err);
			snprintf(err + k, errlen - k, " (%zu bytes: %s)", left, why);
		}
		return -2;
	}
	setf(err, errlen, "damaged record at offset %s%llu", "", (unsigned long long)at);
	if (err && errlen) {
		size_t k = strlen(err);
		snprintf(err + k, errlen - k, ": %s", why);
	}
	return -1;
}

static int seg_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int is_segment_name(const char *d)
{
	size_t k = strlen(d);
	if (k != 12 && k != 15)
		return 0;
	for (int i = 0; i < 8; i++)
		if (d[i] < '0' || d[i] > '9')
			return 0;
	return strcmp(d + 8, ".gjl") == 0 || strcmp(d + 8, ".gjl.gz") == 0;
}

static void free_segs(char **segs, int n)
{
	for (int i = 0; i < n; i++)
		free(segs[i]);
	free(segs);
}

/* The segment files of dir, sorted (a plain and a .gz of one number: the
 * plain one, the .gz being a compression that did not finish). */
static int list_segments(const char *dir, char ***out, int *nout, char *err, size_t errlen)
{
	DIR *d = opendir(dir);
	*out = NULL;
	*nout = 0;
	if (!d) {
		if (err && errlen)
			snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	char **v = NULL;
	int n = 0, cap = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!is_segment_name(de->d_name))
			continue;
		char **g = grow_array(v, &cap, n + 1, sizeof *v, 16);
		char *s = g ? strdup(de->d_name) : NULL;
		if (!s) {
			if (g)
				v = g;
			free_segs(v, n);
			closedir(d);
			if (err && errlen)
				snprintf(err, errlen, "out of memory");
			return -1;
		}
		v = g;
		v[n++] = s;
	}
	closedir(d);
	if (n > 1)
		qsort(v, (size_t)n, sizeof *v, seg_cmp);
	int k = 0;
	for (int i = 0; i < n; i++) {
		if (k > 0 && strncmp(v[k - 1], v[i], 8) == 0) { /* 0001.gjl before 0001.gjl.gz */
			free(v[i]);
			continue;
		}
		v[k++] = v[i];
	}
	*out = v;
	*nout = k;
	return 0;
}

/* The whole (uncompressed) file. 0, or -1 with err. */
static int read_all(const char *path, unsigned char **buf, size_t *n, char *err, size_t errlen)
{
	gzFile f = gzopen(path, "rb");
	*buf = NULL;
	*n = 0;
	if (!f) {
		if (err && errlen)
			snprintf(err, errlen, "%s: %s", path, strerror(errno ? errno : ENOMEM));
		return -1;
	}
	size_t cap = 1 << 16, len = 0;
	unsigned char *b = malloc(cap);
	int r = 0, oom = b == NULL;
	while (!oom) {
		if (len == cap) {
			unsigned char *nb = cap < ((size_t)1 << 31) ? realloc(b, cap * 2) : NULL;
			if (!nb) {
				oom = 1;
				break;
			}
			b = nb;
			cap *= 2;
		}
		size_t room = cap - len;
		r = gzread(f, b + len, (unsigned)(room > (1u << 30) ? (1u << 30) : room));
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	int zerr = 0;
	const char *zmsg = r < 0 ? gzerror(f, &zerr) : NULL;
	if (oom || r < 0) {
		if (err && errlen)
			snprintf(err, errlen, "%s: %s", path, oom ? "out of memory" : zmsg);
		free(b);
		gzclose(f);
		return -1;
	}
	gzclose(f);
	*buf = b;
	*n = len;
	return 0;
}

int journal_reader_open(struct journal_reader *r, const char *dir, char *err, size_t errlen)
{
	memset(r, 0, sizeof *r);
	snprintf(r->dir, sizeof r->dir, "%s", dir);
	r->cur = -1;
	return list_segments(dir, &r->segs, &r->nseg, err, errlen);
}

/* The next segment into the buffer: 1, 0 none left, -1 error. */
static int load_segment(struct journal_reader *r, char *err, size_t errlen)
{
	free(r->buf);
	r->buf = NULL;
	r->n = r->off = 0;
	if (++r->cur >= r->nseg)
		return 0;
	char path[1200], e[512];
	snprintf(path, sizeof path, "%s/%s", r->dir, r->segs[r->cur]);
	if (read_all(path, &r->buf, &r->n, e, sizeof e) != 0) {
		snprintf(err, errlen, "%s", e);
		return -1;
	}
	r->bytes += r->n;
	int last = r->cur == r->nseg - 1;
	if (r->n < JOURNAL_SEG_HDR || memcmp(r->buf, JOURNAL_MAGIC, 8) != 0) {
		if (last && r->n < JOURNAL_SEG_HDR && memcmp(r->buf, JOURNAL_MAGIC, r->n) == 0) {
			r->torn = 1; /* killed while writing the header */
			snprintf(r->torn_seg, sizeof r->torn_seg, "%s", r->segs[r->cur]);
			r->torn_offset = 0;
			r->torn_bytes = r->n;
			snprintf(r->reason, sizeof r->reason, "a partial segment header");
			r->off = r->n;
			return 1;
		}
		snprintf(err, errlen, "%s/%s: offset 0: not a gantry journal segment (bad header)",
			 r->dir, r->segs[r->cur]);
		return -1;
	}
	r->off = JOURNAL_SEG_HDR;
	return 1;
}

int journal_next(struct journal_reader *r, struct journal_record *out, char *err, size_t errlen)
{
	for (;;) {
		if (r->cur < 0 || r->off >= r->n) {
			int l = load_segment(r, err, errlen);
			if (l <= 0)
				return l;
			continue;
		}
		int last = r->cur == r->nseg - 1;
		char e[512];
		size_t at = r->off;
		int rc = journal_scan(r->buf, r->n, &r->off, last, out, e, sizeof e);
		if (rc == -2) {
			r->torn = 1;
			snprintf(r->torn_seg, sizeof r->torn_seg, "%s", r->segs[r->cur]);
			r->torn_offset = at;
			r->torn_bytes = r->n - at;
			const char *why = strchr(e, ':');
			snprintf(r->reason, sizeof r->reason, "%s", why ? why + 2 : e);
			size_t k = strlen(r->reason);
			if (k && r->reason[k - 1] == ')')
				r->reason[k - 1] = '\0';
			r->off = r->n;
			return 0;
		}
		if (rc < 0) {
			snprintf(err, errlen, "%s/%s: %s", r->dir, r->segs[r->cur], e);
			return -1;
		}
		if (rc == 0)
			continue;
		if (r->expect_seq && out->h.seq != r->expect_seq) {
			snprintf(err, errlen,
				 "%s/%s: sequence gap at offset %llu: expected %llu, found %llu",
				 r->dir, r->segs[r->cur], (unsigned long long)at,
				 (unsigned long long)r->expect_seq, (unsigned long long)out->h.seq);
			return -1;
		}
		r->expect_seq = out->h.seq + 1;
		out->segment = r->segs[r->cur];
		return 1;
	}
}

void journal_reader_close(struct journal_reader *r)
{
	free(r->buf);
	free_segs(r->segs, r->nseg);
	memset(r, 0, sizeof *r);
}

/* ------------------------------------------------------------ writing */

static int sync_fd(int fd)
{
	return fdatasync(fd);
}

static void *syncer_main(void *arg)
{
	struct journal *j = arg;
	struct timespec ts = {(time_t)(j->o.group_us / 1000000),
			      (long)(j->o.group_us % 1000000) * 1000};
	while (!atomic_load(&j->stop)) {
		pthread_mutex_lock(&j->wake_mu);
		while (!atomic_load(&j->stop) &&
		       atomic_load(&j->written) == atomic_load(&j->synced))
			pthread_cond_wait(&j->wake, &j->wake_mu);
		pthread_mutex_unlock(&j->wake_mu);
		nanosleep(&ts, NULL); /* what else the period brings goes in the same sync */
		uint64_t w = atomic_load(&j->written);
		if (w == atomic_load(&j->synced))
			continue;
		pthread_mutex_lock(&j->mu);
		if (j->fd >= 0 && sync_fd(j->fd) == 0) {
			atomic_store(&j->synced, w);
			if (atomic_load(&j->written) == w)
				atomic_store(&j->oldest_unsynced, 0);
		}
		pthread_mutex_unlock(&j->mu);
	}
	return NULL;
}

static void *gzip_main(void *arg)
{
	struct journal *j = arg;
	char gz[1200];
	snprintf(gz, sizeof gz, "%s.gz", j->gz_path);
	unsigned char *b = NULL;
	size_t n = 0;
	if (read_all(j->gz_path, &b, &n, NULL, 0) != 0)
		return NULL;
	gzFile f = gzopen(gz, "wb6");
	int ok = f && (n == 0 || gzwrite(f, b, (unsigned)n) == (int)n);
	if (f && gzclose(f) != Z_OK)
		ok = 0;
	free(b);
	if (ok && j->o.fsync != JOURNAL_FSYNC_OFF) {
		int fd = open(gz, O_RDONLY | O_CLOEXEC);
		ok = fd >= 0 && fsync(fd) == 0;
		if (fd >= 0)
			close(fd);
	}
	if (ok)
		unlink(j->gz_path); /* the .gz is whole: the plain copy goes */
	else
		unlink(gz);
	return NULL;
}

static int open_segment(struct journal *j, char *err, size_t errlen)
{
	char path[1100];
	snprintf(path, sizeof path, "%s/%08u.gjl", j->dir, j->segno);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0) {
		if (err && errlen)
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	unsigned char h[JOURNAL_SEG_HDR];
	memcpy(h, JOURNAL_MAGIC, 8);
	put32(h + 8, j->segno);
	put32(h + 12, 0);
	if (write(fd, h, sizeof h) != (ssize_t)sizeof h ||
	    (j->o.fsync != JOURNAL_FSYNC_OFF && (fsync(fd) != 0 || fsync(j->dirfd) != 0))) {
		if (err && errlen)
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	j->fd = fd;
	j->seg_bytes = sizeof h;
	return 0;
}

static int rotate(struct journal *j)
{
	if (j->o.fsync != JOURNAL_FSYNC_OFF && sync_fd(j->fd) != 0)
		return -1;
	pthread_mutex_lock(&j->mu);
	close(j->fd);
	j->fd = -1;
	uint32_t old = j->segno++;
	int rc = open_segment(j, NULL, 0);
	atomic_store(&j->synced, atomic_load(&j->written));
	pthread_mutex_unlock(&j->mu);
	if (j->o.compress) {
		if (j->have_gz)
			pthread_join(j->gz, NULL);
		snprintf(j->gz_path, sizeof j->gz_path, "%s/%08u.gjl", j->dir, old);
		j->have_gz = pthread_create(&j->gz, NULL, gzip_main, j) == 0;
	}
	return rc;
}

/* The last sequence number of dir's journal, after cutting a torn tail. */
static int scan_existing(struct journal *j, char *err, size_t errlen)
{
	struct journal_reader r;
	if (journal_reader_open(&r, j->dir, err, errlen) != 0)
		return -1;
	struct journal_record rec;
	int rc;
	while ((rc = journal_next(&r, &rec, err, errlen)) > 0)
		j->seq = rec.h.seq;
	if (rc == 0 && r.torn) {
		char path[1200];
		snprintf(path, sizeof path, "%s/%s", j->dir, r.torn_seg);
		log_msg(LOG_WARN, "journal",
			"%s: torn last record at offset %llu (%llu bytes: %s): cut", path,
			(unsigned long long)r.torn_offset, (unsigned long long)r.torn_bytes,
			r.reason);
		if (strstr(r.torn_seg, ".gz") || truncate(path, (off_t)r.torn_offset) != 0) {
			snprintf(err, errlen, "%s: cannot cut the torn tail at offset %llu: %s",
				 path, (unsigned long long)r.torn_offset,
				 strstr(r.torn_seg, ".gz") ? "compressed" : strerror(errno));
			rc = -1;
		}
	}
	if (r.nseg > 0) {
		unsigned long last = strtoul(r.segs[r.nseg - 1], NULL, 10);
		j->segno = (uint32_t)last + 1;
	}
	journal_reader_close(&r);
	return rc;
}

struct journal *journal_open(const char *dir, const struct journal_opts *o, char *err,
			     size_t errlen)
{
	struct journal *j = calloc(1, sizeof *j);
	if (!j) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	snprintf(j->dir, sizeof j->dir, "%s", dir);
	j->o = *o;
	if (!j->o.segment_bytes)
		j->o.segment_bytes = 64u << 20;
	j->fd = j->dirfd = -1;
	j->segno = 1;
	pthread_mutex_init(&j->mu, NULL);
	pthread_mutex_init(&j->wake_mu, NULL);
	pthread_cond_init(&j->wake, NULL);
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		goto fail;
	}
	j->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (j->dirfd < 0) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		goto fail;
	}
	if (scan_existing(j, err, errlen) != 0 || open_segment(j, err, errlen) != 0)
		goto fail;
	if (j->o.fsync == JOURNAL_FSYNC_GROUP) {
		if (pthread_create(&j->syncer, NULL, syncer_main, j) != 0) {
			snprintf(err, errlen, "%s: cannot start the journal's sync thread", dir);
			goto fail;
		}
		j->have_syncer = 1;
	}
	return j;
fail:
	if (j->fd >= 0)
		close(j->fd);
	if (j->dirfd >= 0)
		close(j->dirfd);
	pthread_mutex_destroy(&j->mu);
	pthread_mutex_destroy(&j->wake_mu);
	pthread_cond_destroy(&j->wake);
	free(j);
	return NULL;
}

uint64_t journal_append(struct journal *j, struct journal_hdr *h, const void *payload, size_t len)
{
	if (len > JOURNAL_MAX_PAYLOAD)
		return 0;
	size_t need = j->n + JOURNAL_HDR + len;
	if (need > j->cap) {
		size_t cap = j->cap ? j->cap : 1 << 16;
		while (cap < need)
			cap *= 2;
		unsigned char *b = realloc(j->buf, cap);
		if (!b)
			return 0;
		j->buf = b;
		j->cap = cap;
	}
	unsigned char *p = j->buf + j->n;
	h->seq = ++j->seq;
	h->len = (uint32_t)(JOURNAL_HDR + len);
	encode_hdr(p, h);
	if (len)
		memcpy(p + JOURNAL_HDR, payload, len);
	h->crc = crc32c(0, p + 8, h->len - 8);
	put32(p + 4, h->crc);
	j->n = need;
	return h->seq;
}

int journal_commit(struct journal *j, int durable)
{
	if (j->io_error) {
		errno = EIO;
		return -1;
	}
	size_t done = 0;
	while (done < j->n) {
		ssize_t w = write(j->fd, j->buf + done, j->n - done);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			j->io_error = 1; /* what reached the file is unknown: stop here */
			return -1;
		}
		done += (size_t)w;
	}
	if (j->n) {
		if (!atomic_load(&j->oldest_unsynced) && j->o.fsync != JOURNAL_FSYNC_OFF)
			atomic_store(&j->oldest_unsynced, mono_ns());
		atomic_fetch_add(&j->written, j->n);
		if (j->have_syncer) {
			pthread_mutex_lock(&j->wake_mu);
			pthread_cond_signal(&j->wake);
			pthread_mutex_unlock(&j->wake_mu);
		}
		j->seg_bytes += j->n;
		j->n = 0;
	}
	if (j->o.fsync == JOURNAL_FSYNC_OFF)
		atomic_store(&j->synced, atomic_load(&j->written));
	else if (durable && j->o.fsync == JOURNAL_FSYNC_ALWAYS &&
		 atomic_load(&j->synced) != atomic_load(&j->written)) {
		if (sync_fd(j->fd) != 0) {
			j->io_error = 1;
			return -1;
		}
		atomic_store(&j->synced, atomic_load(&j->written));
		atomic_store(&j->oldest_unsynced, 0);
	}
	if (j->seg_bytes >= j->o.segment_bytes && rotate(j) != 0) {
		j->io_error = 1;
		return -1;
	}
	return 0;
}

int journal_close(struct journal *j)
{
	if (!j)
		return 0;
	int rc = journal_commit(j, 1);
	if (rc == 0 && j->o.fsync != JOURNAL_FSYNC_OFF && sync_fd(j->fd) != 0)
		rc = -1;
	pthread_mutex_lock(&j->wake_mu);
	atomic_store(&j->stop, 1);
	pthread_cond_signal(&j->wake);
	pthread_mutex_unlock(&j->wake_mu);
	if (j->have_syncer)
		pthread_join(j->syncer, NULL);
	if (j->have_gz)
		pthread_join(j->gz, NULL);
	if (j->fd >= 0)
		close(j->fd);
	if (j->dirfd >= 0)
		close(j->dirfd);
	pthread_mutex_destroy(&j->mu);
	pthread_mutex_destroy(&j->wake_mu);
	pthread_cond_destroy(&j->wake);
	free(j->buf);
	free(j);
	return rc;
}

uint64_t journal_last_seq(const struct journal *j)
{
	return j->seq;
}

uint64_t journal_lag_bytes(const struct journal *j)
{
	struct journal *m = (struct journal *)j; /* atomics are read only */
	return j->n + atomic_load(&m->written) - atomic_load(&m->synced);
}

int64_t journal_lag_ns(const struct journal *j)
{
	struct journal *m = (struct journal *)j;
	int64_t t = atomic_load(&m->oldest_unsynced);
	return t ? mono_ns() - t : 0;
}

const char *journal_dir(const struct journal *j)
{
	return j->dir;
}

const struct journal_opts *journal_options(const struct journal *j)
{
	return &j->o;
}
