/*
 * journal_cmd — `gantry journal DIR --dump | --verify | --stats`, and the
 * journal's set-up for backtest and paper (flags, deploy config, defaults).
 */
#ifndef GANTRY_JOURNAL_CMD_H
#define GANTRY_JOURNAL_CMD_H

#include <stddef.h>

#include "config.h"
#include "engine.h"

struct journal_flags {
	const char *dir;	    /* --journal DIR */
	const char *fsync;	    /* --journal-fsync POLICY */
	const char *snapshot_every; /* --snapshot-every N */
};

/* Opens the run's journal (after engine_attach and the out dir): --journal,
 * else the config's `journal`, else for paper OUT/journal; a backtest
 * without either writes none. 0, or -1 with err. */
int journal_setup(struct engine *e, const struct deploy_config *cfg, const struct journal_flags *f,
		  int paper, int resume, const char *outdir, char *err, size_t errlen);

#endif
