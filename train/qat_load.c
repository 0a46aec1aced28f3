/* Opening an int8 model from a native file or a QAT checkpoint (ds_int8_model_open, train/train.h). */
#include <string.h>

#include "train/checkpoint_state.h"
#include "train/qat_train.h"

int ds_int8_model_open(const char *path, ds_i8_model *im, ds_err *err) {
  if (ds_i8_file_is_native(path)) return ds_i8_model_load(im, path, err);
  ds_loaded_model lm;
  if (ds_model_load(&lm, path, err)) return -1;
  int rc = -1;
  if (!lm.model.qat) {
    ds_fail(err, "%s is a float checkpoint without quantization state; train with [quant] enabled = true "
                 "(or --set quant.enabled=true) to get an int8 model", path);
  } else {
    int pad_id = 0; /* the tokenizer's [PAD] when the vocabulary has one, as tokenizer/tokenizer.h does */
    for (int i = 0; i < lm.n_vocab; i++)
      if (strcmp(lm.vocab[i], "[PAD]") == 0) {
        pad_id = i;
        break;
      }
    rc = ds_qat_build_int8(&lm.model, lm.vocab, lm.n_vocab, pad_id, im, err);
    if (rc) ds_fail_prefix(err, "%s", path);
  }
  ds_loaded_model_free(&lm);
  return rc;
}
