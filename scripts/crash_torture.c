/*
 * crash_torture — kills a command with SIGKILL at seeded random instants
 * and starts it again, N times, then lets it finish (spec/journal_crash_spec.lua).
 *
 *   crash_torture KILLS SEED MIN_MS MAX_MS LOG READY -- COMMAND [ARG...]
 *
 * The first run is COMMAND as given; every later one gets --resume appended.
 * A run is killed MIN_MS to MAX_MS (seeded, uniform) after it is ready: after
 * the file READY grew (the host's digest: its first line is written once
 * recovery is done), so every kill lands in a running, recovered host.
 * Each run's stderr is appended to LOG. A run that ends by itself before its
 * kill instant is started again too (it has nothing left to do but recover
 * and finish). Prints one line per run ("run N: killed at X ms" or "run N:
 * exit S") and ends with "kills K, final exit S". Exit status: 0 when the
 * last run exited 0, 1 otherwise, 2 bad usage. Every wait is bounded: a run
 * that outlives 60 s is killed and counted as a failure.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static uint64_t rng;

static uint64_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static pid_t start(char **argv, const char *log)
{
	pid_t pid = fork();
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
		if (fd >= 0) {
			dup2(fd, 2);
			close(fd);
		}
		int nul = open("/dev/null", O_WRONLY);
		if (nul >= 0)
			dup2(nul, 1);
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

/* Waits for pid until deadline (ms): its status, or -1 when still running. */
static int wait_until(pid_t pid, double deadline, int *status)
{
	for (;;) {
		pid_t r = waitpid(pid, status, WNOHANG);
		if (r == pid)
			return 0;
		if (r < 0 && errno != EINTR)
			return -2;
		if (now_ms() >= deadline)
			return -1;
		struct timespec ts = {0, 200000}; /* 0.2 ms */
		nanosleep(&ts, NULL);
	}
}

static long file_size(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? (long)st.st_size : 0;
}

/* 1 once path has grown past size0, 0 when pid ended first (status set),
 * -1 at the deadline. */
static int wait_ready(pid_t pid, const char *path, long size0, double deadline, int *status)
{
	for (;;) {
		if (file_size(path) > size0)
			return 1;
		if (waitpid(pid, status, WNOHANG) == pid)
			return 0;
		if (now_ms() >= deadline)
			return -1;
		struct timespec ts = {0, 200000};
		nanosleep(&ts, NULL);
	}
}

int main(int argc, char **argv)
{
	if (argc < 9 || strcmp(argv[7], "--") != 0) {
		fprintf(stderr,
			"usage: crash_torture KILLS SEED MIN_MS MAX_MS LOG READY -- COMMAND "
			"[ARG...]\n");
		return 2;
	}
	const char *ready = argv[6];
	int kills = atoi(argv[1]);
	rng = strtoull(argv[2], NULL, 10) * 2654435761u + 1;
	double lo = atof(argv[3]), hi = atof(argv[4]);
	const char *log = argv[5];
	int n = argc - 8;
	char **cmd = calloc((size_t)n + 2, sizeof *cmd);
	if (!cmd || kills < 0 || !(hi >= lo) || lo < 0)
		return 2;
	for (int i = 0; i < n; i++)
		cmd[i] = argv[8 + i];
	int done = 0, run = 0, status = 0;
	while (done < kills) {
		double at = lo + (hi - lo) * (double)(next_rand() % 1000000) / 1e6;
		long size0 = file_size(ready);
		pid_t pid = start(cmd, log);
		if (pid < 0)
			return perror("fork"), 1;
		int w = wait_ready(pid, ready, size0, now_ms() + 30000, &status);
		if (w == -1) { /* not ready in 30 s: something is wrong */
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return printf("run %d: not ready after 30 s\n", run), 1;
		}
		if (w == 1)
			w = wait_until(pid, now_ms() + at, &status);
		if (w == -1) {
			kill(pid, SIGKILL);
			if (wait_until(pid, now_ms() + 60000, &status) != 0)
				return fprintf(stderr, "run %d: did not die\n", run), 1;
			printf("run %d: killed at %.1f ms\n", run, at);
			done++;
		} else {
			printf("run %d: exit %d before its kill at %.1f ms\n", run,
			       WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status),
			       at);
			if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
				return printf("kills %d, final exit %d\n", done,
					      WEXITSTATUS(status)),
				       1;
		}
		if (run++ == 0)
			cmd[n++] = "--resume";
	}
	double t0 = now_ms();
	pid_t pid = start(cmd, log);
	int w = wait_until(pid, t0 + 60000, &status);
	if (w != 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		printf("kills %d, final run timed out\n", done);
		return 1;
	}
	int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	printf("kills %d, final exit %d\n", done, code);
	free(cmd);
	return code == 0 ? 0 : 1;
}
