/* Entry point: dispatches to a subcommand; bare flags mean `train`. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "kernels/kernels.h"

static const char *usage =
    "distill: knowledge distillation into a small int8 embedding model\n"
    "\n"
    "usage:\n"
    "  distill --teacher T.h5 --student S.cfg [--out DIR] [flags]   train (same as: distill train ...)\n"
    "  distill run EXPERIMENT.cfg [--out DIR] [--set section.key=value ...]\n"
    "  distill eval --checkpoint C.ckpt --teacher V.h5 [--int8] [--json]\n"
    "  distill export --checkpoint C.ckpt --format native|onnx|tflite|encodings --out FILE\n"
    "  distill embed --model M --ids \"101 7592 102\" | --text \"...\"\n"
    "  distill inspect FILE\n"
    "\n"
    "`distill COMMAND --help` describes each command.\n";

int cli_error(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("distill: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  return 1;
}

int cli_is_help(const char *s) { return strcmp(s, "--help") == 0 || strcmp(s, "-h") == 0; }

/* OpenMP threads that busy-wait between parallel regions collapse throughput (6x measured) as soon as another
 * process wants a core. libgomp reads its wait policy only at start-up, so set it and start again, once.
 * A policy the user set is kept. */
static void ensure_passive_wait_policy(char **argv) {
  if (getenv("OMP_WAIT_POLICY")) return;
  setenv("OMP_WAIT_POLICY", "passive", 1);
  execv("/proc/self/exe", argv);
  /* exec failed (no /proc): carry on with the default policy. */
}

int main(int argc, char **argv) {
  ensure_passive_wait_policy(argv);
  if (argc < 2) {
    fputs(usage, stderr);
    return 1;
  }
  const char *cmd = argv[1];
  ds_threads_set(0); /* OpenBLAS single-threaded; training then sets its own OpenMP count */
  if (cli_is_help(cmd)) {
    fputs(usage, stdout);
    return 0;
  }
  if (strcmp(cmd, "train") == 0) return cli_train(argc - 1, argv + 1, 0);
  if (strcmp(cmd, "run") == 0) return cli_train(argc - 1, argv + 1, 1);
  if (strcmp(cmd, "eval") == 0) return cli_eval(argc - 1, argv + 1);
  if (strcmp(cmd, "inspect") == 0) return cli_inspect(argc - 1, argv + 1);
  if (strcmp(cmd, "export") == 0) return cli_export(argc - 1, argv + 1);
  if (strcmp(cmd, "embed") == 0) return cli_embed(argc - 1, argv + 1);
  if (cmd[0] == '-') return cli_train(argc, argv, 0);
  fputs(usage, stderr);
  return cli_error("unknown command '%s'", cmd);
}
