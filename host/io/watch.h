/*
 * watch — hot reload's trigger: inotify on the directories of the watched
 * files, through the libevent loop, tolerant of how editors save (write in
 * place, write a temporary file and rename it over, truncate then write):
 * any of those on a watched name marks its owner, and the owner is reported
 * once the file has been quiet for WATCH_DEBOUNCE_MS.
 */
#ifndef GANTRY_WATCH_H
#define GANTRY_WATCH_H

#include <event2/event.h>

#define WATCH_DEBOUNCE_MS 100

struct watch;

struct watch *watch_new(struct event_base *base, void (*changed)(void *ud, int owner), void *ud);
/* Watches path for owner (a small integer, < 64). 0, or -1 when inotify refuses. */
int watch_add(struct watch *w, const char *path, int owner);
void watch_free(struct watch *w);

#endif
