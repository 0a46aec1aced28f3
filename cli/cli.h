/* cli/: the distill command. */
/* The distill command: one file per subcommand; each returns the process exit status (0 or 1). */
#ifndef DS_CLI_CLI_H
#define DS_CLI_CLI_H

int cli_train(int argc, char **argv, int is_run);
int cli_eval(int argc, char **argv);
int cli_inspect(int argc, char **argv);
int cli_export(int argc, char **argv); /* cmd_export.c */
int cli_embed(int argc, char **argv);  /* cmd_embed.c */

/* Prints "distill: <msg>" to stderr and returns 1. */
int cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* 1 if s is "--help" or "-h". */
int cli_is_help(const char *s);

#endif
