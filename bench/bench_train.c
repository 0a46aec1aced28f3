/* bench_train: times distill's training step through the library, with no process start-up or file I/O in
 * the timed loop: the same work as train/trainer.c's step (forward, loss, zero-grad, backward, gradient
 * clipping, AdamW) on batches already in memory.
 *
 *   bench_train --teacher T.h5 [--dim 128] [--layers 2] [--heads 4] [--ffn 4*dim] [--batch 64] [--len 32]
 *               [--threads 2] [--steps 20] [--warmup 3] [--phases]
 *
 * The student is SPEC.md's with out_dim = teacher and a classifier over the teacher's classes; losses and
 * optimizer use the SPEC defaults (kd 1.0 at T 2, cosine embedding 1.0, clip 1.0, AdamW lr 1e-3 wd 0.01).
 * Prints one `key value` line each: samples_per_sec (median step), step_ms, gflop_per_step (matmul FLOPs
 * of forward + backward as executed, 3x the forward's, padding dropped), gflops, token_rows_frac (token rows
 * run over B*T), maxrss_kb, cpu_ms (CPU time per step, all threads) and
 * cpu_per_wall (near the thread count when no other process took the cores), and with --phases the median
 * milliseconds of forward, loss, backward and optimizer. */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "kernels/kernels.h"
#include "data/data.h"
#include "model/config/config.h"
#include "model/model.h"
#include "train/losses.h"
#include "train/optimizer.h"

typedef struct {
  const char *teacher;
  int dim, layers, heads, ffn, batch, len, threads, steps, warmup, phases;
} bench_opts;

static int cmp_double(const void *a, const void *b) {
  const double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double median(double *x, int n) {
  qsort(x, n, sizeof(double), cmp_double);
  return n % 2 ? x[n / 2] : 0.5 * (x[n / 2 - 1] + x[n / 2]);
}

static double cpu_seconds(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + 1e-6 * (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

static int parse_opts(bench_opts *o, int argc, char **argv) {
  *o = (bench_opts){.dim = 128, .layers = 2, .heads = 4, .ffn = 0, .batch = 64, .len = 32, .threads = 2,
                    .steps = 20, .warmup = 3};
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    int *dst = NULL;
    if (strcmp(a, "--phases") == 0) { o->phases = 1; continue; }
    if (strcmp(a, "--teacher") == 0 && v) { o->teacher = v; i++; continue; }
    if (strcmp(a, "--dim") == 0) dst = &o->dim;
    else if (strcmp(a, "--layers") == 0) dst = &o->layers;
    else if (strcmp(a, "--heads") == 0) dst = &o->heads;
    else if (strcmp(a, "--ffn") == 0) dst = &o->ffn;
    else if (strcmp(a, "--batch") == 0) dst = &o->batch;
    else if (strcmp(a, "--len") == 0) dst = &o->len;
    else if (strcmp(a, "--threads") == 0) dst = &o->threads;
    else if (strcmp(a, "--steps") == 0) dst = &o->steps;
    else if (strcmp(a, "--warmup") == 0) dst = &o->warmup;
    if (!dst || !v) return -1;
    *dst = atoi(v);
    i++;
  }
  if (!o->ffn) o->ffn = 4 * o->dim;
  if (!o->teacher || o->dim < 1 || o->heads < 1 || o->dim % o->heads || o->layers < 1 ||
      o->layers > DS_MAX_LAYERS || o->batch < 1 || o->len < 1 || o->threads < 1 || o->steps < 1 || o->warmup < 0)
    return -1;
  return 0;
}

/* Matmul FLOPs of the last forward pass, as executed: every linear layer on the token rows it ran on (padding
 * is dropped, kernels/kernels.h) and both attention products on each sequence's own length. */
static double forward_flops(const ds_student *m, int B) {
  const ds_student_shape *s = &m->shape;
  const double N = m->pack.n_rows, C = s->dim, E = ds_student_emb_dim(s), S = (double)ds_token_pack_scores(&m->pack);
  double f = 0.0;
  for (int l = 0; l < s->n_layers; l++) {
    const double HD = (double)s->heads[l] * s->head_dim, F = s->ffn[l];
    f += 2.0 * N * (C * 3 * HD + HD * C + 2 * C * F);
    f += 2.0 * 2.0 * s->heads[l] * S * s->head_dim;
  }
  if (s->out_dim > 0) f += 2.0 * B * C * E;
  f += 2.0 * B * E * s->n_classes;
  return f;
}

int main(int argc, char **argv) {
  bench_opts o;
  if (parse_opts(&o, argc, argv)) {
    fprintf(stderr, "usage: bench_train --teacher T.h5 [--dim C] [--layers N] [--heads H] [--ffn F] [--batch B]\n"
                    "                   [--len L] [--threads P] [--steps S] [--warmup W] [--phases]\n");
    return 1;
  }
  ds_threads_set(o.threads);
  ds_err err;
  ds_teacher *teacher = NULL;
  if (ds_teacher_open(&teacher, o.teacher, &err)) {
    fprintf(stderr, "bench_train: %s\n", err.msg);
    return 1;
  }
  const ds_teacher_info *info = ds_teacher_get_info(teacher);
  /* A handful of distinct batches, read once: the loop below touches memory only. */
  const int n_batches = 4;
  if (info->n_rows < (long)n_batches * o.batch || info->seq_len < o.len) {
    fprintf(stderr, "bench_train: %s needs >= %d rows of >= %d tokens\n", o.teacher, n_batches * o.batch, o.len);
    return 1;
  }
  ds_batch batches[4];
  memset(batches, 0, sizeof batches);
  for (int i = 0; i < n_batches; i++)
    if (ds_batch_alloc(&batches[i], info, o.batch, o.len, &err) ||
        ds_teacher_read(teacher, (long)i * o.batch, o.batch, o.len, &batches[i], &err)) {
      fprintf(stderr, "bench_train: %s\n", err.msg);
      return 1;
    }

  ds_config cfg;
  ds_config_default(&cfg);
  cfg.student = (ds_student_cfg){.arch = "transformer", .dim = o.dim, .layers = o.layers, .heads = o.heads,
                                 .ffn_dim = o.ffn, .max_len = o.len, .pooling = DS_POOL_MEAN,
                                 .out_dim = DS_OUT_DIM_TEACHER};
  ds_student_shape shape;
  ds_student m;
  if (ds_student_shape_from_config(&shape, &cfg.student, info->vocab_size, info->emb_dim, info->n_classes, &err) ||
      ds_student_init(&m, &shape, &err)) {
    fprintf(stderr, "bench_train: %s\n", err.msg);
    return 1;
  }
  ds_student_init_params(&m, 1);
  const size_t P = m.table.n_params;
  const int K = shape.n_classes, E = ds_student_emb_dim(&shape);
  float *adam_m = calloc(P, sizeof(float)), *adam_v = calloc(P, sizeof(float));
  float *d_logits = malloc(sizeof(float) * (size_t)o.batch * (K > 0 ? K : 1));
  float *d_emb = malloc(sizeof(float) * (size_t)o.batch * E);
  double *t_step = malloc(sizeof(double) * o.steps), *t_ph[4];
  for (int k = 0; k < 4; k++) t_ph[k] = malloc(sizeof(double) * o.steps);
  if (!adam_m || !adam_v || !d_logits || !d_emb || !t_step || !t_ph[0] || !t_ph[1] || !t_ph[2] || !t_ph[3]) {
    fprintf(stderr, "bench_train: out of memory\n");
    return 1;
  }
  ds_adamw_params hp = ds_adamw_default_params();
  hp.lr = cfg.train.lr;
  hp.weight_decay = cfg.train.weight_decay;
  double loss = 0.0, cpu0 = 0.0, wall0 = 0.0, flops_sum = 0.0, rows_sum = 0.0;
  for (int it = 0; it < o.warmup + o.steps; it++) {
    const ds_batch *b = &batches[it % n_batches];
    if (it == o.warmup) {
      cpu0 = cpu_seconds();
      wall0 = omp_get_wtime();
    }
    const double t0 = omp_get_wtime();
    if (ds_student_forward(&m, b->ids, b->mask, o.batch, b->len, &err)) {
      fprintf(stderr, "bench_train: %s\n", err.msg);
      return 1;
    }
    const double t1 = omp_get_wtime();
    loss = ds_loss_compute(&cfg.loss, o.batch, K, E, m.a.logits, b->logits, b->labels, m.a.emb,
                           info->emb_dim == E ? b->emb : NULL, d_logits, d_emb, NULL);
    const double t2 = omp_get_wtime();
    ds_student_zero_grad(&m);
    ds_student_backward(&m, d_emb, K > 0 ? d_logits : NULL);
    const double t3 = omp_get_wtime();
    float clip_scale; /* as train/trainer.c: clipping folded into the AdamW pass */
    ds_grad_clip_scale(m.grads, P, cfg.train.grad_clip, &clip_scale);
    ds_adamw_step_scaled(m.params, m.grads, adam_m, adam_v, P, &hp, it + 1, clip_scale);
    const double t4 = omp_get_wtime();
    if (it >= o.warmup) {
      const int s = it - o.warmup;
      flops_sum += 3.0 * forward_flops(&m, o.batch); /* backward: 2x the forward's matmuls */
      rows_sum += m.pack.n_rows;
      t_step[s] = t4 - t0;
      t_ph[0][s] = t1 - t0;
      t_ph[1][s] = t2 - t1;
      t_ph[2][s] = t3 - t2;
      t_ph[3][s] = t4 - t3;
    }
  }
  const double cpu = (cpu_seconds() - cpu0) / o.steps, wall = (omp_get_wtime() - wall0) / o.steps;
  const double step = median(t_step, o.steps), flops = flops_sum / o.steps;
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  printf("params %zu\n", P);
  printf("loss %.6f\n", loss);
  printf("samples_per_sec %.1f\n", o.batch / step);
  printf("step_ms %.3f\n", 1e3 * step);
  printf("gflop_per_step %.4f\n", flops * 1e-9);
  printf("gflops %.2f\n", flops / step * 1e-9);
  printf("token_rows_frac %.3f\n", rows_sum / o.steps / ((double)o.batch * o.len)); /* rows run / B*T */
  printf("maxrss_kb %ld\n", ru.ru_maxrss);
  /* CPU seconds per step over wall seconds per step: about the thread count when the cores were ours. */
  printf("cpu_ms %.3f\n", 1e3 * cpu);
  printf("cpu_per_wall %.2f\n", cpu / wall);
  if (o.phases) {
    static const char *names[4] = {"forward", "loss", "backward", "optimizer"};
    for (int k = 0; k < 4; k++) printf("%s_ms %.3f\n", names[k], 1e3 * median(t_ph[k], o.steps));
  }
  for (int k = 0; k < 4; k++) free(t_ph[k]);
  free(t_step);
  free(adam_m);
  free(adam_v);
  free(d_logits);
  free(d_emb);
  ds_student_free(&m);
  for (int i = 0; i < n_batches; i++) ds_batch_free(&batches[i]);
  ds_teacher_close(teacher);
  return 0;
}
