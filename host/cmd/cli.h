/*
 * cli — the subcommands of the gantry binary.
 *
 * Each takes the arguments after its own name (argv[0] is the command name)
 * and returns the process exit status of the contract: 0 done, 1 the
 * strategy or playbook failed at run time, 2 bad usage or bad input.
 */
#ifndef GANTRY_CLI_H
#define GANTRY_CLI_H

enum { EXIT_OK = 0, EXIT_RUNTIME = 1, EXIT_USAGE = 2 };

int cmd_backtest(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_itch(int argc, char **argv);
int cmd_paper(int argc, char **argv);
int cmd_live(int argc, char **argv);
int cmd_ctl(int argc, char **argv);
int cmd_play(int argc, char **argv);	/* play.c */
int cmd_approve(int argc, char **argv); /* play.c */
int cmd_data(int argc, char **argv); /* data_cmd.c: gantry data check */
int cmd_journal(int argc, char **argv);

#endif
