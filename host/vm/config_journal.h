/*
 * config_journal — the deploy config's `journal`: a directory,
 *   journal = "var/journal"
 * or a table,
 *   journal = { dir = "var/journal", fsync = "group:200us", segment_mb = 64,
 *               compress = true, snapshot_every = 10000 }
 * (every key optional; docs/journal.md). Read from the loaded config's Lua
 * table (the config's state keeps it at index 1).
 */
#ifndef GANTRY_CONFIG_JOURNAL_H
#define GANTRY_CONFIG_JOURNAL_H

#include <stddef.h>

#include "config.h"

struct config_journal {
	char dir[1024];	     /* "" unset */
	char fsync[64];	     /* "" unset */
	double segment_mb;   /* < 0 unset */
	int compress;	     /* -1 unset */
	long snapshot_every; /* < 0 unset */
};

/* 0 (all unset without a config or a `journal` key), or -1 with err naming
 * the config file and the key. */
int config_journal(const struct deploy_config *c, struct config_journal *out, char *err,
		   size_t errlen);

#endif
