/*
 * config_journal — the `journal` key of the deploy config, strictly: an
 * unknown key or a value of the wrong type is an error naming it.
 */
#include "config_journal.h"

#include "lua_compat.h"

#include <stdio.h>
#include <string.h>

static int bad(const struct deploy_config *c, const char *key, const char *want, char *err,
	       size_t errlen)
{
	snprintf(err, errlen, "%s: journal%s%s: expected %s", c->path, *key ? "." : "", key, want);
	return -1;
}

int config_journal(const struct deploy_config *c, struct config_journal *out, char *err,
		   size_t errlen)
{
	memset(out, 0, sizeof *out);
	out->segment_mb = -1;
	out->compress = -1;
	out->snapshot_every = -1;
	lua_State *L = c->L;
	if (!L)
		return 0;
	int top = lua_gettop(L);
	int t = lua_getfield(L, 1, "journal");
	int rc = 0;
	if (t == LUA_TSTRING) {
		snprintf(out->dir, sizeof out->dir, "%s", lua_tostring(L, -1));
	} else if (t == LUA_TTABLE) {
		static const char *const keys[] = {"dir",      "fsync",		 "segment_mb",
						   "compress", "snapshot_every", NULL};
		lua_pushnil(L);
		while (rc == 0 && lua_next(L, -2) != 0) {
			const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "";
			int known = 0;
			for (int i = 0; keys[i]; i++)
				known |= strcmp(k, keys[i]) == 0;
			if (!known) {
				snprintf(err, errlen,
					 "%s: journal: unknown key '%s' (known: dir, fsync, "
					 "segment_mb, compress, snapshot_every)",
					 c->path, *k ? k : "?");
				rc = -1;
			} else if (!strcmp(k, "dir") || !strcmp(k, "fsync")) {
				if (lua_type(L, -1) != LUA_TSTRING)
					rc = bad(c, k, "a string", err, errlen);
				else if (!strcmp(k, "dir"))
					snprintf(out->dir, sizeof out->dir, "%s",
						 lua_tostring(L, -1));
				else
					snprintf(out->fsync, sizeof out->fsync, "%s",
						 lua_tostring(L, -1));
			} else if (!strcmp(k, "compress")) {
				if (lua_type(L, -1) != LUA_TBOOLEAN)
					rc = bad(c, k, "true or false", err, errlen);
				else
					out->compress = lua_toboolean(L, -1);
			} else {
				double v = lua_type(L, -1) == LUA_TNUMBER
					       ? (double)lua_tonumber(L, -1)
					       : -1;
				if (!strcmp(k, "segment_mb") && !(v >= 1 && v <= 1024))
					rc = bad(c, k, "a size in MB from 1 to 1024", err, errlen);
				else if (!strcmp(k, "snapshot_every") &&
					 !(v >= 0 && v <= 1e12 && v == (long)v))
					rc = bad(
					    c, k,
					    "a whole number of events (0: only at a clean stop)",
					    err, errlen);
				else if (!strcmp(k, "segment_mb"))
					out->segment_mb = v;
				else
					out->snapshot_every = (long)v;
			}
			lua_pop(L, 1);
		}
	} else if (t != LUA_TNIL) {
		rc = bad(c, "", "a directory (a string) or a table", err, errlen);
	}
	lua_settop(L, top);
	return rc;
}
