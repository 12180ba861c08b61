/*
 * main — the gantry command: dispatch to a subcommand, nothing else.
 * Only this file calls exit(); everything below returns a status.
 */
#include "cli.h"
#include "log.h"
#include "version.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
	{"backtest", cmd_backtest, "run a strategy over historical bars or ITCH data"},
	{"paper", cmd_paper, "run strategies as a live process on a replayed feed (ctl socket)"},
	{"live", cmd_live, "trade strategies over FIX 4.4 (fix://, fixs://) with paper's outputs and ctl"},
	{"ctl", cmd_ctl, "talk to a running paper/live host: status, halt, resume, set, stop"},
	{"check", cmd_check, "compile a strategy in the sandbox, list callbacks and params"},
	{"itch", cmd_itch, "decode NASDAQ TotalView-ITCH 5.0: --stats, --dump, --book SYM"},
	{"play", cmd_play, "run a deployment playbook; --verify a deployment record"},
	{"approve", cmd_approve, "approve a playbook's step in its deployment record"},
	{"data", cmd_data, "data check FILE...: integrity checks over CSV bars or an ITCH day"},
	{"journal", cmd_journal, "read a host's journal: --dump, --verify, --stats"},
};

static void usage(FILE *out)
{
	fprintf(out, "usage: gantry COMMAND [ARGS...]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(out, "\n'gantry COMMAND --help' describes one command; 'gantry --version' the build.\n");
}

int main(int argc, char **argv)
{
	const char *lvl = getenv("GANTRY_LOG");
	enum log_level level;
	if (lvl && *lvl && log_parse_level(lvl, &level) == 0)
		log_set_level(level);

	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
		printf("gantry %s (%s)\n", GANTRY_VERSION, GANTRY_VM_NAME);
		return EXIT_OK;
	}
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	log_user_error("unknown command '%s' (try 'gantry --help')", argv[1]);
	return EXIT_USAGE;
}
