#include "watch.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "log.h"

#define WATCH_MAX 128

struct watched {
	int wd;
	char name[256]; /* base name in the watched directory */
	int owner;
};

struct watch {
	int fd;
	struct event *readable, *quiet;
	struct watched files[WATCH_MAX];
	int nfiles;
	uint64_t pending; /* owners with a change not reported yet */
	void (*changed)(void *ud, int owner);
	void *ud;
};

static void on_quiet(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct watch *w = arg;
	uint64_t p = w->pending;
	w->pending = 0;
	for (int owner = 0; owner < 64; owner++)
		if (p & (1ULL << owner))
			w->changed(w->ud, owner);
}

static void on_readable(evutil_socket_t fd, short what, void *arg)
{
	(void)what;
	struct watch *w = arg;
	char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t n;
	int ours = 0; /* other files in the same directories do not delay a reload */
	while ((n = read(fd, buf, sizeof buf)) > 0) {
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;
			for (int i = 0; ev->len && i < w->nfiles; i++)
				if (w->files[i].wd == ev->wd && strcmp(w->files[i].name, ev->name) == 0) {
					w->pending |= 1ULL << w->files[i].owner;
					ours = 1;
				}
			p += sizeof *ev + ev->len;
		}
	}
	if (ours) {
		struct timeval tv = {0, WATCH_DEBOUNCE_MS * 1000};
		evtimer_add(w->quiet, &tv); /* re-arming restarts the quiet period */
	}
}

struct watch *watch_new(struct event_base *base, void (*changed)(void *ud, int owner), void *ud)
{
	struct watch *w = calloc(1, sizeof *w);
	if (!w)
		return NULL;
	w->changed = changed;
	w->ud = ud;
	w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (w->fd < 0) {
		log_msg(LOG_WARN, "watch", "inotify: %s: hot reload on save is off", strerror(errno));
		free(w);
		return NULL;
	}
	w->readable = event_new(base, w->fd, EV_READ | EV_PERSIST, on_readable, w);
	w->quiet = evtimer_new(base, on_quiet, w);
	event_add(w->readable, NULL);
	return w;
}

int watch_add(struct watch *w, const char *path, int owner)
{
	if (!w || owner < 0 || owner >= 64 || w->nfiles == WATCH_MAX)
		return -1;
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	if (slash)
		snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
	else
		snprintf(dir, sizeof dir, ".");
	if (!*dir)
		snprintf(dir, sizeof dir, "/");
	int wd = inotify_add_watch(w->fd, dir,
				   IN_CLOSE_WRITE | IN_MOVED_TO | IN_MODIFY | IN_CREATE | IN_ATTRIB);
	if (wd < 0) {
		log_msg(LOG_WARN, "watch", "%s: %s", dir, strerror(errno));
		return -1;
	}
	for (int i = 0; i < w->nfiles; i++)
		if (w->files[i].wd == wd && w->files[i].owner == owner &&
		    strcmp(w->files[i].name, base) == 0)
			return 0;
	struct watched *f = &w->files[w->nfiles++];
	f->wd = wd;
	f->owner = owner;
	snprintf(f->name, sizeof f->name, "%s", base);
	return 0;
}

void watch_free(struct watch *w)
{
	if (!w)
		return;
	event_free(w->readable);
	event_free(w->quiet);
	close(w->fd);
	free(w);
}
