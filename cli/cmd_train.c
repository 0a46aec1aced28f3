/* `distill [train] --teacher T --student S.cfg` and `distill run EXPERIMENT.cfg`: resolve the config
 * (file, then flags, then --set), check everything (config and teacher) before anything is written, then
 * create the run folder and train. */
#include <errno.h>
#include <stdarg.h>
#include <libgen.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/common.h"
#include "kernels/kernels.h"
#include "cli/progress.h"
#include "train/train.h"

static const char *train_help =
    "usage: distill [train] --teacher T.h5 --student S.cfg [--out DIR] [flags]\n"
    "       distill run EXPERIMENT.cfg [--out DIR] [--set section.key=value ...] [flags]\n"
    "\n"
    "Trains a student (S.cfg / EXPERIMENT.cfg, SPEC.md's .cfg format) on a teacher file and writes the run\n"
    "folder DIR (default runs/<name>): config.cfg, metrics.csv, summary.json, last.ckpt, best.ckpt.\n"
    "`distill run DIR/config.cfg` repeats a past run.\n"
    "\n"
    "flags (each overrides the config key of the same meaning):\n"
    "  --teacher FILE        [teacher] path\n"
    "  --out DIR             run folder (default [run] out, else runs/<name>, name from [run] name or the config's file name)\n"
    "  --steps N             [train] steps\n"
    "  --batch-size N        [train] batch_size\n"
    "  --lr X                [train] lr\n"
    "  --seed N              [train] seed\n"
    "  --threads N           [train] threads (0 = all cores)\n"
    "  --val-fraction X      [train] val_fraction\n"
    "  --eval-every N        [train] eval_every\n"
    "  --save-every N        [train] save_every\n"
    "  --resume [CKPT]       continue from CKPT (default DIR/last.ckpt) exactly where it stopped\n"
    "  --quiet               no progress output\n"
    "  --set section.key=V   any config key\n"
    "\n"
    "Under an MPI launcher (a build with -DDISTILL_MPI=ON; docs/mpi.md), `mpirun -np N distill ...` trains one\n"
    "model on N processes: each computes 1/N of every batch (batch_size stays the global batch); the first\n"
    "process logs, evaluates and writes the run folder.\n";

typedef struct {
  const char *flag, *key;
} flag_key;

static const flag_key flag_keys[] = {
    {"--steps", "train.steps"},         {"--batch-size", "train.batch_size"},
    {"--lr", "train.lr"},               {"--seed", "train.seed"},
    {"--threads", "train.threads"},     {"--val-fraction", "train.val_fraction"},
    {"--eval-every", "train.eval_every"}, {"--save-every", "train.save_every"},
};

static int dir_exists(const char *p) {
  struct stat st;
  return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int file_exists(const char *p) {
  struct stat st;
  return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static int mkdir_p(const char *path) {
  char buf[DS_PATH_MAX];
  snprintf(buf, sizeof buf, "%s", path);
  for (char *p = buf + 1; *p; p++) {
    if (*p != '/') continue;
    *p = '\0';
    if (mkdir(buf, 0755) != 0 && errno != EEXIST) return -1;
    *p = '/';
  }
  return mkdir(buf, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

/* The run name: [run] name if set, else the config file's name without .cfg (for DIR/config.cfg, DIR's name). */
static void run_name(const ds_config *c, const char *cfg_path, char *out, size_t n) {
  if (strcmp(c->run.name, "default") != 0 || !cfg_path) {
    snprintf(out, n, "%s", c->run.name);
    return;
  }
  char tmp[DS_PATH_MAX];
  snprintf(tmp, sizeof tmp, "%s", cfg_path);
  char *base = basename(tmp);
  char *dot = strrchr(base, '.');
  if (dot && strcmp(dot, ".cfg") == 0) *dot = '\0';
  if (strcmp(base, "config") == 0) {
    snprintf(tmp, sizeof tmp, "%s", cfg_path);
    base = basename(dirname(tmp));
  }
  snprintf(out, n, "%s", base);
}

static int write_config(const ds_config *c, const char *dir, ds_err *err) {
  char path[DS_PATH_MAX + 32];
  snprintf(path, sizeof path, "%s/config.cfg", dir);
  ds_atomic_file a;
  if (ds_atomic_open(&a, path, "w", err)) return -1;
  fprintf(a.f, "# The fully resolved config of this run: `distill run %s` repeats it.\n", path);
  if (ds_config_write(c, a.f) != 0) {
    ds_atomic_abort(&a);
    return ds_fail(err, "%s: cannot write the config", path);
  }
  return ds_atomic_commit(&a, err);
}

/* An error once the processes of a data-parallel run may be out of step: names the process. */
static int rank_error(const ds_dist *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int rank_error(const ds_dist *d, const char *fmt, ...) {
  char msg[DS_PATH_MAX + 1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (ds_dist_size(d) > 1) return cli_error("process %d of %d: %s", ds_dist_rank(d), ds_dist_size(d), msg);
  return cli_error("%s", msg);
}

/* A finished or interrupted run is in DIR: only --resume may use the folder. */
#define HOLDS_RUN_MSG "%s already holds a run; continue it with --resume or choose another --out"
static int holds_run(const char *last, const char *summary) { return file_exists(last) || file_exists(summary); }

/* Temporary files a killed run may have left beside the files it replaces atomically (common/common.h).
 * The next write of each would replace its own, but best.ckpt may never be written again: with the folder
 * locked, no other run is writing them, so they go now. */
static void remove_stale_tmp(const char *dir) {
  static const char *const names[] = {"last.ckpt", "best.ckpt", "config.cfg", "summary.json"};
  for (size_t k = 0; k < sizeof names / sizeof *names; k++) {
    char p[DS_PATH_MAX + 32];
    snprintf(p, sizeof p, "%s/%s" DS_ATOMIC_TMP_SUFFIX, dir, names[k]);
    unlink(p);
  }
}

/* Everything from the "already holds a run" check on, with the run folder locked (*lock >= 0) if it exists.
 * Only the first process of a data-parallel run creates, locks and writes the folder. */
static int train_locked(const ds_config *cfg, const char *dir, const char *last, const char *summary, int want_resume,
                        const char *resume, int *lock, const ds_dist *dist) {
  ds_err err = {{0}};
  if (!want_resume && holds_run(last, summary)) return cli_error(HOLDS_RUN_MSG, dir);
  if (want_resume && !resume) resume = last;
  if (want_resume && !file_exists(resume)) return cli_error("--resume: no checkpoint at %s", resume);

  ds_trainer *tr;
  ds_threads_set(cfg->train.threads);
  if (ds_trainer_create(&tr, cfg, dist, want_resume ? resume : NULL, &err)) return rank_error(dist, "%s", err.msg);
  const ds_trainer_view opened = ds_trainer_view_of(tr);
  /* Everything checked: only now does the run folder appear. */
  const int root = ds_dist_is_root(dist);
  if (root && mkdir_p(dir) != 0) {
    const int e = errno;
    ds_trainer_destroy(tr);
    return rank_error(dist, "%s: cannot create the run folder (%s)", dir, strerror(e));
  }
  if (root && *lock < 0) {
    if (ds_run_lock_acquire(dir, lock, &err)) {
      ds_trainer_destroy(tr);
      return rank_error(dist, "%s", err.msg);
    }
    /* Another run may have created the folder, trained and ended between the first check and the lock. */
    if (!want_resume && holds_run(last, summary)) {
      ds_trainer_destroy(tr);
      return rank_error(dist, HOLDS_RUN_MSG, dir);
    }
  }
  if (root) remove_stale_tmp(dir);
  if (root && write_config(opened.cfg, dir, &err) != 0) {
    ds_trainer_destroy(tr);
    return rank_error(dist, "%s", err.msg);
  }
  const int quiet_here = cfg->train.quiet || !root;
  cli_progress prog;
  cli_progress_init(&prog, &opened, dir, quiet_here);
  if (!quiet_here && ds_dist_size(dist) > 1)
    fprintf(stderr, "distill: %d processes, each computing %ld or %ld rows of every batch of %d\n",
            ds_dist_size(dist), (long)cfg->train.batch_size / ds_dist_size(dist),
            ((long)cfg->train.batch_size + ds_dist_size(dist) - 1) / ds_dist_size(dist), cfg->train.batch_size);
  const int rc = ds_trainer_run(tr, dir, root ? cli_progress_report : NULL, &prog, &err);
  cli_progress_finish(&prog);
  if (rc) {
    ds_trainer_destroy(tr);
    return rank_error(dist, "%s", err.msg);
  }
  if (!quiet_here) {
    const ds_trainer_view done = ds_trainer_view_of(tr);
    cli_print_summary(&done, dir);
    if (ds_dist_size(dist) > 1)
      fprintf(stderr, "distill: %d processes: %.1f%% of the step time in communication\n", ds_dist_size(dist),
              100.0 * done.comm_seconds / (done.step_seconds > 0 ? done.step_seconds : 1.0));
  }
  ds_trainer_destroy(tr);
  return 0;
}

static int train_main(int argc, char **argv, int is_run, const ds_dist *dist) {
  ds_config cfg;
  ds_config_default(&cfg);
  ds_err err = {{0}};
  const char *cfg_path = NULL, *teacher = NULL, *out = NULL, *resume = NULL;
  int want_resume = 0, quiet = 0;
  /* Overrides are collected first and applied after the config file, whatever their order. */
  const char *sets[256], *set_origin[256];
  int n_sets = 0;
  char assign_buf[64][DS_PATH_MAX + 64];
  int n_assign = 0;
  int i = 1;
  if (is_run) {
    if (argc < 2 || cli_is_help(argv[1])) {
      fputs(train_help, argc < 2 ? stderr : stdout);
      return argc < 2 ? 1 : 0;
    }
    cfg_path = argv[1];
    i = 2;
  }
  for (; i < argc; i++) {
    const char *a = argv[i];
    const int has_value = i + 1 < argc;
    if (cli_is_help(a)) {
      fputs(train_help, stdout);
      return 0;
    } else if (strcmp(a, "--student") == 0 && !is_run && has_value) {
      cfg_path = argv[++i];
    } else if (strcmp(a, "--teacher") == 0 && has_value) {
      teacher = argv[++i];
    } else if (strcmp(a, "--out") == 0 && has_value) {
      out = argv[++i];
    } else if (strcmp(a, "--quiet") == 0) {
      quiet = 1;
    } else if (strcmp(a, "--resume") == 0) {
      want_resume = 1;
      if (i + 1 < argc && argv[i + 1][0] != '-') resume = argv[++i];
    } else if (strcmp(a, "--set") == 0 && has_value) {
      if (n_sets == 256) return cli_error("too many --set options");
      set_origin[n_sets] = "--set";
      sets[n_sets++] = argv[++i];
    } else {
      int matched = 0;
      for (size_t k = 0; k < sizeof flag_keys / sizeof *flag_keys; k++) {
        if (strcmp(a, flag_keys[k].flag) != 0) continue;
        if (!has_value) return cli_error("%s needs a value", a);
        if (n_assign == 64 || n_sets == 256) return cli_error("too many options");
        snprintf(assign_buf[n_assign], sizeof assign_buf[n_assign], "%s=%s", flag_keys[k].key, argv[++i]);
        set_origin[n_sets] = flag_keys[k].flag;
        sets[n_sets++] = assign_buf[n_assign++];
        matched = 1;
      }
      if (!matched) {
        if (a[0] == '-' && !has_value &&
            (strcmp(a, "--student") == 0 || strcmp(a, "--teacher") == 0 || strcmp(a, "--out") == 0 ||
             strcmp(a, "--set") == 0))
          return cli_error("%s needs a value", a);
        return cli_error("unknown option '%s' (see distill %s --help)", a, is_run ? "run" : "train");
      }
    }
  }
  if (!cfg_path)
    return cli_error(is_run ? "run needs an experiment config: distill run EXPERIMENT.cfg"
                            : "no student config: give --student S.cfg (see distill --help)");
  if (ds_config_parse_file(&cfg, cfg_path, &err)) return cli_error("%s", err.msg);
  if (teacher) {
    if (strlen(teacher) >= sizeof cfg.teacher.path) return cli_error("--teacher: path too long");
    snprintf(cfg.teacher.path, sizeof cfg.teacher.path, "%s", teacher);
  }
  for (int k = 0; k < n_sets; k++)
    if (ds_config_set(&cfg, sets[k], set_origin[k], &err)) return cli_error("%s", err.msg);
  if (quiet) cfg.train.quiet = 1;
  if (ds_config_validate(&cfg, cfg_path, &err)) return cli_error("%s", err.msg);

  char name[256], dir[DS_PATH_MAX];
  run_name(&cfg, cfg_path, name, sizeof name);
  if (!out && cfg.run.out[0]) out = cfg.run.out; /* [run] out names the folder when --out does not */
  if (out) {
    snprintf(dir, sizeof dir, "%s", out);
  } else {
    snprintf(dir, sizeof dir, "runs/%s", name);
    /* Never overwrite an earlier run by default: runs/NAME-2, -3, ... */
    for (int k = 2; !want_resume && dir_exists(dir) && k < 10000; k++) snprintf(dir, sizeof dir, "runs/%s-%d", name, k);
  }
  char last[DS_PATH_MAX + 32], summary[DS_PATH_MAX + 32];
  snprintf(last, sizeof last, "%s/last.ckpt", dir);
  snprintf(summary, sizeof summary, "%s/summary.json", dir);
  struct stat st;
  if (stat(dir, &st) == 0 && !S_ISDIR(st.st_mode)) return cli_error("%s: not a directory: --out must name a run folder", dir);
  /* One run per folder (common/common.h). An existing folder is locked before anything else, so a second
   * run is refused at once with that reason; a new one once it is created, after every check. The first
   * process of a data-parallel run holds the lock for all of them. */
  int lock = -1;
  if (ds_dist_is_root(dist) && dir_exists(dir) && ds_run_lock_acquire(dir, &lock, &err))
    return rank_error(dist, "%s", err.msg);
  const int rc = train_locked(&cfg, dir, last, summary, want_resume, resume, &lock, dist);
  ds_run_lock_release(lock);
  return rc;
}

int cli_train(int argc, char **argv, int is_run) {
  ds_dist dist;
  ds_err err = {{0}};
  if (ds_dist_init(&dist, NULL, NULL, &err)) return cli_error("%s", err.msg);
  const int rc = train_main(argc, argv, is_run, &dist);
  /* A failed process ends the whole job (the others would wait for it forever). */
  if (rc && ds_dist_size(&dist) > 1) ds_dist_abort(&dist, rc);
  ds_dist_finalize(&dist);
  return rc;
}
