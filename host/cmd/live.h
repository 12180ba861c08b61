/*
 * live — `gantry live`: the paper loop (paper.c) with a FIX 4.4 venue
 * (venue_fix.c) in place of the simulator. This file reads the venue URL
 * (fix://HOST:PORT?sender=S&target=T, fixs:// for TLS) and the deploy
 * config's `venue` table, and gives the loop its hooks (struct paper_venue).
 * Secrets (username, password) are read from the files the config names,
 * never from the command line.
 */
#ifndef GANTRY_LIVE_H
#define GANTRY_LIVE_H

#include <stddef.h>

#include "config.h"
#include "engine.h"
#include "paper.h"
#include "venue.h"

extern const char live_usage[];

struct live;

/* 1 for a fix:// or fixs:// URL. */
int live_is_venue_url(const char *url);
/* The FIX venue of url and cfg's `venue` table, over oms; *out is the
 * engine's venue, *lv this file's handle (freed by live_free). 0, or -1
 * with err naming the key or the file. */
int live_open_venue(const char *url, const struct deploy_config *cfg, struct engine *e,
		    struct oms *oms, struct venue *out, struct live **lv, char *err, size_t errlen);
/* The loop's hooks; the store goes to the config's venue.store or outdir. */
void live_hooks(struct live *lv, const char *outdir, struct paper_venue *out);
void live_free(struct live *lv);

#endif
