#!/usr/bin/python3
"""The PyTorch side of bench/speed.sh: the SPEC.md student's training step, timed like bench/bench_train.c.

Same model (pre-LN encoder, masked multi-head attention, tanh-GELU FFN, final LN, mean pooling, projection
to the teacher's embedding size, classifier), same losses (T^2 KL at T = 2 on logits + (1 - cos) on
embeddings), gradient clipping at 1.0 and torch.optim.AdamW (lr 1e-3, wd 0.01), on the same first 4 batches
of the same teacher file held in memory. Idiomatic PyTorch: nn.Linear / nn.LayerNorm / nn.Embedding,
attention as batched matmuls (torch 1.13 has no fused scaled_dot_product_attention).

  /usr/bin/python3 bench/speed_torch.py --teacher T.h5 --dim 128 --layers 2 [--threads 2] [--steps 20]

Prints `key value` lines like bench_train: samples_per_sec (median step), step_ms, maxrss_kb, cpu_ms (CPU time
per step, all threads), cpu_per_wall.
"""
import argparse
import math
import resource
import statistics
import time

import h5py
import numpy as np
import torch
import torch.nn.functional as F


class Block(torch.nn.Module):
    def __init__(self, C, H, Fd):
        super().__init__()
        self.H = H
        self.ln1 = torch.nn.LayerNorm(C)
        self.qkv = torch.nn.Linear(C, 3 * C)
        self.out = torch.nn.Linear(C, C)
        self.ln2 = torch.nn.LayerNorm(C)
        self.fc1 = torch.nn.Linear(C, Fd)
        self.fc2 = torch.nn.Linear(Fd, C)

    def forward(self, x, key_bias):
        B, T, C = x.shape
        hd = C // self.H
        q, k, v = self.qkv(self.ln1(x)).view(B, T, 3, self.H, hd).permute(2, 0, 3, 1, 4)
        att = torch.softmax(q @ k.transpose(-1, -2) * (1.0 / math.sqrt(hd)) + key_bias, dim=-1)
        x = x + self.out((att @ v).transpose(1, 2).reshape(B, T, C))
        return x + self.fc2(F.gelu(self.fc1(self.ln2(x)), approximate="tanh"))


class Student(torch.nn.Module):
    def __init__(self, vocab, max_len, C, layers, H, Fd, E, K):
        super().__init__()
        self.tok = torch.nn.Embedding(vocab, C)
        self.pos = torch.nn.Embedding(max_len, C)
        self.blocks = torch.nn.ModuleList([Block(C, H, Fd) for _ in range(layers)])
        self.lnf = torch.nn.LayerNorm(C)
        self.proj = torch.nn.Linear(C, E)
        self.cls = torch.nn.Linear(E, K)
        for p in self.parameters():  # BERT-style init, as ds_student_init_params
            if p.dim() > 1:
                torch.nn.init.normal_(p, 0.0, 0.02)

    def forward(self, ids, mask):
        T = ids.shape[1]
        x = self.tok(ids) + self.pos.weight[:T]
        # Padding keys get -inf-like scores; every row has at least one real token in the teacher file.
        key_bias = ((~mask).float() * -1e9)[:, None, None, :]
        for blk in self.blocks:
            x = blk(x, key_bias)
        x = self.lnf(x)
        m = mask.float().unsqueeze(-1)
        emb = self.proj((x * m).sum(1) / m.sum(1).clamp(min=1.0))
        return emb, self.cls(emb)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--teacher", required=True)
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--ffn", type=int, default=0)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--len", type=int, default=32)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    with h5py.File(a.teacher, "r") as f:
        n = 4 * a.batch
        ids = torch.from_numpy(f["input_ids"][:n, :a.len].astype(np.int64))
        mask = torch.from_numpy(f["attention_mask"][:n, :a.len].astype(bool)) if "attention_mask" in f \
            else ids != int(f.attrs.get("pad_id", 0))
        t_logits = torch.from_numpy(f["logits"][:n].astype(np.float32))
        t_emb = torch.from_numpy(f["embeddings"][:n].astype(np.float32))
        vocab = int(f.attrs["vocab_size"]) if "vocab_size" in f.attrs else int(f["input_ids"][:].max()) + 1
    model = Student(vocab, a.len, a.dim, a.layers, a.heads, a.ffn or 4 * a.dim, t_emb.shape[1], t_logits.shape[1])
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)
    Temp = 2.0
    times = []
    cpu0 = wall0 = 0.0
    for it in range(a.warmup + a.steps):
        if it == a.warmup:
            cpu0, wall0 = time.process_time(), time.perf_counter()
        r = slice((it % 4) * a.batch, (it % 4 + 1) * a.batch)
        t0 = time.perf_counter()
        emb, logits = model(ids[r], mask[r])
        lt, ls = F.log_softmax(t_logits[r] / Temp, -1), F.log_softmax(logits / Temp, -1)
        loss = Temp * Temp * (lt.exp() * (lt - ls)).sum(-1).mean()
        loss = loss + (1.0 - F.cosine_similarity(emb, t_emb[r], dim=-1, eps=1e-8)).mean()
        opt.zero_grad(set_to_none=False)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if it >= a.warmup:
            times.append(time.perf_counter() - t0)
    cpu = (time.process_time() - cpu0) / a.steps
    wall = (time.perf_counter() - wall0) / a.steps
    step = statistics.median(times)
    print("params %d" % sum(p.numel() for p in model.parameters()))
    print("loss %.6f" % float(loss))
    print("samples_per_sec %.1f" % (a.batch / step))
    print("step_ms %.3f" % (1e3 * step))
    print("maxrss_kb %d" % resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    print("cpu_ms %.3f" % (1e3 * cpu))
    print("cpu_per_wall %.2f" % (cpu / wall))


if __name__ == "__main__":
    main()
