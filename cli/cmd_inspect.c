/* `distill inspect FILE`: what a teacher file or checkpoint holds (validating a teacher on the way). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoints/ckpt.h"
#include "cli/cli.h"
#include "data/data.h"
#include "quant/export/export.h"
#include "quant/int8/int8.h"

static const char *inspect_help =
    "usage: distill inspect FILE\n"
    "\n"
    "Describes a teacher file (validating it fully), a checkpoint or an exported model.\n";

static int inspect_teacher(const char *path) {
  ds_err err = {{0}};
  ds_teacher *t = NULL;
  if (ds_teacher_open(&t, path, &err)) return cli_error("%s", err.msg);
  const ds_teacher_info *i = ds_teacher_get_info(t);
  printf("teacher file %s (valid)\n", path);
  printf("  teacher       %s\n", i->name[0] ? i->name : "(unnamed)");
  printf("  rows          %ld\n", i->n_rows);
  printf("  tokens/row    %d\n", i->seq_len);
  printf("  vocab_size    %d (pad_id %d)%s\n", i->vocab_size, i->pad_id, i->n_vocab ? ", vocabulary strings" : "");
  printf("  logits        %s%d classes\n", i->n_classes ? "" : "none, ", i->n_classes);
  printf("  embeddings    %s%d dims\n", i->emb_dim ? "" : "none, ", i->emb_dim);
  printf("  labels        %s\n", i->has_labels ? "yes" : "no");
  printf("  attention_mask %s\n", i->has_mask ? "yes" : "no (derived from pad_id)");
  printf("  token_embeddings %s\n", i->has_token_emb ? "yes (init = teacher can use them)" : "no");
  if (i->hidden_dim)
    printf("  hidden_states %d dims per token\n", i->hidden_dim);
  else
    printf("  hidden_states none\n");
  ds_teacher_close(t);
  return 0;
}

static int inspect_checkpoint(ds_ckpt_reader *r, const char *path) {
  ds_err err = {{0}};
  printf("%s: format %s version %d\n", path, ds_ckpt_format(r), ds_ckpt_version(r));
  char *arch = NULL; /* absent in checkpoints from before arch = static: a transformer */
  if (ds_ckpt_has_attr(r, "arch") && ds_ckpt_read_attr_str(r, "arch", &arch, &err) == 0) {
    printf("  %-10s %s\n", "arch", arch);
    free(arch);
  }
  static const char *attrs[] = {"step", "best_step", "vocab", "max_len", "dim", "n_layers", "head_dim", "out_dim",
                                "n_classes"};
  for (size_t k = 0; k < sizeof attrs / sizeof *attrs; k++) {
    int64_t v;
    if (ds_ckpt_has_attr(r, attrs[k]) && ds_ckpt_read_attr_i64(r, attrs[k], &v, &err) == 0)
      printf("  %-10s %lld\n", attrs[k], (long long)v);
  }
  ds_ckpt_entry *e = NULL;
  int n = 0;
  if (ds_ckpt_list(r, "/", &e, &n, &err)) return cli_error("%s", err.msg);
  printf("  %d datasets:\n", n);
  for (int k = 0; k < n; k++) {
    printf("    %-48s %-8s [", e[k].name, ds_ckpt_dtype_name(e[k].dtype));
    for (int d = 0; d < e[k].ndim; d++) printf("%s%lld", d ? ", " : "", (long long)e[k].shape[d]);
    printf("]\n");
  }
  free(e);
  char *cfg = NULL;
  if (ds_ckpt_has_attr(r, "config") && ds_ckpt_read_attr_str(r, "config", &cfg, &err) == 0) {
    printf("  config:\n%s", cfg);
    free(cfg);
  }
  return 0;
}

/* A native int8 model (`distill export --format native`): loaded and validated, then described. */
static int inspect_native(const char *path) {
  ds_err err = {{0}};
  ds_i8_model m;
  if (ds_i8_model_load(&m, path, &err)) return cli_error("%s", err.msg);
  char *text = NULL;
  const int rc = ds_i8_model_describe(&m, &text, &err);
  ds_i8_model_free(&m);
  if (rc) return cli_error("%s: %s", path, err.msg);
  printf("%s: native int8 model (format version %d)\n%s", path, DS_I8_FILE_VERSION, text);
  free(text);
  return 0;
}

int cli_inspect(int argc, char **argv) {
  if (argc < 2) return cli_error("inspect needs a FILE (see distill inspect --help)");
  if (cli_is_help(argv[1])) {
    fputs(inspect_help, stdout);
    return 0;
  }
  if (argc > 2) return cli_error("inspect takes one FILE");
  const char *path = argv[1];
  ds_err err = {{0}};
  ds_ckpt_reader *r = NULL;
  /* Exported models (ONNX, TFLite, QNN encodings) are described by the exporters' own readers. */
  char *exported = NULL;
  const int is_exported = ds_export_describe_file(path, &exported, &err);
  if (is_exported < 0) return cli_error("%s", err.msg);
  if (is_exported > 0) {
    fputs(exported, stdout);
    free(exported);
    return 0;
  }
  if (ds_i8_file_is_native(path)) return inspect_native(path);
  if (ds_ckpt_open(&r, path, NULL, -1, &err)) return cli_error("%s", err.msg);
  const int is_teacher = ds_ckpt_has(r, "/input_ids");
  int rc;
  if (is_teacher) {
    ds_ckpt_close(r);
    rc = inspect_teacher(path);
  } else {
    rc = inspect_checkpoint(r, path);
    ds_ckpt_close(r);
  }
  return rc;
}
