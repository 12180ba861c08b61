/*
 * webhook_sink — a test peer for the alert specs: a tiny HTTP server on
 * 127.0.0.1 that records every POST it gets, one line each:
 * `WALL_MS BODY` (the body on one line, as sent) to --log, flushed at once.
 *
 *   webhook_sink --port-file F --log F [--hang N] [--close N] [--fail N] [--timeout S]
 *
 * The first --hang N requests are read and never answered (the connection
 * held open until exit); the next --close N are read and then the connection is closed
 * without an answer; the next --fail N answer 500; the rest 200. It exits
 * by itself after --timeout seconds (default 60): a spec never leaves it
 * running. The port (any free one) goes to --port-file once listening.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static long long mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reads a request's head and body (Content-Length) into buf; its body or NULL. */
static char *read_request(int fd, char *buf, size_t cap, size_t *blen)
{
	size_t n = 0;
	char *body = NULL;
	long want = -1;
	while (n < cap - 1) {
		ssize_t r = read(fd, buf + n, cap - 1 - n);
		if (r <= 0)
			return NULL;
		n += (size_t)r;
		buf[n] = '\0';
		if (!body && (body = strstr(buf, "\r\n\r\n"))) {
			body += 4;
			const char *cl = strcasestr(buf, "\ncontent-length:");
			want = cl ? strtol(cl + 16, NULL, 10) : 0;
		}
		if (body && want >= 0 && (long)(buf + n - body) >= want) {
			*blen = (size_t)want;
			return body;
		}
	}
	return NULL;
}

int main(int argc, char **argv)
{
	const char *port_file = NULL, *log_path = NULL;
	int close_n = 0, fail_n = 0, hang_n = 0, held[64], nheld = 0;
	double timeout = 60;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--port-file"))
			port_file = argv[i + 1];
		else if (!strcmp(argv[i], "--log"))
			log_path = argv[i + 1];
		else if (!strcmp(argv[i], "--hang"))
			hang_n = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--close"))
			close_n = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--fail"))
			fail_n = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--timeout"))
			timeout = atof(argv[i + 1]);
	}
	if (!port_file || !log_path) {
		fprintf(stderr, "usage: webhook_sink --port-file F --log F [--hang N] [--close N] "
				"[--fail N] [--timeout S]\n");
		return 2;
	}
	FILE *log = fopen(log_path, "a");
	int ls = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t sl = sizeof sa;
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (!log || ls < 0 || bind(ls, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(ls, 16) != 0 ||
	    getsockname(ls, (struct sockaddr *)&sa, &sl) != 0) {
		perror("webhook_sink");
		return 2;
	}
	char tmp[4200];
	snprintf(tmp, sizeof tmp, "%s.tmp", port_file);
	FILE *pf = fopen(tmp, "w");
	if (!pf)
		return 2;
	fprintf(pf, "%d\n", ntohs(sa.sin_port));
	fclose(pf);
	rename(tmp, port_file);
	long long end = mono_ms() + (long long)(timeout * 1000);
	int seen = 0;
	while (mono_ms() < end) {
		struct pollfd p = {ls, POLLIN, 0};
		if (poll(&p, 1, 200) <= 0)
			continue;
		int fd = accept(ls, NULL, NULL);
		if (fd < 0)
			continue;
		struct timeval tv = {2, 0};
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
		static char buf[1 << 16];
		size_t blen = 0;
		char *body = read_request(fd, buf, sizeof buf, &blen);
		if (body) {
			seen++;
			for (size_t k = 0; k < blen; k++)
				if (body[k] == '\n' || body[k] == '\r')
					body[k] = ' ';
			fprintf(log, "%lld %.*s\n", now_ms(), (int)blen, body);
			fflush(log);
			if (seen <= hang_n && nheld < 64) {
				held[nheld++] = fd;
				continue;
			}
			if (seen > hang_n + close_n) {
				int code = seen <= hang_n + close_n + fail_n ? 500 : 200;
				char head[160];
				int hl = snprintf(head, sizeof head,
						  "HTTP/1.1 %d %s\r\nContent-Length: 0\r\nConnection: "
						  "close\r\n\r\n",
						  code, code == 200 ? "OK" : "Internal Server Error");
				ssize_t w = write(fd, head, (size_t)hl);
				(void)w;
			}
		}
		close(fd);
	}
	for (int i = 0; i < nheld; i++)
		close(held[i]);
	fclose(log);
	close(ls);
	return 0;
}
