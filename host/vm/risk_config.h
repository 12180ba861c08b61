/*
 * risk_config — the limits of risk.h from the deploy config's Lua tables and
 * from `ctl set risk.KEY=VALUE` text. One table of keys drives both paths,
 * so a value the config refuses is refused at run time too. It reads Lua,
 * so it sits in the VM layer; the pure checks stay in core/risk.c.
 */
#ifndef GANTRY_RISK_CONFIG_H
#define GANTRY_RISK_CONFIG_H

#include <stddef.h>

#include "risk.h"

struct lua_State;

/*
 * Validates the deploy config's `risk` table at idx and fills *out (untouched
 * on error). symbol_id maps a symbol name to the caller's id (it may intern
 * new names); a negative answer is an error. Returns 0, or -1 with err set to
 * `risk.KEY: what is wrong`.
 */
int risk_limits_from_lua(struct lua_State *L, int idx, struct risk_limits *out,
			 int (*symbol_id)(void *ud, const char *sym), void *ud, char *err,
			 size_t errlen);

/*
 * One limit from text, for `gantry ctl SOCKET set risk.KEY=VALUE` (the
 * "risk." prefix is optional; VALUE "none" disables a limit). Validated like
 * the config; on success old_out holds the previous value as text. Returns 0
 * or -1 with err set (and *l untouched).
 */
int risk_limits_set(struct risk_limits *l, const char *key, const char *value, char *old_out,
		    size_t oldlen, char *err, size_t errlen);

/* The value of one settable key as text ("none" when disabled); -1 unknown key. */
int risk_limits_get(const struct risk_limits *l, const char *key, char *out, size_t outlen);

#endif
