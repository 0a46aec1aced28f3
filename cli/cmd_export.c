/* `distill export --checkpoint C --format native|onnx|tflite|encodings --out FILE [--target T]`: the int8
 * model of a QAT checkpoint (or of a native model file) written in one of the exported formats, with the
 * options a deployment toolchain needs. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "quant/export/export.h"
#include "train/train.h"

static const char *export_help =
    "usage: distill export --checkpoint C --format native|onnx|tflite|encodings --out FILE [--target T]\n"
    "\n"
    "Builds the integer-only int8 model of C (a checkpoint trained with [quant] enabled = true, or a native\n"
    "model file) and writes it as:\n"
    "  native     distill's own versioned file (docs/int8_format.md), run by `distill embed` and `eval --int8`\n"
    "  onnx       ONNX with QuantizeLinear/DequantizeLinear pairs, static shapes\n"
    "  tflite     full-integer int8 TFLite\n"
    "  encodings  QNN quantization-overrides JSON\n"
    /* export formats and options (docs/deploy.md) */
    "  onnx-float the float ONNX graph the encodings describe (give both to qnn-onnx-converter)\n"
    "\n"
    "--target picks the options a toolchain needs (docs/deploy.md):\n"
    "  generic    (default) int8 QDQ ONNX; TFLite ids int16 with quantization (int32 above 32767 ids)\n"
    "  qnn-htp    Qualcomm HTP: ONNX/encodings as --uint8; TFLite ids int32 (LiteRT's Qualcomm plugin)\n"
    "  ethos-u    Arm Ethos-U through Vela: TFLite only, ids int16 with quantization\n"
    "  openvino   Intel NPU: int8 QDQ ONNX; TFLite ids int16 without quantization\n"
    "\n"
    "ONNX and encodings options:\n"
    "  --uint8    activations as uint8/uint16 (Qualcomm HTP)\n"
    "  --w8a16    16-bit activations into and out of LayerNorm and Softmax\n";

typedef enum { TARGET_GENERIC, TARGET_QNN_HTP, TARGET_ETHOS_U, TARGET_OPENVINO } export_target;

static int parse_target(const char *s, export_target *t) {
  static const char *const names[] = {"generic", "qnn-htp", "ethos-u", "openvino"};
  for (int i = 0; i < 4; i++)
    if (strcmp(s, names[i]) == 0) {
      *t = (export_target)i;
      return 0;
    }
  return -1;
}

/* The target's options for the chosen format; refuses formats the target's toolchain does not read. */
static int apply_target(export_target t, const char *format, int native, int tflite, ds_onnx_export_params *op,
                        ds_tflite_export_params *tp) {
  if (t == TARGET_GENERIC) return 0;
  if (native) return cli_error("export: --target applies to onnx, onnx-float, encodings and tflite, not native");
  if (t == TARGET_ETHOS_U && !tflite)
    return cli_error("export: target ethos-u takes --format tflite (Vela compiles TFLite), not %s", format);
  if (t == TARGET_OPENVINO && !tflite && strcmp(format, "onnx") != 0)
    return cli_error("export: target openvino takes --format onnx or tflite, not %s", format);
  if (t == TARGET_QNN_HTP) {
    op->uint8_acts = 1; /* the HTP runs uint8/uint16 QDQ; signed int16 MatMuls are refused */
    tp->ids = DS_TFL_IDS_INT32; /* the plugin keeps int16 GATHER indices on the CPU */
  } else if (t == TARGET_OPENVINO) {
    tp->ids = DS_TFL_IDS_INT16_PLAIN; /* OpenVINO's TFLite reader refuses quantized indices */
  }
  return 0;
}

int cli_export(int argc, char **argv) {
  const char *ckpt = NULL, *format = NULL, *out = NULL;
  ds_onnx_export_params op = ds_onnx_export_default_params();
  ds_tflite_export_params tp = ds_tflite_export_default_params();
  export_target target = TARGET_GENERIC;
  for (int i = 1; i < argc; i++) {
    if (cli_is_help(argv[i])) {
      fputs(export_help, stdout);
      return 0;
    } else if (strcmp(argv[i], "--checkpoint") == 0 && i + 1 < argc) {
      ckpt = argv[++i];
    } else if (strcmp(argv[i], "--format") == 0 && i + 1 < argc) {
      format = argv[++i];
    } else if (strcmp(argv[i], "--out") == 0 && i + 1 < argc) {
      out = argv[++i];
    } else if (strcmp(argv[i], "--target") == 0 && i + 1 < argc) {
      if (parse_target(argv[++i], &target))
        return cli_error("export: unknown target '%s' (generic, qnn-htp, ethos-u or openvino)", argv[i]);
    } else if (strcmp(argv[i], "--uint8") == 0) {
      op.uint8_acts = 1;
    } else if (strcmp(argv[i], "--w8a16") == 0) {
      op.a16_norm = 1;
    } else {
      return cli_error("export: unknown or incomplete option '%s' (see distill export --help)", argv[i]);
    }
  }
  if (!ckpt || !format || !out) return cli_error("export needs --checkpoint C, --format F and --out FILE");
  const int native = strcmp(format, "native") == 0, onnx = strcmp(format, "onnx") == 0;
  const int tflite = strcmp(format, "tflite") == 0, encodings = strcmp(format, "encodings") == 0;
  op.float_graph = strcmp(format, "onnx-float") == 0;
  if (!native && !onnx && !tflite && !encodings && !op.float_graph)
    return cli_error("export: unknown format '%s' (native, onnx, onnx-float, tflite or encodings)", format);
  if (apply_target(target, format, native, tflite, &op, &tp)) return 1;
  ds_err err = {{0}};
  ds_i8_model im;
  if (ds_int8_model_open(ckpt, &im, &err)) return cli_error("%s", err.msg);
  int rc = native ? ds_i8_model_save(&im, out, &err)
           : onnx || op.float_graph ? ds_onnx_export(&im, &op, out, &err)
           : tflite ? ds_tflite_export_with(&im, &tp, out, &err)
                    : ds_encodings_export(&im, &op, out, &err);
  ds_i8_model_free(&im);
  if (rc) return cli_error("%s", err.msg);
  return 0;
}
