/*
 * datacheck_config — the deploy config's `data_checks` table (docs/data.md)
 * into a struct datacheck_config. Keys at the top apply to every feed; a
 * `bars` or `ticks` table inside overrides them for bar feeds (CSV) or tick
 * feeds (ITCH, network). Unknown keys and bad values are errors naming the
 * key. It reads Lua, so it sits in the VM layer; the checks stay pure in
 * market/datacheck.c.
 */
#ifndef GANTRY_DATACHECK_CONFIG_H
#define GANTRY_DATACHECK_CONFIG_H

#include <stddef.h>

#include "config.h"
#include "datacheck.h"

/* The checks for a run over a tick feed (ticks 1) or a bar feed (0): the
 * defaults, then the config's `data_checks` (c may be unloaded: config_init).
 * 0, or -1 with `PATH: data_checks.KEY: what is wrong` in err. */
int config_data_checks(const struct deploy_config *c, int ticks, struct datacheck_config *out,
		       char *err, size_t errlen);
/* The same from the table at idx of L (path names the file in messages). */
int datacheck_config_from_lua(lua_State *L, int idx, const char *path, int ticks,
			      struct datacheck_config *out, char *err, size_t errlen);

#endif
