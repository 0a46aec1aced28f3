"""Reads a .tflite file through the TFLite FlatBuffers schema bundled with ai-edge-litert, into plain
Python: identifier, version, operators (builtin names, inputs, outputs) and tensors (name, type, shape,
quantization). Used by the export checks; independent of distill's own builder."""
from ai_edge_litert import schema_py_generated as tfl

_OPS = {v: k for k, v in vars(tfl.BuiltinOperator).items() if not k.startswith("_")}
_TYPES = {v: k for k, v in vars(tfl.TensorType).items() if not k.startswith("_")}


def read(path):
    data = open(path, "rb").read()
    assert data[4:8] == b"TFL3", f"{path}: file identifier {data[4:8]!r}, want b'TFL3'"
    assert tfl.Model.ModelBufferHasIdentifier(data, 0), path
    m = tfl.Model.GetRootAs(data, 0)
    codes = []
    for i in range(m.OperatorCodesLength()):
        c = m.OperatorCodes(i)
        codes.append(_OPS[max(c.BuiltinCode(), c.DeprecatedBuiltinCode())])
    assert m.SubgraphsLength() == 1, "one subgraph expected"
    g = m.Subgraphs(0)
    tensors = []
    for i in range(g.TensorsLength()):
        t = g.Tensors(i)
        q = t.Quantization()
        buf = m.Buffers(t.Buffer())
        tensors.append({
            "name": t.Name().decode(),
            "type": _TYPES[t.Type()],
            "shape": [int(x) for x in t.ShapeAsNumpy()] if t.ShapeLength() else [],
            "scale": [float(x) for x in q.ScaleAsNumpy()] if q and q.ScaleLength() else [],
            "zero_point": [int(x) for x in q.ZeroPointAsNumpy()] if q and q.ZeroPointLength() else [],
            "quantized_dimension": q.QuantizedDimension() if q else 0,
            "const_bytes": buf.DataLength() if buf else 0,
        })
    ops = []
    for i in range(g.OperatorsLength()):
        o = g.Operators(i)
        ops.append({"op": codes[o.OpcodeIndex()], "inputs": [int(x) for x in o.InputsAsNumpy()],
                    "outputs": [int(x) for x in o.OutputsAsNumpy()], "options_type": o.BuiltinOptionsType()})
    return {"version": m.Version(), "description": (m.Description() or b"").decode(), "tensors": tensors,
            "ops": ops, "inputs": [int(x) for x in g.InputsAsNumpy()],
            "outputs": [int(x) for x in g.OutputsAsNumpy()]}
