/* export/: an int8 model to deployable files (ONNX, TFLite, QNN encodings) and back, with their encoders. */
#ifndef DS_EXPORT_EXPORT_H
#define DS_EXPORT_EXPORT_H

#include "export/export_common.h" /* ds_export_describe_file: what a written file holds */
#include "export/export_encodings.h"
#include "export/export_onnx.h"
#include "export/export_tflite.h"

#endif
