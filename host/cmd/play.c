/*
 * play — `gantry play PLAYBOOK.lua [ARG ...]`, `gantry play --verify
 * RECORD` and `gantry approve RECORD STEP --as NAME`.
 *
 * A playbook runs in a sandbox of its own (the strategy sandbox's libraries,
 * no io/os/debug, require of gantry.* only) with no CPU budget (it waits on
 * hosts and sleeps) and a memory cap. stdlib/gantry/play.lua is its API,
 * over the native module of bindings/play.c, whose engine-side half
 * (backtests, sweeps) is play_run.c. A failure the API raises on purpose (a
 * gate, a step) is a table {play_failure = MESSAGE} and exits 1; any other
 * error is the playbook's and exits 2 naming its file and line.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "clock.h"
#include "jsonfmt.h"
#include "log.h"
#include "lua_compat.h"
#include "play.h"
#include "play_run.h"
#include "timefmt.h"
#include "vm.h"

#define PLAY_MEMORY (512u << 20)

static const char play_usage[] =
    "usage: gantry play [--out DIR] PLAYBOOK.lua [ARG ...]\n"
    "       gantry play --verify RECORD\n"
    "\n"
    "Runs a deployment playbook (a Lua file using require \"gantry.play\") in its own\n"
    "sandbox, `args` holding its arguments. Files it names must be under the working\n"
    "directory or the output directory (--out, default out/<playbook name>).\n"
    "--verify checks the hash chain of a deployment record (deployments.jsonl).\n"
    "Exit status: 0 done, 1 a gate or a step failed (named), 2 bad usage or a\n"
    "playbook error (its file and line); --verify: 1 when the chain is broken.\n";

static const char approve_usage[] =
    "usage: gantry approve RECORD STEP --as NAME [--role ROLE]\n"
    "\n"
    "Appends an approval of STEP by NAME (in ROLE) to the deployment record\n"
    "RECORD, chained like every line; a playbook waiting in approve(STEP) goes on.\n";

static const char *playbook_path = "";

static void to_file(void *ud, const char *p, size_t n)
{
	fwrite(p, 1, n, ud);
}

static int verify(const char *path)
{
	char err[PATH_MAX + 256];
	long n, bad = play_record_verify(path, &n, err, sizeof err);
	if (bad < 0) {
		log_user_error("%s", err);
		return EXIT_USAGE;
	}
	if (bad > 0) {
		log_user_error(
		    "%s:%ld: %s", path, bad,
		    strncmp(err, "line ", 5) == 0 && strchr(err, ':') ? strchr(err, ':') + 2 : err);
		return EXIT_RUNTIME;
	}
	printf("%s: %ld lines, chain intact\n", path, n);
	return EXIT_OK;
}

/* The playbook's own line at the innermost frame that is in its file. */
static int playbook_line(lua_State *L)
{
	lua_Debug ar;
	char src[PATH_MAX + 2];
	snprintf(src, sizeof src, "@%s", playbook_path);
	for (int level = 0; lua_getstack(L, level, &ar); level++) {
		if (lua_getinfo(L, "Sl", &ar) && ar.currentline > 0 && strcmp(ar.source, src) == 0)
			return ar.currentline;
	}
	return 0;
}

/* The message handler: failures (tables) pass; an error gets the playbook's
 * file and line in front unless it already names them. */
static int msgh(lua_State *L)
{
	if (lua_istable(L, 1))
		return 1;
	const char *msg = lua_tostring(L, 1);
	if (!msg)
		msg = luaL_typename(L, 1);
	size_t n = strlen(playbook_path);
	int line = playbook_line(L);
	if (strncmp(msg, playbook_path, n) == 0 && msg[n] == ':')
		lua_pushstring(L, msg);
	else if (line > 0)
		lua_pushfstring(L, "%s:%d: %s", playbook_path, line, msg);
	else
		lua_pushfstring(L, "%s: %s", playbook_path, msg);
	return 1;
}

static const struct play_host host = {
    .backtest = play_run_backtest,
    .sweep = play_run_sweep,
    .span = play_run_span,
};

static int run_playbook(const char *path, const char *outdir, int nargs, char **args)
{
	char cwd[PATH_MAX], out[PATH_MAX];
	if (!getcwd(cwd, sizeof cwd))
		return log_user_error("cannot read the working directory: %s", strerror(errno)),
		       EXIT_USAGE;
	struct stat sb;
	if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
		return log_user_error("%s: no such playbook (a Lua file)", path), EXIT_USAGE;
	/* the output directory exists before it is resolved */
	char tmp[PATH_MAX];
	snprintf(tmp, sizeof tmp, "%s", outdir);
	for (char *s = tmp + 1; *s; s++)
		if (*s == '/') {
			*s = '\0';
			mkdir(tmp, 0755);
			*s = '/';
		}
	if ((mkdir(tmp, 0755) != 0 && errno != EEXIST) || !realpath(tmp, out))
		return log_user_error("--out %s: cannot make it: %s", outdir, strerror(errno)),
		       EXIT_USAGE;
	play_bindings_init(cwd, out, &host);
	playbook_path = path;

	struct vm_script *vs = vm_script_open(PLAY_MEMORY, 0);
	if (!vs)
		return log_user_error("out of memory"), EXIT_USAGE;
	lua_State *L = vm_script_state(vs);
	lua_getfield(L, LUA_REGISTRYINDEX, "gantry.loaded");
	luaopen_gantry_play_native(L);
	lua_pushstring(L, path);
	lua_setfield(L, -2, "playbook");
	lua_setfield(L, -2, "gantry.play.native");
	lua_pop(L, 1);
	lua_createtable(L, nargs, 0);
	for (int i = 0; i < nargs; i++) {
		lua_pushstring(L, args[i]);
		lua_rawseti(L, -2, i + 1);
	}
	lua_setglobal(L, "args");

	lua_pushcfunction(L, msgh);
	int rc = EXIT_OK;
	if (luaL_loadfilex(L, path, "t") != LUA_OK) {
		log_user_error("%s", lua_tostring(L, -1));
		rc = EXIT_USAGE;
	} else if (lua_pcall(L, 0, 0, 1) != LUA_OK) {
		if (lua_istable(L, -1)) {
			lua_getfield(L, -1, "play_failure");
			log_user_error("%s", lua_tostring(L, -1) ? lua_tostring(L, -1) : "failed");
			rc = EXIT_RUNTIME;
		} else {
			log_user_error("%s", lua_tostring(L, -1) ? lua_tostring(L, -1) : "error");
			rc = EXIT_USAGE;
		}
	}
	vm_script_close(vs);
	return rc;
}

int cmd_play(int argc, char **argv)
{
	const char *outdir = NULL;
	int i = 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			fputs(play_usage, stdout);
			return EXIT_OK;
		} else if (!strcmp(argv[i], "--verify")) {
			if (i + 2 != argc)
				return log_user_error("usage: gantry play --verify RECORD"),
				       EXIT_USAGE;
			return verify(argv[i + 1]);
		} else if (!strcmp(argv[i], "--out") && i + 1 < argc) {
			outdir = argv[++i];
		} else {
			log_user_error("%s: unknown option (try 'gantry play --help')", argv[i]);
			return EXIT_USAGE;
		}
	}
	if (i >= argc)
		return log_user_error("no playbook given (try 'gantry play --help')"), EXIT_USAGE;
	const char *path = argv[i];
	char def[PATH_MAX];
	if (!outdir) {
		const char *b = strrchr(path, '/');
		b = b ? b + 1 : path;
		snprintf(def, sizeof def, "out/%.*s", (int)strcspn(b, "."), b);
		outdir = def;
	}
	return run_playbook(path, outdir, argc - i - 1, argv + i + 1);
}

int cmd_approve(int argc, char **argv)
{
	const char *record = NULL, *step = NULL, *as = NULL, *role = NULL;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			fputs(approve_usage, stdout);
			return EXIT_OK;
		} else if (!strcmp(argv[i], "--as") && i + 1 < argc) {
			as = argv[++i];
		} else if (!strcmp(argv[i], "--role") && i + 1 < argc) {
			role = argv[++i];
		} else if (argv[i][0] == '-') {
			log_user_error("%s: unknown option or missing value (try 'gantry approve "
				       "--help')",
				       argv[i]);
			return EXIT_USAGE;
		} else if (!record) {
			record = argv[i];
		} else if (!step) {
			step = argv[i];
		} else {
			log_user_error("%s: unexpected argument (try 'gantry approve --help')",
				       argv[i]);
			return EXIT_USAGE;
		}
	}
	if (!record || !step || !as || !*as) {
		log_user_error("usage: gantry approve RECORD STEP --as NAME [--role ROLE]");
		return EXIT_USAGE;
	}
	struct stat sb;
	if (stat(record, &sb) != 0)
		return log_user_error("%s: no such record: %s", record, strerror(errno)),
		       EXIT_USAGE;
	char *body = NULL, iso[TIME_ISO_LEN + 1];
	size_t len = 0;
	FILE *m = open_memstream(&body, &len);
	if (!m)
		return log_user_error("out of memory"), EXIT_USAGE;
	time_format_iso(clock_wall_ns(), iso);
	fprintf(m, "{\"what\": \"approval\", \"step\": ");
	json_quote(step, to_file, m);
	fprintf(m, ", \"by\": ");
	json_quote(as, to_file, m);
	fprintf(m, ", \"role\": ");
	json_quote(role ? role : "", to_file, m);
	fprintf(m, ", \"when\": \"%s\"}", iso);
	fclose(m);
	char err[PATH_MAX + 256];
	int rc = play_record_append(record, body, err, sizeof err);
	free(body);
	if (rc != 0)
		return log_user_error("%s", err), EXIT_USAGE;
	printf("%s: %s approved by %s\n", record, step, as);
	return EXIT_OK;
}
