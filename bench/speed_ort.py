#!/usr/bin/env python3
"""onnxruntime side of bench/speed.sh: batch-1 latency of `distill export --format onnx` on the rows bench_int8
dumped (--dump), and how closely its embeddings match the int8 runtime's.

  python3 bench/speed_ort.py MODEL.onnx ROWS.bin [--threads 1] [--runs 2000]

Prints `key value` lines: ort_latency_us (median call), ort_per_sec, ort_int8_cos (mean cosine with the int8
runtime's embedding of the same row), maxrss_kb.
"""
import argparse
import resource
import statistics
import time

import numpy as np
import onnxruntime as ort


def read_rows(path):
    raw = open(path, "rb").read()
    T, E = np.frombuffer(raw[:8], dtype=np.int32)
    rec = 4 * T + T + 4 * E
    rows = []
    for off in range(8, len(raw), rec):
        ids = np.frombuffer(raw[off:off + 4 * T], dtype=np.int32)
        mask = np.frombuffer(raw[off + 4 * T:off + 5 * T], dtype=np.uint8)
        emb = np.frombuffer(raw[off + 5 * T:off + rec], dtype=np.float32)
        rows.append((ids.reshape(1, T), mask.astype(np.int8).reshape(1, T), emb))
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model")
    ap.add_argument("rows")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--runs", type=int, default=2000)
    a = ap.parse_args()
    so = ort.SessionOptions()
    so.intra_op_num_threads = a.threads
    so.inter_op_num_threads = 1
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    sess = ort.InferenceSession(a.model, so, providers=["CPUExecutionProvider"])
    rows = read_rows(a.rows)
    cos = []
    for ids, mask, e8 in rows:  # warm-up and agreement
        emb = sess.run(["emb"], {"input_ids": ids, "attention_mask": mask})[0].ravel()
        cos.append(float(emb @ e8) / (float(np.linalg.norm(emb) * np.linalg.norm(e8)) + 1e-30))
    times = []
    for i in range(a.runs):
        ids, mask, _ = rows[i % len(rows)]
        t0 = time.perf_counter()
        sess.run(["emb"], {"input_ids": ids, "attention_mask": mask})
        times.append(time.perf_counter() - t0)
    t = statistics.median(times)
    print("ort_latency_us %.1f" % (1e6 * t))
    print("ort_per_sec %.0f" % (1.0 / t))
    print("ort_int8_cos %.4f" % statistics.mean(cos))
    print("maxrss_kb %d" % resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


if __name__ == "__main__":
    main()
