/* Training output: a live, rewritten progress line on a terminal; plain log lines otherwise. */
#ifndef DS_CLI_PROGRESS_H
#define DS_CLI_PROGRESS_H

#include "train/train.h"

typedef struct {
  int tty, quiet;
  long plain_every;     /* without a terminal: a line every this many steps (plus every evaluation) */
  int line_open;        /* a live line is on screen and needs a newline before other output */
} cli_progress;

void cli_progress_init(cli_progress *p, const ds_trainer_view *run, const char *dir, int quiet);
void cli_progress_report(void *ctx, const ds_train_progress *p);
void cli_progress_finish(cli_progress *p);
void cli_print_summary(const ds_trainer_view *run, const char *dir);

#endif
