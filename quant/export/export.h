/* quant/export/: an int8 model to deployable files (ONNX, TFLite, QNN encodings) and back, with their encoders. */
#ifndef DS_QUANT_EXPORT_EXPORT_H
#define DS_QUANT_EXPORT_EXPORT_H

#include "quant/export/export_common.h" /* ds_export_describe_file: what a written file holds */
#include "quant/export/export_encodings.h"
#include "quant/export/export_onnx.h"
#include "quant/export/export_tflite.h"

#endif
