"""Decodes the ONNX model that tests/quant/export/test_protobuf.c writes (usage: check_protobuf.py MODEL.onnx)
with the onnx package, checks every field the encoder wrote, and runs it in onnxruntime."""
import sys

import numpy as np
import onnx
import onnx.numpy_helper as nh
import onnxruntime as ort


def main(path):
    m = onnx.load(path)
    onnx.checker.check_model(m, full_check=True)
    assert m.ir_version == 10 and m.producer_name == "distill-test", (m.ir_version, m.producer_name)
    assert [(o.domain, o.version) for o in m.opset_import] == [("", 21)]
    assert {p.key: p.value for p in m.metadata_props} == {"check": "protobuf"}
    g = m.graph
    assert g.name == "pb_check"
    assert [n.op_type for n in g.node] == ["DequantizeLinear", "Add"]
    assert [a.name for a in g.node[0].attribute] == ["axis"] and g.node[0].attribute[0].i == 0
    inits = {t.name: nh.to_array(t) for t in g.initializer}
    want = (np.arange(300) % 255 - 127).astype(np.int8)
    assert inits["w_q"].dtype == np.int8 and np.array_equal(inits["w_q"], want)
    assert inits["w_scale"].shape == () and inits["w_scale"] == np.float32(0.5)
    dims = [d.dim_value for d in g.input[0].type.tensor_type.shape.dim]
    assert g.input[0].name == "x" and dims == [1, 300], dims
    x = np.linspace(-1, 1, 300, dtype=np.float32).reshape(1, 300)
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    (y,) = sess.run(None, {"x": x})
    assert np.array_equal(y, x + 0.5 * want.astype(np.float32)), "onnxruntime result differs"
    print("protobuf: onnx decodes every field; onnxruntime output exact")


if __name__ == "__main__":
    main(sys.argv[1])
