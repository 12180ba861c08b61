/*
 * journal_cmd — reading a journal from the command line, and where a run's
 * journal comes from. `--verify` reads every record: a CRC that fails with
 * data after it, a sequence gap or a payload that does not decode is an
 * error naming the segment and the offset (exit 1); a torn last record is
 * reported with its offset and treated as cut (exit 0: it is what a crash
 * leaves, and a host reopening the journal truncates it there; verify
 * itself changes nothing).
 */
#include "journal_cmd.h"

#include "cli.h"
#include "config_journal.h"
#include "journal.h"
#include "journal_fmt.h"
#include "journal_rec.h"
#include "log.h"
#include "timefmt.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char journal_usage[] =
    "usage: gantry journal DIR (--dump | --verify | --stats)\n"
    "\n"
    "Reads the journal a paper or live host (or a backtest with --journal) wrote.\n"
    "  --dump    one JSON object per record (JSON lines), oldest first\n"
    "  --verify  checks every record's CRC32C and the sequence numbers; a torn\n"
    "            last record (a crash mid-write) is reported and treated as cut\n"
    "            (exit 0); a damaged record with data after it, or a gap, is an\n"
    "            error naming the segment file and the byte offset (exit 1)\n"
    "  --stats   one JSON object: records by type, segments, bytes, first and\n"
    "            last sequence number and time\n"
    "Exit status: 0 ok, 1 the journal is damaged, 2 bad usage or not a journal.\n";

static void out_stdout(void *ud, const char *p, size_t n)
{
	fwrite(p, 1, n, ud);
}

/* Strategy names from the load records, by strategy number (owned). */
struct names {
	char *v[ENGINE_MAX_STRATEGIES];
};

static void note_name(struct names *nm, const struct journal_record *r)
{
	if (r->h.type != J_LOAD || r->h.strat >= ENGINE_MAX_STRATEGIES)
		return;
	union jpayload *u = malloc(sizeof *u);
	if (u && jfmt_decode(J_LOAD, r->payload, r->plen, u, NULL, 0) == 0) {
		free(nm->v[r->h.strat]);
		nm->v[r->h.strat] = strdup(u->text.b);
	}
	free(u);
}

enum mode { M_NONE, M_DUMP, M_VERIFY, M_STATS };

static int run(const char *dir, int mode)
{
	struct journal_reader r;
	char err[1536];
	struct stat st;
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		log_user_error("%s: %s", dir,
			       stat(dir, &st) != 0 ? strerror(errno) : "not a directory");
		return EXIT_USAGE;
	}
	if (journal_reader_open(&r, dir, err, sizeof err) != 0) {
		log_user_error("%s", err);
		return EXIT_USAGE;
	}
	if (r.nseg == 0) {
		log_user_error("%s: no journal segments here (files named NNNNNNNN.gjl)", dir);
		journal_reader_close(&r);
		return EXIT_USAGE;
	}
	struct names nm;
	memset(&nm, 0, sizeof nm);
	long by_type[J_TYPE_COUNT + 1] = {0};
	long n = 0;
	uint64_t first_seq = 0, last_seq = 0, open_txn = 0;
	int64_t first_t = 0, last_t = 0;
	struct journal_record rec;
	int rc;
	union jpayload *u = malloc(sizeof *u);
	while (u && (rc = journal_next(&r, &rec, err, sizeof err)) > 0) {
		char derr[256];
		if (rec.h.type < J_TYPE_COUNT &&
		    jfmt_decode(rec.h.type, rec.payload, rec.plen, u, derr, sizeof derr) != 0) {
			snprintf(err, sizeof err,
				 "%s/%s: damaged record at offset %" PRIu64 " (seq %" PRIu64
				 "): %s",
				 dir, rec.segment, rec.offset, rec.h.seq, derr);
			rc = -1;
			break;
		}
		note_name(&nm, &rec);
		if (!n++) {
			first_seq = rec.h.seq;
			first_t = rec.h.time;
		}
		last_seq = rec.h.seq;
		last_t = rec.h.time;
		by_type[rec.h.type < J_TYPE_COUNT ? rec.h.type : J_TYPE_COUNT]++;
		if (rec.h.type == J_TXN_BEGIN)
			open_txn = rec.h.seq;
		else if (rec.h.type == J_TXN_END || rec.h.type == J_VOID)
			open_txn = 0;
		if (mode == M_DUMP) {
			jfmt_json(&rec, (const char *const *)nm.v, ENGINE_MAX_STRATEGIES,
				  out_stdout, stdout);
			fputc('\n', stdout);
		}
	}
	if (!u) {
		snprintf(err, sizeof err, "out of memory");
		rc = -1;
	}
	free(u);
	int status = EXIT_OK;
	if (rc < 0) {
		fflush(stdout);
		log_user_error("%s", err);
		status = EXIT_RUNTIME;
	} else if (mode == M_STATS) {
		char a[TIME_ISO_LEN + 1] = "", b[TIME_ISO_LEN + 1] = "";
		if (n) {
			time_format_iso(first_t, a);
			time_format_iso(last_t, b);
		}
		printf("{\"records\": %ld, \"segments\": %d, \"bytes\": %" PRIu64
		       ", \"first_seq\": %" PRIu64 ", \"last_seq\": %" PRIu64
		       ", \"first_time\": \"%s\", \"last_time\": \"%s\", "
		       "\"torn\": %s, \"by_type\": {",
		       n, r.nseg, r.bytes, first_seq, last_seq, a, b, r.torn ? "true" : "false");
		int k = 0;
		for (int t = 1; t <= J_TYPE_COUNT; t++)
			if (by_type[t])
				printf("%s\"%s\": %ld", k++ ? ", " : "",
				       t == J_TYPE_COUNT ? "unknown" : jfmt_type_name(t),
				       by_type[t]);
		printf("}}\n");
	} else if (mode == M_VERIFY) {
		printf("%s: ok: %ld records in %d segments, seq %" PRIu64 "..%" PRIu64 "%s\n", dir,
		       n, r.nseg, first_seq, last_seq, r.torn ? " (a torn last record cut)" : "");
	}
	if (status == EXIT_OK && r.torn)
		log_msg(LOG_WARN, "journal",
			"%s/%s: torn last record at offset %" PRIu64 " (%" PRIu64
			" bytes: %s): cut; "
			"a host reopening the journal truncates it there",
			dir, r.torn_seg, r.torn_offset, r.torn_bytes, r.reason);
	if (status == EXIT_OK && open_txn && mode == M_VERIFY)
		log_msg(LOG_INFO, "journal",
			"the last transaction (from seq %" PRIu64
			") never ended: a restart voids it "
			"and takes its event again",
			open_txn);
	for (int i = 0; i < ENGINE_MAX_STRATEGIES; i++)
		free(nm.v[i]);
	journal_reader_close(&r);
	return status;
}

int cmd_journal(int argc, char **argv)
{
	const char *dir = NULL;
	int mode = M_NONE;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		int m = !strcmp(a, "--dump")	 ? M_DUMP
			: !strcmp(a, "--verify") ? M_VERIFY
			: !strcmp(a, "--stats")	 ? M_STATS
						 : M_NONE;
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			fputs(journal_usage, stdout);
			return EXIT_OK;
		} else if (m != M_NONE) {
			if (mode != M_NONE && mode != m) {
				log_user_error("journal: choose one of --dump, --verify, --stats");
				return EXIT_USAGE;
			}
			mode = m;
		} else if (a[0] == '-' && a[1]) {
			log_user_error("journal: unknown option '%s' (try 'gantry journal --help')",
				       a);
			return EXIT_USAGE;
		} else if (dir) {
			log_user_error("journal: one directory, got '%s' and '%s'", dir, a);
			return EXIT_USAGE;
		} else {
			dir = a;
		}
	}
	if (!dir || mode == M_NONE) {
		log_user_error(
		    "journal: %s (try 'gantry journal --help')",
		    !dir ? "which directory? gantry journal DIR --dump | --verify | --stats"
			 : "what to do? --dump, --verify or --stats");
		return EXIT_USAGE;
	}
	return run(dir, mode);
}

/* ------------------------------------------------------------ a run's journal */

/* --overwrite: the out dir's own journal goes with its other files. */
static void remove_segments(const char *dir)
{
	struct journal_reader r;
	char err[256];
	if (journal_reader_open(&r, dir, err, sizeof err) != 0)
		return;
	for (int i = 0; i < r.nseg; i++) {
		char p[1200];
		snprintf(p, sizeof p, "%s/%s", dir, r.segs[i]);
		if (unlink(p) != 0)
			log_msg(LOG_WARN, "journal", "%s: %s", p, strerror(errno));
	}
	if (r.nseg)
		log_msg(LOG_INFO, "journal", "%s: --overwrite: %d segments of the earlier run removed",
			dir, r.nseg);
	journal_reader_close(&r);
}

int journal_setup(struct engine *e, const struct deploy_config *cfg, const struct journal_flags *f,
		  int paper, int how, const char *outdir, char *err, size_t errlen)
{
	int resume = how & 1;
	struct config_journal cj;
	if (config_journal(cfg, &cj, err, errlen) != 0)
		return -1;
	char dir[1100];
	if (f->dir)
		snprintf(dir, sizeof dir, "%s", f->dir);
	else if (cj.dir[0])
		snprintf(dir, sizeof dir, "%s", cj.dir);
	else if (paper)
		snprintf(dir, sizeof dir, "%s/journal", outdir);
	else
		return 0; /* a backtest journals only when asked */
	struct jrec_config c = {.dir = dir, .outdir = outdir, .fresh_only = !paper};
	/* paper: group commit (an order does not wait for the disk; a killed
	 * process loses nothing, a power cut up to one period); backtests: off */
	const char *pol = f->fsync ? f->fsync : cj.fsync[0] ? cj.fsync : paper ? "group" : "off";
	char perr[256];
	if (journal_parse_fsync(pol, &c.opts, perr, sizeof perr) != 0)
		return errf_fail(err, errlen, "%s%s",
				 f->fsync    ? "--journal-fsync: "
				 : cfg->path ? ""
					     : "",
				 perr);
	c.opts.segment_bytes = cj.segment_mb > 0 ? (uint64_t)(cj.segment_mb * 1048576.0) : 0;
	c.opts.compress = cj.compress > 0;
	c.snapshot_every = cj.snapshot_every >= 0 ? cj.snapshot_every : 10000;
	if (f->snapshot_every) {
		char *end;
		long v = strtol(f->snapshot_every, &end, 10);
		if (*end || end == f->snapshot_every || v < 0)
			return errf_fail(err, errlen,
					 "--snapshot-every %s: expected a whole number of "
					 "events (0: only at a clean stop)",
					 f->snapshot_every);
		c.snapshot_every = v;
	}
	if (paper && (how & 2) && !f->dir && !cj.dir[0])
		remove_segments(dir);
	if (paper && !resume) {
		struct journal_reader r;
		char rerr[256];
		struct journal_record rec;
		int has = journal_reader_open(&r, dir, rerr, sizeof rerr) == 0 &&
			  journal_next(&r, &rec, rerr, sizeof rerr) != 0;
		if (r.segs)
			journal_reader_close(&r);
		if (has)
			return errf_fail(err, errlen,
					 "%s: holds the journal of an earlier run; --resume "
					 "recovers from it (or give another --journal)",
					 dir);
	}
	return jrec_attach(e, &c, err, errlen);
}
