/*
 * vm_state — ctx.state to bytes and back. Tags: 'T' true, 'F' false, 'I'
 * int64, 'D' double, 'S' u32 length + bytes, '{' key value ... '}'.
 * Loading runs under lua_pcall, so running out of memory inside the cap is
 * an error message, not a longjmp through the host.
 */
#include "vm_state.h"

#include "vm-internal.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define STATE_DEPTH 64

static int save_value(lua_State *L, int idx, struct jbuf *b, int depth, char *err, size_t errlen)
{
	switch (lua_type(L, idx)) {
	case LUA_TBOOLEAN:
		jbuf_u8(b, lua_toboolean(L, idx) ? 'T' : 'F');
		return 0;
	case LUA_TNUMBER:
		if (lua_isinteger(L, idx)) {
			jbuf_u8(b, 'I');
			jbuf_u64(b, (uint64_t)lua_tointeger(L, idx));
		} else {
			jbuf_u8(b, 'D');
			jbuf_f64(b, (double)lua_tonumber(L, idx));
		}
		return 0;
	case LUA_TSTRING: {
		size_t n;
		const char *s = lua_tolstring(L, idx, &n);
		jbuf_u8(b, 'S');
		jbuf_blob(b, s, (uint32_t)n);
		return 0;
	}
	case LUA_TTABLE:
		break;
	default:
		snprintf(err, errlen, "ctx.state holds a %s: only plain data is snapshotted",
			 luaL_typename(L, idx));
		return -1;
	}
	if (depth >= STATE_DEPTH || !lua_checkstack(L, 4)) {
		snprintf(err, errlen, "ctx.state: tables nested more than %d deep", STATE_DEPTH);
		return -1;
	}
	idx = lua_absindex(L, idx);
	jbuf_u8(b, '{');
	lua_pushnil(L);
	while (lua_next(L, idx) != 0) {
		int kt = lua_type(L, -2);
		if ((kt != LUA_TSTRING && kt != LUA_TNUMBER && kt != LUA_TBOOLEAN) ||
		    save_value(L, -2, b, depth + 1, err, errlen) != 0 ||
		    save_value(L, -1, b, depth + 1, err, errlen) != 0) {
			if (kt != LUA_TSTRING && kt != LUA_TNUMBER && kt != LUA_TBOOLEAN)
				snprintf(err, errlen,
					 "ctx.state has a %s key: only plain data is "
					 "snapshotted",
					 luaL_typename(L, -2));
			lua_pop(L, 2);
			return -1;
		}
		lua_pop(L, 1);
	}
	jbuf_u8(b, '}');
	return 0;
}

int vm_state_save(struct vm *vm, struct jbuf *b, char *err, size_t errlen)
{
	jbuf_reset(b);
	if (ABANDONED(vm)) {
		snprintf(err, errlen, "the strategy's Lua state is gone");
		return -1;
	}
	lua_State *L = vm->core.L;
	int top = lua_gettop(L);
	lua_getfield(L, SLOT_CTX, "state");
	int rc = save_value(L, -1, b, 0, err, errlen);
	lua_settop(L, top);
	if (rc == 0 && b->oom) {
		snprintf(err, errlen, "out of memory");
		rc = -1;
	}
	return rc;
}

struct loader {
	const unsigned char *p;
	size_t n, at;
	const char *err;
};

static int load_value(lua_State *L, struct loader *ld, int depth);

static int need(struct loader *ld, size_t k)
{
	if (ld->n - ld->at < k) {
		ld->err = "the snapshot's bytes end early";
		return -1;
	}
	return 0;
}

static int load_table(lua_State *L, struct loader *ld, int depth)
{
	if (depth >= STATE_DEPTH || !lua_checkstack(L, 4)) {
		ld->err = "the snapshot nests too deep";
		return -1;
	}
	lua_newtable(L);
	for (;;) {
		if (need(ld, 1) != 0)
			return -1;
		if (ld->p[ld->at] == '}') {
			ld->at++;
			return 0;
		}
		if (load_value(L, ld, depth + 1) != 0 || load_value(L, ld, depth + 1) != 0)
			return -1;
		if (lua_isnil(L, -2) || (lua_type(L, -2) == LUA_TNUMBER &&
					 lua_tonumber(L, -2) != lua_tonumber(L, -2))) {
			ld->err = "the snapshot has a bad key";
			return -1;
		}
		lua_rawset(L, -3);
	}
}

static int load_value(lua_State *L, struct loader *ld, int depth)
{
	if (need(ld, 1) != 0)
		return -1;
	unsigned char tag = ld->p[ld->at++];
	uint64_t u;
	double d;
	uint32_t len;
	switch (tag) {
	case 'T':
	case 'F':
		lua_pushboolean(L, tag == 'T');
		return 0;
	case 'I':
		if (need(ld, 8) != 0)
			return -1;
		memcpy(&u, ld->p + ld->at, 8);
		ld->at += 8;
		lua_pushinteger(L, (lua_Integer)(int64_t)u);
		return 0;
	case 'D':
		if (need(ld, 8) != 0)
			return -1;
		memcpy(&d, ld->p + ld->at, 8);
		ld->at += 8;
		lua_pushnumber(L, d);
		return 0;
	case 'S':
		if (need(ld, 4) != 0)
			return -1;
		memcpy(&len, ld->p + ld->at, 4);
		ld->at += 4;
		if (need(ld, len) != 0)
			return -1;
		lua_pushlstring(L, (const char *)ld->p + ld->at, len);
		ld->at += len;
		return 0;
	case '{':
		return load_table(L, ld, depth);
	default:
		ld->err = "the snapshot has an unknown tag";
		return -1;
	}
}

static int load_protected(lua_State *L)
{
	struct loader *ld = lua_touserdata(L, 1);
	lua_settop(L, 0);
	if (load_value(L, ld, 0) != 0 || !lua_istable(L, -1)) {
		if (!ld->err)
			ld->err = "the snapshot is not a table";
		return 0;
	}
	if (ld->at != ld->n) {
		ld->err = "the snapshot has bytes after its end";
		return 0;
	}
	return 1;
}

int vm_state_load(struct vm *vm, const unsigned char *p, size_t n, char *err, size_t errlen)
{
	if (ABANDONED(vm)) {
		snprintf(err, errlen, "the strategy's Lua state is gone");
		return -1;
	}
	if (jfmt_state_check(p, n, err, errlen) != 0)
		return -1; /* checked whole before Lua builds anything of it */
	lua_State *L = vm->core.L;
	int top = lua_gettop(L);
	struct loader ld = {p, n, 0, NULL};
	lua_pushcfunction(L, load_protected);
	lua_pushlightuserdata(L, &ld);
	int rc = lua_pcall(L, 1, 1, 0);
	if (rc != LUA_OK || ld.err || vm->core.mem_exceeded) {
		snprintf(err, errlen, "cannot restore ctx.state: %s",
			 rc != LUA_OK ? lua_tostring(L, -1)
			 : ld.err     ? ld.err
				      : "over the memory cap");
		vm->core.mem_exceeded = 0;
		lua_settop(L, top);
		return -1;
	}
	lua_setfield(L, SLOT_CTX, "state");
	lua_settop(L, top);
	return 0;
}
