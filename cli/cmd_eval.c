/* `distill eval --checkpoint C.ckpt --teacher V.h5`: metrics of a trained student on every row of a teacher
 * file, as one JSON object (n, loss, cos, top1, kl, mse: those the teacher's targets allow). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "train/train.h"

static const char *eval_help =
    "usage: distill eval --checkpoint C.ckpt --teacher V.h5 [--int8] [--json] [--batch-size N]\n"
    "\n"
    "Runs the student of C.ckpt on every row of V.h5 and prints one JSON object: n, loss, cos, top1, kl, mse\n"
    "(those the teacher's targets allow), label_acc (against V's labels) and knn10 (kNN@10 overlap with the\n"
    "teacher's embeddings over those rows, up to 20,000 rows). --int8 runs the integer-only\n"
    "int8 model instead: the one a QAT checkpoint's quantization state gives, or C itself when it is a native\n"
    "model (distill export --format native). Without --int8 a QAT checkpoint runs its fake-quant forward pass.\n";

static void json_field(int *first, const char *key, double v) {
  if (!isfinite(v)) return;
  printf("%s\"%s\": %.9g", *first ? "" : ", ", key, v);
  *first = 0;
}

static void print_metrics(const ds_eval_metrics *m) {
  int first = 1;
  printf("{\"n\": %ld, ", m->n);
  json_field(&first, "loss", m->loss);
  json_field(&first, "cos", m->cos);
  json_field(&first, "top1", m->top1);
  json_field(&first, "kl", m->kl);
  json_field(&first, "mse", m->mse);
  json_field(&first, "label_acc", m->label_acc);
  json_field(&first, "knn10", m->knn10);
  printf("}\n");
}

/* ---- eval --int8: the integer-only runtime (train/train.h) on a native model or a QAT checkpoint ---- */
static int eval_int8(const char *path, const char *teacher_path, int batch) {
  ds_err err = {{0}};
  ds_config cfg; /* the loss weights: the checkpoint's, or the defaults for a native model (which has none) */
  ds_config_default(&cfg);
  if (!ds_i8_file_is_native(path)) {
    ds_loaded_model lm;
    if (ds_model_load(&lm, path, &err)) return cli_error("%s", err.msg);
    cfg = lm.cfg;
    ds_loaded_model_free(&lm);
  }
  ds_i8_model im;
  if (ds_int8_model_open(path, &im, &err)) return cli_error("%s", err.msg);
  ds_teacher *t = NULL;
  int rc = 0;
  if (ds_teacher_open(&t, teacher_path, &err)) {
    rc = cli_error("%s", err.msg);
  } else if (ds_teacher_get_info(t)->vocab_size > im.n_ids) {
    rc = cli_error("%s: token ids reach %d but the int8 model %s knows %d ids", teacher_path,
                   ds_teacher_get_info(t)->vocab_size - 1, path, im.n_ids);
  } else {
    ds_eval_metrics m;
    if (ds_evaluate_int8(&im, &cfg.loss, t, NULL, batch, &m, &err))
      rc = cli_error("%s", err.msg);
    else
      print_metrics(&m);
  }
  ds_teacher_close(t);
  ds_i8_model_free(&im);
  return rc;
}

int cli_eval(int argc, char **argv) {
  const char *ckpt = NULL, *teacher_path = NULL;
  int int8 = 0, batch = 64;
  for (int i = 1; i < argc; i++) {
    if (cli_is_help(argv[i])) {
      fputs(eval_help, stdout);
      return 0;
    } else if (strcmp(argv[i], "--checkpoint") == 0 && i + 1 < argc) {
      ckpt = argv[++i];
    } else if (strcmp(argv[i], "--teacher") == 0 && i + 1 < argc) {
      teacher_path = argv[++i];
    } else if (strcmp(argv[i], "--int8") == 0) {
      int8 = 1;
    } else if (strcmp(argv[i], "--json") == 0) {
      /* JSON is the only output format; the flag is accepted for scripts that pass it. */
    } else if (strcmp(argv[i], "--batch-size") == 0 && i + 1 < argc) {
      if (sscanf(argv[++i], "%d", &batch) != 1 || batch < 1) return cli_error("--batch-size: expected a positive integer");
    } else {
      return cli_error("eval: unknown or incomplete option '%s' (see distill eval --help)", argv[i]);
    }
  }
  if (!ckpt || !teacher_path) return cli_error("eval needs --checkpoint C.ckpt and --teacher V.h5");
  if (int8 || ds_i8_file_is_native(ckpt)) return eval_int8(ckpt, teacher_path, batch);
  ds_err err = {{0}};
  ds_loaded_model lm;
  if (ds_model_load(&lm, ckpt, &err)) return cli_error("%s", err.msg);
  ds_teacher *t = NULL;
  if (ds_teacher_open(&t, teacher_path, &err)) {
    ds_loaded_model_free(&lm);
    return cli_error("%s", err.msg);
  }
  const ds_teacher_info *info = ds_teacher_get_info(t);
  const ds_student_shape *s = &lm.model.shape;
  int rc = 0;
  /* A vocabulary-pruned student takes every id of its map, though its embedding table is smaller. */
  const int ids_known = lm.model.vocab_map ? lm.model.vocab_map->n_ids : s->vocab;
  if (info->vocab_size > ids_known) {
    rc = cli_error("%s: token ids reach %d but the student of %s knows %d ids", teacher_path, info->vocab_size - 1,
                   ckpt, ids_known);
  } else {
    ds_eval_metrics m;
    if (ds_evaluate(&lm.model, &lm.cfg.loss, t, NULL, batch, &m, &err)) {
      rc = cli_error("%s", err.msg);
    } else {
      print_metrics(&m);
    }
  }
  ds_teacher_close(t);
  ds_loaded_model_free(&lm);
  return rc;
}
