/* The parameter count matches PyTorch's nn.Embedding / nn.Linear / nn.LayerNorm layout: the SPEC-sized
 * student of the project's first issue (vocab 4000, L 32, dim 128, 2 layers, 4 heads, ffn 512, out_dim 64,
 * 10 classes) has exactly 921,802 parameters, and pruned layers shrink it by exactly their units. */
#include "../check.h"
#include "model/model.h"

int main(void) {
  ds_student_cfg cfg = {.dim = 128, .layers = 2, .heads = 4, .ffn_dim = 512, .max_len = 32,
                        .pooling = DS_POOL_MEAN, .out_dim = 64};
  ds_student_shape s;
  ds_err err;
  CHECK(ds_student_shape_from_config(&s, &cfg, 4000, 384, 10, &err) == 0);
  ds_param_table t;
  ds_param_table_build(&t, &s);
  CHECK_MSG(t.n_params == 921802, "got %zu", t.n_params);
  /* out_dim = teacher takes the teacher's embedding size. */
  cfg.out_dim = DS_OUT_DIM_TEACHER;
  CHECK(ds_student_shape_from_config(&s, &cfg, 4000, 384, 10, &err) == 0);
  CHECK(s.out_dim == 384);
  /* One head (3*32 rows of qkv + their biases, 32 columns of the output projection) and 100 FFN neurons
   * (a row of fc1 with its bias and a column of fc2) removed from layer 1. */
  cfg.out_dim = 64;
  CHECK(ds_student_shape_from_config(&s, &cfg, 4000, 384, 10, &err) == 0);
  s.heads[1] = 3;
  s.ffn[1] = 412;
  ds_param_table_build(&t, &s);
  CHECK(t.n_params == 921802 - (3 * 32 * 128 + 3 * 32 + 128 * 32) - 100 * (128 + 1 + 128));
  /* heads must divide dim */
  cfg.heads = 3;
  CHECK(ds_student_shape_from_config(&s, &cfg, 4000, 384, 10, &err) == -1);
  return check_report();
}
