/*
 * play — see play.h. Every function a playbook reaches is here, in one
 * luaL_Reg table; each path is checked before it is opened. Children are
 * the gantry binary itself (/proc/self/exe), in their own process group so
 * that a stop reaches whatever they started.
 */
#include "play.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/evp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"

static const char *root_cwd = "", *root_out = "";
static const struct play_host *play_host;

void play_bindings_init(const char *cwd, const char *outdir, const struct play_host *host)
{
	root_cwd = cwd;
	root_out = outdir;
	play_host = host;
}

/* ------------------------------------------------------------ paths */

static int under(const char *path, const char *root)
{
	size_t n = strlen(root);
	return n > 0 && strncmp(path, root, n) == 0 && (path[n] == '/' || path[n] == '\0');
}

int play_path_check(const char *path, char *out, size_t outlen, char *err, size_t errlen)
{
	char buf[PATH_MAX], dir[PATH_MAX];
	if (!path || !*path || strlen(path) >= sizeof buf)
		return errf_fail(err, errlen, "'%s': not a usable path", path ? path : "");
	if (realpath(path, buf)) {
		snprintf(out, outlen, "%s", buf);
	} else {
		/* a file to be made: its directory must exist and be ours */
		snprintf(dir, sizeof dir, "%s", path);
		char *slash = strrchr(dir, '/');
		const char *base = slash ? slash + 1 : path;
		if (slash == dir)
			snprintf(dir, sizeof dir, "/");
		else if (slash)
			*slash = '\0';
		else
			snprintf(dir, sizeof dir, ".");
		if (!*base || !strcmp(base, ".") || !strcmp(base, "..") || !realpath(dir, buf))
			return errf_fail(err, errlen, "%s: no such directory", path);
		if (snprintf(out, outlen, "%s/%s", strcmp(buf, "/") ? buf : "", base) >=
		    (int)outlen)
			return errf_fail(err, errlen, "%s: path too long", path);
	}
	if (!under(out, root_cwd) && !under(out, root_out))
		return errf_fail(err, errlen,
				 "%s: outside the working directory (%s) and the output "
				 "directory (%s)",
				 path, root_cwd, root_out);
	return 0;
}

static const char *checked(lua_State *L, int idx, char *out, size_t outlen)
{
	char err[PATH_MAX + 256];
	const char *p = luaL_checkstring(L, idx);
	if (play_path_check(p, out, outlen, err, sizeof err) != 0) {
		lua_pushstring(L, err); /* no position: the playbook's line is put in front */
		lua_error(L);
	}
	return out;
}

static int l_sha256(lua_State *L)
{
	size_t len;
	const char *s = luaL_checklstring(L, 1, &len);
	char hex[65];
	play_sha256_hex(s, len, hex);
	lua_pushstring(L, hex);
	return 1;
}

static int l_sha256_file(lua_State *L)
{
	char path[PATH_MAX], hex[65], *buf;
	size_t len;
	checked(L, 1, path, sizeof path);
	if (play_read_all(path, &buf, &len) != 0) {
		lua_pushnil(L);
		lua_pushfstring(L, "%s: cannot read: %s", lua_tostring(L, 1), strerror(errno));
		return 2;
	}
	play_sha256_hex(buf, len, hex);
	free(buf);
	lua_pushstring(L, hex);
	return 1;
}

/* ------------------------------------------------------------ files */

static int fail(lua_State *L, const char *what, const char *path)
{
	lua_pushnil(L);
	lua_pushfstring(L, "%s: cannot %s: %s", path, what, strerror(errno));
	return 2;
}

static int l_read(lua_State *L)
{
	char path[PATH_MAX], *buf;
	size_t len;
	checked(L, 1, path, sizeof path);
	if (play_read_all(path, &buf, &len) != 0)
		return fail(L, "read", lua_tostring(L, 1));
	lua_pushlstring(L, buf, len);
	free(buf);
	return 1;
}

static int l_write(lua_State *L)
{
	char path[PATH_MAX];
	checked(L, 1, path, sizeof path);
	size_t len;
	const char *s = luaL_checklstring(L, 2, &len);
	FILE *f = fopen(path, lua_toboolean(L, 3) ? "ab" : "wb");
	if (!f)
		return fail(L, "write", lua_tostring(L, 1));
	int bad = fwrite(s, 1, len, f) != len;
	if (fclose(f) != 0 || bad)
		return fail(L, "write", lua_tostring(L, 1));
	lua_pushboolean(L, 1);
	return 1;
}

static int mkdirs(char *p)
{
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		int rc = mkdir(p, 0755);
		*s = '/';
		if (rc != 0 && errno != EEXIST)
			return -1;
	}
	return mkdir(p, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

/* lines(path): an iterator over the file's lines, read one at a time (a
 * sweep's results stay on disk, however many). The file closes at its end
 * or when the iterator is collected. */
struct line_reader {
	FILE *f;
	char *buf;
	size_t cap;
};

static int reader_gc(lua_State *L)
{
	struct line_reader *r = lua_touserdata(L, 1);
	if (r->f)
		fclose(r->f);
	free(r->buf);
	r->f = NULL;
	r->buf = NULL;
	return 0;
}

static int reader_next(lua_State *L)
{
	struct line_reader *r = lua_touserdata(L, lua_upvalueindex(1));
	ssize_t n;
	while (r->f && (n = getline(&r->buf, &r->cap, r->f)) > 0) {
		if (r->buf[n - 1] == '\n')
			n--;
		if (n == 0)
			continue;
		lua_pushlstring(L, r->buf, (size_t)n);
		return 1;
	}
	if (r->f) {
		fclose(r->f);
		r->f = NULL;
	}
	return 0;
}

static int l_lines(lua_State *L)
{
	char path[PATH_MAX];
	checked(L, 1, path, sizeof path);
	FILE *f = fopen(path, "rb");
	if (!f)
		return fail(L, "read", lua_tostring(L, 1));
	struct line_reader *r = lua_newuserdata(L, sizeof *r);
	memset(r, 0, sizeof *r);
	r->f = f;
	lua_createtable(L, 0, 1);
	lua_pushcfunction(L, reader_gc);
	lua_setfield(L, -2, "__gc");
	lua_setmetatable(L, -2);
	lua_pushcclosure(L, reader_next, 1);
	return 1;
}

static int l_mkdir(lua_State *L)
{
	/* checked against the roots by its text first: the directory may not exist */
	const char *p = luaL_checkstring(L, 1);
	char abs[PATH_MAX], err[PATH_MAX + 256];
	if (p[0] == '/')
		snprintf(abs, sizeof abs, "%s", p);
	else
		snprintf(abs, sizeof abs, "%s/%s", root_cwd, p);
	if (strstr(abs, "/../") || (strlen(abs) >= 3 && !strcmp(abs + strlen(abs) - 3, "/..")))
		return luaL_error(L, "%s: '..' is not allowed in a directory to make", p);
	if (!under(abs, root_cwd) && !under(abs, root_out))
		return luaL_error(L,
				  "%s: outside the working directory (%s) and the output "
				  "directory (%s)",
				  p, root_cwd, root_out);
	if (mkdirs(abs) != 0)
		return fail(L, "make the directory", p);
	if (play_path_check(abs, abs, sizeof abs, err, sizeof err) != 0)
		return luaL_error(L, "%s", err); /* a symlink led out */
	lua_pushstring(L, abs);
	return 1;
}

static int l_exists(lua_State *L)
{
	char path[PATH_MAX];
	checked(L, 1, path, sizeof path);
	struct stat sb;
	lua_pushboolean(L, stat(path, &sb) == 0);
	return 1;
}

static int l_path(lua_State *L)
{
	char path[PATH_MAX];
	lua_pushstring(L, checked(L, 1, path, sizeof path));
	return 1;
}

/* ------------------------------------------------------------ time, log */

static int l_now(lua_State *L)
{
	lua_pushnumber(L, (double)clock_wall_ns() / 1e9);
	return 1;
}

static int l_mono(lua_State *L)
{
	lua_pushnumber(L, clock_mono_s());
	return 1;
}

static int l_sleep(lua_State *L)
{
	double s = luaL_checknumber(L, 1);
	if (!(s >= 0) || s > 86400 * 7)
		return luaL_error(L, "sleep(%f): expected 0 to 604800 seconds", s);
	struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
	return 0;
}

static int l_log(lua_State *L)
{
	static const char *const levels[] = {"debug", "info", "warn", "error", NULL};
	int lvl = luaL_checkoption(L, 1, "info", levels);
	log_msg((enum log_level)lvl, "play", "%s", luaL_checkstring(L, 2));
	return 0;
}

static int l_isatty(lua_State *L)
{
	lua_pushboolean(L, isatty(STDERR_FILENO));
	return 1;
}

static int l_user(lua_State *L)
{
	struct passwd *pw = getpwuid(getuid());
	const char *u = getenv("USER");
	lua_pushstring(L, pw && pw->pw_name ? pw->pw_name : u ? u : "unknown");
	return 1;
}

/* ------------------------------------------------------------ children */

/* spawn({args...}, {stdout = PATH, stderr = PATH}): the gantry binary with
 * those arguments, in its own process group; its pid. */
static int l_spawn(lua_State *L)
{
	luaL_checktype(L, 1, LUA_TTABLE);
	int n = (int)lua_rawlen(L, 1);
	if (n < 1 || n > 250)
		return luaL_error(L, "spawn: expected 1 to 250 arguments");
	char exe[PATH_MAX];
	ssize_t k = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (k <= 0)
		return fail(L, "find the gantry binary", "/proc/self/exe");
	exe[k] = '\0';
	const char *argv[256];
	argv[0] = "gantry";
	for (int i = 1; i <= n; i++) {
		lua_rawgeti(L, 1, i);
		argv[i] = lua_tostring(L, -1);
		if (!argv[i] || lua_type(L, -1) != LUA_TSTRING)
			return luaL_error(L, "spawn: argument %d is not a string", i);
		lua_pop(L, 1); /* still referenced by the table */
	}
	argv[n + 1] = NULL;
	char outp[PATH_MAX] = "", errp[PATH_MAX] = "";
	if (lua_istable(L, 2)) {
		lua_getfield(L, 2, "stdout");
		if (lua_isstring(L, -1))
			checked(L, -1, outp, sizeof outp);
		lua_getfield(L, 2, "stderr");
		if (lua_isstring(L, -1))
			checked(L, -1, errp, sizeof errp);
		lua_pop(L, 2);
	}
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		return fail(L, "fork", "spawn");
	if (pid == 0) {
		setpgid(0, 0);
		int fd;
		if (outp[0] && (fd = open(outp, O_WRONLY | O_CREAT | O_APPEND, 0644)) >= 0)
			dup2(fd, STDOUT_FILENO), close(fd);
		if (errp[0] && (fd = open(errp, O_WRONLY | O_CREAT | O_APPEND, 0644)) >= 0)
			dup2(fd, STDERR_FILENO), close(fd);
		fd = open("/dev/null", O_RDONLY);
		if (fd >= 0)
			dup2(fd, STDIN_FILENO), close(fd);
		execv(exe, (char *const *)argv);
		_exit(127);
	}
	setpgid(pid, pid); /* both sides: whichever runs first */
	lua_pushinteger(L, pid);
	return 1;
}

/* wait(pid, timeout_s): "exited", code | "signaled", sig | "running" when
 * the timeout passed first (0: just look). */
static int l_wait(lua_State *L)
{
	pid_t pid = (pid_t)luaL_checkinteger(L, 1);
	double timeout = luaL_optnumber(L, 2, 0), end = clock_mono_s() + timeout;
	int st;
	for (;;) {
		pid_t r = waitpid(pid, &st, WNOHANG);
		if (r == pid)
			break;
		if (r < 0)
			return fail(L, "wait for the child", "wait");
		if (clock_mono_s() >= end) {
			lua_pushstring(L, "running");
			return 1;
		}
		struct timespec ts = {0, 10 * 1000000};
		nanosleep(&ts, NULL);
	}
	if (WIFEXITED(st)) {
		lua_pushstring(L, "exited");
		lua_pushinteger(L, WEXITSTATUS(st));
	} else {
		lua_pushstring(L, "signaled");
		lua_pushinteger(L, WTERMSIG(st));
	}
	return 2;
}

static int l_kill(lua_State *L)
{
	pid_t pid = (pid_t)luaL_checkinteger(L, 1);
	static const char *const names[] = {"TERM", "KILL", "INT", NULL};
	static const int sigs[] = {SIGTERM, SIGKILL, SIGINT};
	int s = sigs[luaL_checkoption(L, 2, "TERM", names)];
	if (pid <= 1)
		return luaL_error(L, "kill: bad pid %d", (int)pid);
	lua_pushboolean(L, kill(pid, s) == 0);
	return 1;
}

/* ctl(SOCKET, LINE, timeout_s): the host's answer, or nil and why. */
static int l_ctl(lua_State *L)
{
	char path[PATH_MAX];
	checked(L, 1, path, sizeof path);
	const char *line = luaL_checkstring(L, 2);
	double timeout = luaL_optnumber(L, 3, 10);
	if (strchr(line, '\n') || strlen(line) > 1000)
		return luaL_error(L, "ctl: one line of at most 1000 bytes");
	struct sockaddr_un sa;
	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof sa.sun_path) {
		lua_pushnil(L);
		lua_pushfstring(L, "%s: socket path too long", lua_tostring(L, 1));
		return 2;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		lua_pushnil(L);
		lua_pushfstring(L, "%s: cannot connect: %s", lua_tostring(L, 1), strerror(e));
		return 2;
	}
	struct timeval tv = {(time_t)timeout, (long)((timeout - (double)(time_t)timeout) * 1e6)};
	if (timeout <= 0)
		tv = (struct timeval){10, 0};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	char msg[1024];
	int m = snprintf(msg, sizeof msg, "%s\n", line);
	luaL_Buffer b;
	luaL_buffinit(L, &b);
	int ok = write(fd, msg, (size_t)m) == m;
	char buf[4096];
	ssize_t r;
	size_t got = 0;
	while (ok && (r = read(fd, buf, sizeof buf)) > 0) {
		luaL_addlstring(&b, buf, (size_t)r);
		got += (size_t)r;
	}
	close(fd);
	luaL_pushresult(&b);
	if (!ok || got == 0) {
		lua_pushnil(L);
		lua_pushfstring(L, "%s: no answer from the host", lua_tostring(L, 1));
		return 2;
	}
	return 1;
}

static int l_record_append(lua_State *L)
{
	char path[PATH_MAX], err[PATH_MAX + 256];
	checked(L, 1, path, sizeof path);
	if (play_record_append(path, luaL_checkstring(L, 2), err, sizeof err) != 0)
		return luaL_error(L, "%s", err);
	return 0;
}

static int l_record_verify(lua_State *L)
{
	char path[PATH_MAX], err[PATH_MAX + 256];
	checked(L, 1, path, sizeof path);
	long n;
	long bad = play_record_verify(path, &n, err, sizeof err);
	if (bad == 0) {
		lua_pushboolean(L, 1);
		lua_pushinteger(L, n);
		return 2;
	}
	lua_pushboolean(L, 0);
	lua_pushinteger(L, bad);
	lua_pushstring(L, err);
	return 3;
}

/* ------------------------------------------------------------ the host */

static int l_backtest(lua_State *L)
{
	luaL_checktype(L, 1, LUA_TTABLE);
	if (!play_host || !play_host->backtest)
		return luaL_error(L, "backtest: not available in this host");
	return play_host->backtest(L);
}

static int l_sweep(lua_State *L)
{
	luaL_checktype(L, 1, LUA_TTABLE);
	if (!play_host || !play_host->sweep)
		return luaL_error(L, "sweep: not available in this host");
	return play_host->sweep(L);
}

static int l_span(lua_State *L)
{
	luaL_checktype(L, 1, LUA_TTABLE);
	if (!play_host || !play_host->span)
		return luaL_error(L, "span: not available in this host");
	return play_host->span(L);
}

static int l_ncpu(lua_State *L)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	lua_pushinteger(L, n > 0 ? n : 1);
	return 1;
}

static const luaL_Reg play_native[] = {
    {"span", l_span},
    {"ncpu", l_ncpu},
    {"sha256", l_sha256},
    {"sha256_file", l_sha256_file},
    {"read", l_read},
    {"write", l_write},
    {"mkdir", l_mkdir},
    {"exists", l_exists},
    {"lines", l_lines},
    {"path", l_path},
    {"now", l_now},
    {"mono", l_mono},
    {"sleep", l_sleep},
    {"log", l_log},
    {"isatty", l_isatty},
    {"user", l_user},
    {"spawn", l_spawn},
    {"wait", l_wait},
    {"kill", l_kill},
    {"ctl", l_ctl},
    {"record_append", l_record_append},
    {"record_verify", l_record_verify},
    {"backtest", l_backtest},
    {"sweep", l_sweep},
    {NULL, NULL},
};

int luaopen_gantry_play_native(lua_State *L)
{
	lua_newtable(L);
	luaL_setfuncs(L, play_native, 0);
	lua_pushstring(L, root_cwd);
	lua_setfield(L, -2, "cwd");
	lua_pushstring(L, root_out);
	lua_setfield(L, -2, "out");
	return 1;
}
