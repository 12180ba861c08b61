/*
 * bench_journal — the journal's append cost against SQLite's (issue 14).
 *
 * Workload: order records as the engine writes them (an order's payload,
 * ~150 bytes), each one committed before the next as write-before-acting
 * requires: journal_append + journal_commit(durable) per record, against one
 * INSERT per record in autocommit in SQLite (WAL mode), the way Freqtrade and
 * Hummingbot keep their order state. Policies matched: always = fdatasync
 * per record vs synchronous=FULL; group = a sync thread every 200 us vs
 * synchronous=NORMAL (WAL syncs at checkpoints); off vs synchronous=OFF.
 * Each pair runs alternated (journal, SQLite, journal, ...) ROUNDS times in
 * the same process; the medians and their ratio are printed.
 *
 * Then the read side of recovery on a journal of 1,000,000 such records:
 * every segment read, every CRC checked, every payload decoded (the end to
 * end recovery of a paper host is timed by bench/journal.bench.sh).
 *
 *   bench_journal DIR [N_FAST [N_ALWAYS [N_RECOVERY]]]
 */
#include "clock.h"
#include "journal.h"
#include "journal_fmt.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ROUNDS 3

static char base[1024];

static void rm_dir(const char *d)
{
	char cmd[1200];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", d);
	if (system(cmd) != 0)
		fprintf(stderr, "bench_journal: %s: cannot remove\n", d);
}

static void payload(struct jbuf *b, long i)
{
	struct jorder o = {.id = i + 1,
			   .created = 1700000000000000000LL + i,
			   .updated = 0,
			   .sym = (int)(i % 8),
			   .side = i & 1 ? 1 : 255,
			   .type = 1,
			   .status = 2,
			   .qty = 100,
			   .price = 187.25 + (double)(i % 100) / 100};
	snprintf(o.symbol, sizeof o.symbol, "SYM%ld", i % 8);
	jfmt_order(b, &o);
}

/* ns per record, journal; -1 on error */
static double run_journal(int fsync, long n, const char *tag)
{
	char dir[1200], err[512];
	snprintf(dir, sizeof dir, "%s/j-%s", base, tag);
	rm_dir(dir);
	struct journal_opts o = {.fsync = fsync, .group_us = 200};
	struct journal *j = journal_open(dir, &o, err, sizeof err);
	if (!j) {
		fprintf(stderr, "bench_journal: %s\n", err);
		return -1;
	}
	struct jbuf b = {0};
	double t0 = clock_mono_s();
	for (long i = 0; i < n; i++) {
		payload(&b, i);
		struct journal_hdr h = {.type = J_SENT, .who = JW_STRATEGY, .strat = 0, .time = i};
		journal_append(j, &h, b.p, b.n);
		if (journal_commit(j, 1) != 0)
			return -1;
	}
	double dt = clock_mono_s() - t0;
	journal_close(j);
	jbuf_free(&b);
	rm_dir(dir);
	return dt * 1e9 / (double)n;
}

static double run_sqlite(const char *sync, long n, const char *tag)
{
	char path[1200];
	snprintf(path, sizeof path, "%s/s-%s.db", base, tag);
	unlink(path);
	sqlite3 *db;
	if (sqlite3_open(path, &db) != SQLITE_OK)
		return -1;
	char pragma[128];
	snprintf(pragma, sizeof pragma, "PRAGMA journal_mode=WAL; PRAGMA synchronous=%s;", sync);
	sqlite3_stmt *st = NULL;
	if (sqlite3_exec(db, pragma, NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_exec(db,
			 "CREATE TABLE journal (seq INTEGER PRIMARY KEY, time INTEGER, "
			 "type INTEGER, strat INTEGER, payload BLOB)",
			 NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "INSERT INTO journal VALUES (?, ?, ?, ?, ?)", -1, &st, NULL) !=
		SQLITE_OK) {
		fprintf(stderr, "bench_journal: sqlite: %s\n", sqlite3_errmsg(db));
		sqlite3_close(db);
		return -1;
	}
	struct jbuf b = {0};
	double t0 = clock_mono_s();
	for (long i = 0; i < n; i++) {
		payload(&b, i);
		sqlite3_bind_int64(st, 1, i + 1);
		sqlite3_bind_int64(st, 2, i);
		sqlite3_bind_int(st, 3, J_SENT);
		sqlite3_bind_int(st, 4, 0);
		sqlite3_bind_blob(st, 5, b.p, (int)b.n, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE) {
			fprintf(stderr, "bench_journal: sqlite: %s\n", sqlite3_errmsg(db));
			return -1;
		}
		sqlite3_reset(st);
	}
	double dt = clock_mono_s() - t0;
	sqlite3_finalize(st);
	sqlite3_close(db);
	jbuf_free(&b);
	char wal[1300];
	unlink(path);
	snprintf(wal, sizeof wal, "%s-wal", path);
	unlink(wal);
	snprintf(wal, sizeof wal, "%s-shm", path);
	unlink(wal);
	return dt * 1e9 / (double)n;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double median(double *v)
{
	qsort(v, ROUNDS, sizeof *v, cmp_d);
	return v[ROUNDS / 2];
}

static void recovery(long n)
{
	char dir[1200], err[1024];
	snprintf(dir, sizeof dir, "%s/j-recovery", base);
	rm_dir(dir);
	struct journal_opts o = {.fsync = JOURNAL_FSYNC_OFF};
	struct journal *j = journal_open(dir, &o, err, sizeof err);
	if (!j)
		return;
	struct jbuf b = {0};
	for (long i = 0; i < n; i++) {
		payload(&b, i);
		struct journal_hdr h = {.type = (uint8_t)(J_SENT + (i % 3)), .strat = 0, .time = i};
		journal_append(j, &h, b.p, b.n);
		if (i % 1024 == 1023)
			journal_commit(j, 0);
	}
	journal_close(j);
	jbuf_free(&b);
	union jpayload *u = malloc(sizeof *u);
	double t0 = clock_mono_s();
	struct journal_reader r;
	struct journal_record rec;
	long k = 0, bad = 0;
	if (u && journal_reader_open(&r, dir, err, sizeof err) == 0) {
		while (journal_next(&r, &rec, err, sizeof err) > 0) {
			bad += jfmt_decode(rec.h.type, rec.payload, rec.plen, u, NULL, 0) != 0;
			k++;
		}
		double dt = clock_mono_s() - t0;
		printf(
		    "recovery read  %ld records (%.1f MB): %.3f s, %.0f ns/record (read, CRC32C, "
		    "decode)%s\n",
		    k, (double)r.bytes / 1e6, dt, dt * 1e9 / (double)(k ? k : 1),
		    bad ? " DECODE ERRORS" : "");
		journal_reader_close(&r);
	}
	free(u);
	rm_dir(dir);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: bench_journal DIR [N_FAST [N_ALWAYS [N_RECOVERY]]]\n");
		return 2;
	}
	snprintf(base, sizeof base, "%s", argv[1]);
	long nfast = argc > 2 ? atol(argv[2]) : 200000, nsync = argc > 3 ? atol(argv[3]) : 300;
	long nrec = argc > 4 ? atol(argv[4]) : 1000000;
	static const struct {
		const char *name;
		int fsync;
		const char *sqlite;
	} pol[] = {{"off", JOURNAL_FSYNC_OFF, "OFF"},
		   {"group", JOURNAL_FSYNC_GROUP, "NORMAL"},
		   {"always", JOURNAL_FSYNC_ALWAYS, "FULL"}};
	printf("append, one commit per record (write before acting); medians of %d alternated "
	       "rounds\n",
	       ROUNDS);
	for (int p = 0; p < 3; p++) {
		long n = pol[p].fsync == JOURNAL_FSYNC_ALWAYS ? nsync : nfast;
		double jv[ROUNDS], sv[ROUNDS];
		for (int r = 0; r < ROUNDS; r++) {
			jv[r] = run_journal(pol[p].fsync, n, pol[p].name);
			sv[r] = run_sqlite(pol[p].sqlite, n, pol[p].name);
			if (jv[r] < 0 || sv[r] < 0)
				return 1;
		}
		double j = median(jv), s = median(sv);
		printf("fsync %-6s  journal %10.0f ns/record %10.0f records/s | sqlite WAL "
		       "synchronous=%-6s "
		       "%10.0f ns/record %10.0f records/s | sqlite/journal %.2fx  (%ld records)\n",
		       pol[p].name, j, 1e9 / j, pol[p].sqlite, s, 1e9 / s, s / j, n);
	}
	recovery(nrec);
	return 0;
}
