"""Reference vectors for the int8 kernels that TFLite also has, from LiteRT itself (usage:
make_tflite_op_vectors.py OUT.txt). Each case is a one-operator TFLite model built here with the TFLite schema
bundled with ai-edge-litert (not with distill's exporter), run once in LiteRT's interpreter on random int8
inputs; its inputs, quantization parameters and LiteRT's outputs are written as text that
tests/quant/int8/test_int8_tflite_exact.c reads, so the C test needs no Python. Operators: ADD (ds_i8_add),
FULLY_CONNECTED with per-channel int8 weights and int32 bias (ds_i8_fc), BATCH_MATMUL of two int8 activations
(ds_i8_matmul). Scales are drawn log-uniformly, zero points uniformly, output scales so that about a tenth of
the outputs saturate; every fourth FULLY_CONNECTED and BATCH_MATMUL case is built to end on rounding ties.
Regenerate with: python3 tests/quant/int8/make_tflite_op_vectors.py tests/quant/int8/fixtures/tflite_ops.txt"""
import sys

import flatbuffers
import numpy as np
from ai_edge_litert import schema_py_generated as tfl
from ai_edge_litert.interpreter import Interpreter, OpResolverType

rng = np.random.default_rng(14)


def scale(lo=0.002, hi=0.5):
    return float(np.float32(np.exp(rng.uniform(np.log(lo), np.log(hi)))))


def zp():
    return int(rng.integers(-128, 128))


def i8(shape):
    return rng.integers(-128, 128, size=shape, dtype=np.int8)


class Graph:
    def __init__(self):
        self.tensors, self.buffers = [], [tfl.BufferT()]  # buffer 0: no data

    def tensor(self, name, shape, ttype, scales, zps, data=None, qdim=0):
        t = tfl.TensorT()
        t.name, t.shape, t.type = name, np.array(shape, np.int32), ttype
        q = tfl.QuantizationParametersT()
        q.scale, q.zeroPoint, q.quantizedDimension = list(scales), [int(z) for z in zps], qdim
        t.quantization = q
        t.buffer = 0
        if data is not None:
            b = tfl.BufferT()
            b.data = np.frombuffer(np.ascontiguousarray(data).tobytes(), np.uint8)
            self.buffers.append(b)
            t.buffer = len(self.buffers) - 1
        self.tensors.append(t)
        return len(self.tensors) - 1

    def model(self, code, inputs, outputs, op_inputs, options_type, options):
        oc = tfl.OperatorCodeT()
        oc.builtinCode, oc.deprecatedBuiltinCode, oc.version = code, min(code, 127), 1
        op = tfl.OperatorT()
        op.opcodeIndex, op.inputs, op.outputs = 0, op_inputs, outputs
        op.builtinOptionsType, op.builtinOptions = options_type, options
        sg = tfl.SubGraphT()
        sg.tensors, sg.inputs, sg.outputs, sg.operators = self.tensors, inputs, outputs, [op]
        m = tfl.ModelT()
        m.version, m.operatorCodes, m.subgraphs, m.buffers = 3, [oc], [sg], self.buffers
        m.description = "distill reference op"
        b = flatbuffers.Builder(1024)
        b.Finish(m.Pack(b), file_identifier=b"TFL3")
        return bytes(b.Output())


def run(model, feeds):
    # TFLite's own builtin kernels: the default XNNPACK delegate has its own quantized arithmetic.
    it = Interpreter(model_content=model, experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    it.allocate_tensors()
    for d, x in zip(it.get_input_details(), feeds):
        it.set_tensor(d["index"], x)
    it.invoke()
    return it.get_tensor(it.get_output_details()[0]["index"])


def ints(a):
    return " ".join(str(int(v)) for v in np.asarray(a).ravel())


def floats(a):
    return " ".join("%.9g" % float(v) for v in np.asarray(a, np.float32).ravel())


def case_add(out):
    n = 256
    s1, s2 = scale(), scale()
    so = float(np.float32((s1 + s2) * rng.uniform(0.3, 1.5)))
    z1, z2, zo = zp(), zp(), zp()
    g = Graph()
    a = g.tensor("x1", [1, n], tfl.TensorType.INT8, [s1], [z1])
    b = g.tensor("x2", [1, n], tfl.TensorType.INT8, [s2], [z2])
    y = g.tensor("y", [1, n], tfl.TensorType.INT8, [so], [zo])
    opt = tfl.AddOptionsT()
    model = g.model(tfl.BuiltinOperator.ADD, [a, b], [y], [a, b], tfl.BuiltinOptions.AddOptions, opt)
    x1, x2 = i8((1, n)), i8((1, n))
    res = run(model, [x1, x2])
    out.write("add %d %s %d %s %d %s %d\n" % (n, floats([s1]), z1, floats([s2]), z2, floats([so]), zo))
    out.write("%s\n%s\n%s\n" % (ints(x1), ints(x2), ints(res)))


def small_around(z, r, shape):
    return np.clip(z + rng.integers(-r, r + 1, size=shape), -128, 127).astype(np.int8)


def case_fc(out, ties=False):
    """ties: small sums and requantization multipliers in [0.25, 0.5), so the final rounding shift is one bit
    and about half the negative outputs end on an exact tie (the rounding rule the C test pins down)."""
    batch, nin, nout = int(rng.integers(1, 5)), int(rng.integers(4, 65)), int(rng.integers(1, 17))
    s_in, zi, zo = scale(0.01, 0.2), zp(), zp()
    if ties:
        nin, zo = 4, int(rng.integers(-20, 21))
        s_w = np.full(nout, scale(0.001, 0.05), np.float32)
        w = rng.integers(-12, 13, size=(nout, nin), dtype=np.int8)
        bias = rng.integers(-50, 51, size=nout).astype(np.int32)
        x = small_around(zi, 8, (batch, nin))
        so = float(np.float32(s_in * s_w[0] / rng.uniform(0.26, 0.49)))
    else:
        s_w = np.array([scale(0.001, 0.05) for _ in range(nout)], np.float32)
        w = rng.integers(-127, 128, size=(nout, nin), dtype=np.int8)
        bias = rng.integers(-(1 << 12), 1 << 12, size=nout).astype(np.int32)
        x = i8((batch, nin))
        # An output scale that puts most outputs inside the int8 range, a few outside (saturation).
        real = ((x.astype(np.int64) - zi) @ w.T.astype(np.int64) + bias) * (s_in * s_w.astype(np.float64))
        so = float(np.float32(np.quantile(np.abs(real), 0.9) / 100 * rng.uniform(0.5, 1.5) + 1e-9))
    g = Graph()
    x_t = g.tensor("x", [batch, nin], tfl.TensorType.INT8, [s_in], [zi])
    w_t = g.tensor("w", [nout, nin], tfl.TensorType.INT8, s_w, [0] * nout, w, qdim=0)
    b_t = g.tensor("b", [nout], tfl.TensorType.INT32, [float(np.float32(s_in * s)) for s in s_w], [0] * nout, bias)
    y_t = g.tensor("y", [batch, nout], tfl.TensorType.INT8, [so], [zo])
    opt = tfl.FullyConnectedOptionsT()
    model = g.model(tfl.BuiltinOperator.FULLY_CONNECTED, [x_t], [y_t], [x_t, w_t, b_t],
                    tfl.BuiltinOptions.FullyConnectedOptions, opt)
    res = run(model, [x])
    out.write("fc %d %d %d %s %d %s %d\n" % (batch, nin, nout, floats([s_in]), zi, floats([so]), zo))
    out.write("%s\n%s\n%s\n%s\n%s\n" % (floats(s_w), ints(w), ints(bias), ints(x), ints(res)))


def case_matmul(out, ties=False):
    m, k, n = int(rng.integers(1, 9)), int(rng.integers(2, 33)), int(rng.integers(1, 17))
    sa, sb, za, zb, zo = scale(0.01, 0.2), scale(0.01, 0.2), zp(), zp(), zp()
    if ties:  # as in case_fc
        k, zo = 4, int(rng.integers(-20, 21))
        a, b = small_around(za, 8, (1, m, k)), small_around(zb, 12, (1, k, n))
        so = float(np.float32(sa * sb / rng.uniform(0.26, 0.49)))
    else:
        a, b = i8((1, m, k)), i8((1, k, n))
        real = ((a[0].astype(np.int64) - za) @ (b[0].astype(np.int64) - zb)) * (float(sa) * float(sb))
        so = float(np.float32(np.quantile(np.abs(real), 0.9) / 100 * rng.uniform(0.5, 1.5) + 1e-9))
    g = Graph()
    a_t = g.tensor("a", [1, m, k], tfl.TensorType.INT8, [sa], [za])
    b_t = g.tensor("b", [1, k, n], tfl.TensorType.INT8, [sb], [zb])
    y_t = g.tensor("y", [1, m, n], tfl.TensorType.INT8, [so], [zo])
    opt = tfl.BatchMatMulOptionsT()
    model = g.model(tfl.BuiltinOperator.BATCH_MATMUL, [a_t, b_t], [y_t], [a_t, b_t],
                    tfl.BuiltinOptions.BatchMatMulOptions, opt)
    res = run(model, [a, b])
    out.write("matmul %d %d %d %s %d %s %d %s %d\n" % (m, k, n, floats([sa]), za, floats([sb]), zb, floats([so]), zo))
    out.write("%s\n%s\n%s\n" % (ints(a), ints(b), ints(res)))


def main():
    with open(sys.argv[1], "w") as out:
        out.write("# int8 reference vectors from LiteRT (tests/quant/int8/make_tflite_op_vectors.py); read by\n"
                  "# tests/quant/int8/test_int8_tflite_exact.c. Do not edit: regenerate.\n")
        for _ in range(30):
            case_add(out)
        for i in range(40):
            case_fc(out, ties=i % 4 == 3)
        for i in range(40):
            case_matmul(out, ties=i % 4 == 3)


if __name__ == "__main__":
    main()
