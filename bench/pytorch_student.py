#!/usr/bin/python3
"""The SPEC.md student trained in PyTorch: the reference side of bench/learning_parity.sh.

Reads a distill .cfg (best: a run's resolved config.cfg, so both sides see every key alike) and a
teacher file, and trains the same model the same way distill does:
  - architecture of model/student.c: token + position embeddings, pre-LN blocks (MHA with a key
    padding mask, tanh-GELU FFN), final LayerNorm, mean/CLS pooling, projection, classifier;
  - init of ds_student_init_params: N(0, 0.02) matrices and embeddings, zero biases, unit LN gains;
  - losses of train/losses.c: T^2 KL(teacher || student) at temperature T, CE on hard labels,
    1 - cos (norms clamped at 1e-8) or MSE on embeddings, in-batch similarity KL, config weights;
  - torch.optim.AdamW over all parameters (decoupled decay, as train/optimizer.c), clipping of the
    global gradient norm, warmup + cosine/linear/constant schedule of train/schedule.c;
  - the split of data/data.h (row r validates iff floor((r+1) f) > floor(r f)) and the
    validation metrics of train/evaluate.c (mean cosine, top-1 agreement of argmaxes, KL at T=1).
Only the order of training rows differs (a seeded per-epoch permutation), as does the init draw.

  /usr/bin/python3 bench/pytorch_student.py --config RUN/config.cfg --teacher T.h5 [--json OUT]
  /usr/bin/python3 bench/pytorch_student.py --config RUN/config.cfg --teacher T.h5 --eval-ckpt RUN/last.ckpt

--eval-ckpt loads distill's parameters into this model and only evaluates: its metrics must equal
distill's own validation numbers, which shows the two models compute the same function.
"""
import argparse
import configparser
import json
import math
import os
import sys
import time

# Threads that busy-wait between parallel regions collapse throughput (measured 10x) when another process
# wants a core; libgomp reads the policy once, at load, so it must be set before torch is imported.
os.environ.setdefault("OMP_WAIT_POLICY", "passive")

import h5py
import numpy as np
import torch
import torch.nn.functional as F

LN_EPS = 1e-5
NORM_EPS = 1e-8

# SPEC.md defaults for keys a short config leaves out.
DEFAULTS = {
    "student": dict(dim="128", layers="2", heads="4", ffn_dim="512", max_len="64", pooling="mean",
                    out_dim="teacher"),
    "train": dict(steps="2000", batch_size="64", lr="1e-3", warmup_steps="100", schedule="cosine",
                  weight_decay="0.01", grad_clip="1.0", seed="1", threads="0", val_fraction="0.1",
                  eval_every="200"),
    "loss": dict(kd_weight="1.0", temperature="2.0", ce_weight="0.0", emb_weight="1.0", emb_loss="cosine",
                 sim_weight="0.0", sim_temperature="0.05"),
}


def read_config(path):
    cp = configparser.ConfigParser(inline_comment_prefixes=("#", ";"), comment_prefixes=("#", ";"))
    cp.read_dict(DEFAULTS)
    with open(path) as f:
        cp.read_file(f)
    for sec in ("quant", "prune"):
        if cp.has_section(sec) and cp.get(sec, "enabled", fallback="false").strip() == "true":
            sys.exit("pytorch_student.py: %s: [%s] enabled = true is not modelled here" % (path, sec))
    if cp.get("student", "arch", fallback="transformer") != "transformer":
        sys.exit("pytorch_student.py: %s: only arch = transformer" % path)
    s, t, l = cp["student"], cp["train"], cp["loss"]
    cfg = dict(
        dim=int(s["dim"]), layers=int(s["layers"]), heads=int(s["heads"]), ffn_dim=int(s["ffn_dim"]),
        max_len=int(s["max_len"]), pooling=s["pooling"], out_dim=s["out_dim"],
        steps=int(t["steps"]), batch_size=int(t["batch_size"]), lr=float(t["lr"]),
        warmup_steps=int(t["warmup_steps"]), schedule=t["schedule"], weight_decay=float(t["weight_decay"]),
        grad_clip=float(t["grad_clip"]), seed=int(t["seed"]), threads=int(t["threads"]),
        val_fraction=float(t["val_fraction"]), eval_every=int(t["eval_every"]),
        kd_weight=float(l["kd_weight"]), temperature=float(l["temperature"]), ce_weight=float(l["ce_weight"]),
        emb_weight=float(l["emb_weight"]), emb_loss=l["emb_loss"], sim_weight=float(l["sim_weight"]),
        sim_temperature=float(l["sim_temperature"]))
    cfg["teacher_path"] = cp.get("teacher", "path", fallback="")
    return cfg


class Teacher:
    """The whole teacher file in memory (20,000 rows is a few MB), truncated to max_len tokens."""

    def __init__(self, path, max_len):
        with h5py.File(path, "r") as f:
            ids = f["input_ids"][:]
            self.n_rows, seq_len = ids.shape
            pad = int(f.attrs.get("pad_id", 0))
            self.vocab = int(f.attrs["vocab_size"]) if "vocab_size" in f.attrs else int(ids.max()) + 1
            mask = f["attention_mask"][:].astype(bool) if "attention_mask" in f else ids != pad
            L = min(seq_len, max_len)
            self.ids = torch.from_numpy(ids[:, :L].astype(np.int64))
            self.mask = torch.from_numpy(mask[:, :L].copy())
            self.logits = torch.from_numpy(f["logits"][:].astype(np.float32)) if "logits" in f else None
            self.emb = torch.from_numpy(f["embeddings"][:].astype(np.float32)) if "embeddings" in f else None
            self.labels = torch.from_numpy(f["labels"][:].astype(np.int64)) if "labels" in f else None
        self.n_classes = self.logits.shape[1] if self.logits is not None else 0
        self.emb_dim = self.emb.shape[1] if self.emb is not None else 0

    def split(self, f):
        """data/loader_split.h: row r is validation iff floor((r+1) f) > floor(r f), in doubles."""
        is_val = np.array([int((r + 1) * f) > int(r * f) for r in range(self.n_rows)])
        return np.nonzero(~is_val)[0], np.nonzero(is_val)[0]


def param_shapes(cfg, vocab, emb_dim, n_classes):
    """(name, shape) in the order of model/student_layout.c's size table (its names, too)."""
    C, F_, hd = cfg["dim"], cfg["ffn_dim"], cfg["dim"] // cfg["heads"]
    HD = cfg["heads"] * hd
    out_dim = cfg["out_dim"]
    D = (emb_dim if out_dim == "teacher" else int(out_dim)) or 0
    out = [("tok_emb.weight", (vocab, C)), ("pos_emb.weight", (cfg["max_len"], C))]
    for l in range(cfg["layers"]):
        p = "layers.%d." % l
        out += [(p + "ln1.weight", (C,)), (p + "ln1.bias", (C,)),
                (p + "attn.qkv.weight", (3 * HD, C)), (p + "attn.qkv.bias", (3 * HD,)),
                (p + "attn.out.weight", (C, HD)), (p + "attn.out.bias", (C,)),
                (p + "ln2.weight", (C,)), (p + "ln2.bias", (C,)),
                (p + "ffn.fc1.weight", (F_, C)), (p + "ffn.fc1.bias", (F_,)),
                (p + "ffn.fc2.weight", (C, F_)), (p + "ffn.fc2.bias", (C,))]
    out += [("ln_f.weight", (C,)), ("ln_f.bias", (C,))]
    if D > 0:
        out += [("proj.weight", (D, C)), ("proj.bias", (D,))]
    if n_classes > 0:
        E = D if D > 0 else C
        out += [("classifier.weight", (n_classes, E)), ("classifier.bias", (n_classes,))]
    return out


class Student(torch.nn.Module):
    def __init__(self, cfg, vocab, emb_dim, n_classes):
        super().__init__()
        self.cfg = cfg
        self.names = []
        self.p = torch.nn.ParameterDict()
        for name, shape in param_shapes(cfg, vocab, emb_dim, n_classes):
            key = name.replace(".", "__")  # ParameterDict keys may not contain dots
            self.names.append((name, key))
            self.p[key] = torch.nn.Parameter(torch.empty(shape))
        self.has_proj = "proj__weight" in self.p
        self.has_cls = "classifier__weight" in self.p

    def init_bert(self, gen):
        with torch.no_grad():
            for name, key in self.names:
                t = self.p[key]
                is_ln = name.startswith("ln") or ".ln" in name
                if is_ln and name.endswith(".weight"):
                    t.fill_(1.0)
                elif t.dim() == 1:
                    t.zero_()
                else:
                    t.normal_(0.0, 0.02, generator=gen)

    def w(self, name):
        return self.p[name.replace(".", "__")]

    def forward(self, ids, mask):
        B, T = ids.shape
        C, H = self.cfg["dim"], self.cfg["heads"]
        hd = C // H
        x = self.w("tok_emb.weight")[ids] + self.w("pos_emb.weight")[:T]
        key_mask = mask[:, None, None, :]  # (B, 1, 1, T)
        for l in range(self.cfg["layers"]):
            p = "layers.%d." % l
            h = F.layer_norm(x, (C,), self.w(p + "ln1.weight"), self.w(p + "ln1.bias"), LN_EPS)
            qkv = F.linear(h, self.w(p + "attn.qkv.weight"), self.w(p + "attn.qkv.bias"))
            q, k, v = qkv.view(B, T, 3, H, hd).permute(2, 0, 3, 1, 4)  # each (B, H, T, hd)
            scores = (q @ k.transpose(-1, -2)) / math.sqrt(hd)
            att = torch.softmax(scores.masked_fill(~key_mask, float("-inf")), dim=-1)
            att = torch.nan_to_num(att)  # a row with no valid key gives zeros, as in ops_attention.c
            o = (att @ v).transpose(1, 2).reshape(B, T, H * hd)
            x = x + F.linear(o, self.w(p + "attn.out.weight"), self.w(p + "attn.out.bias"))
            h = F.layer_norm(x, (C,), self.w(p + "ln2.weight"), self.w(p + "ln2.bias"), LN_EPS)
            h = F.gelu(F.linear(h, self.w(p + "ffn.fc1.weight"), self.w(p + "ffn.fc1.bias")), approximate="tanh")
            x = x + F.linear(h, self.w(p + "ffn.fc2.weight"), self.w(p + "ffn.fc2.bias"))
        x = F.layer_norm(x, (C,), self.w("ln_f.weight"), self.w("ln_f.bias"), LN_EPS)
        if self.cfg["pooling"] == "cls":
            pooled = x[:, 0]
        else:
            m = mask.to(x.dtype).unsqueeze(-1)
            pooled = (x * m).sum(1) / m.sum(1).clamp(min=1.0)
        emb = F.linear(pooled, self.w("proj.weight"), self.w("proj.bias")) if self.has_proj else pooled
        logits = F.linear(emb, self.w("classifier.weight"), self.w("classifier.bias")) if self.has_cls else None
        return emb, logits


def kd_loss(s, t, T):
    """T^2 * mean_b KL(softmax(t/T) || softmax(s/T))."""
    lt, ls = F.log_softmax(t / T, dim=-1), F.log_softmax(s / T, dim=-1)
    return T * T * (lt.exp() * (lt - ls)).sum(-1).mean()


def cosine(e, te):
    na = e.norm(dim=-1).clamp(min=NORM_EPS)
    nb = te.norm(dim=-1).clamp(min=NORM_EPS)
    return (e * te).sum(-1) / (na * nb)


def sim_loss(e, te, tau):
    """In-batch similarity: KL over each row's off-diagonal cosine similarities, mean over rows."""
    B = e.shape[0]
    if B < 2:
        return e.new_zeros(())
    ns = e / e.norm(dim=-1, keepdim=True).clamp(min=NORM_EPS)
    nt = te / te.norm(dim=-1, keepdim=True).clamp(min=NORM_EPS)
    off = ~torch.eye(B, dtype=torch.bool)
    ss = (ns @ ns.T)[off].view(B, B - 1) / tau
    st = (nt @ nt.T)[off].view(B, B - 1) / tau
    lt, ls = F.log_softmax(st, -1), F.log_softmax(ss, -1)
    return (lt.exp() * (lt - ls)).sum(-1).mean()


def total_loss(cfg, emb, logits, t_emb, t_logits, labels):
    loss = emb.new_zeros(())
    if logits is not None and t_logits is not None:
        loss = loss + cfg["kd_weight"] * kd_loss(logits, t_logits, cfg["temperature"])
    if logits is not None and labels is not None and cfg["ce_weight"] != 0.0:
        ok = (labels >= 0) & (labels < logits.shape[1])
        if ok.any():
            loss = loss + cfg["ce_weight"] * F.cross_entropy(logits[ok], labels[ok])
    if t_emb is not None:
        if cfg["emb_loss"] == "mse":
            loss = loss + cfg["emb_weight"] * ((emb - t_emb) ** 2).mean()
        else:
            loss = loss + cfg["emb_weight"] * (1.0 - cosine(emb, t_emb)).mean()
        if cfg["sim_weight"] != 0.0:
            loss = loss + cfg["sim_weight"] * sim_loss(emb, t_emb, cfg["sim_temperature"])
    return loss


def lr_at(cfg, step):
    """train/schedule.c: linear warmup over warmup_steps, then decay to 0 at `steps`."""
    lr, warm, steps = cfg["lr"], cfg["warmup_steps"], cfg["steps"]
    if step < warm:
        return lr * (step + 1) / warm
    warm = max(warm, 0)
    span = steps - warm if steps - warm > 1 else 1
    p = min(max((step - warm) / span, 0.0), 1.0)
    if cfg["schedule"] == "cosine":
        return lr * 0.5 * (1.0 + math.cos(math.pi * p))
    if cfg["schedule"] == "linear":
        return lr * (1.0 - p)
    return lr


@torch.no_grad()
def evaluate(model, cfg, teacher, rows, batch_size):
    """Means over rows, as train/evaluate.c: loss, cos, mse (embeddings), top1, kl (logits)."""
    sums = dict(loss=0.0, cos=0.0, mse=0.0, top1=0.0, kl=0.0)
    emb_ok = teacher.emb is not None and model_emb_dim(model) == teacher.emb_dim
    for start in range(0, len(rows), batch_size):
        r = torch.from_numpy(rows[start:start + batch_size])
        n = len(r)
        emb, logits = model(teacher.ids[r], teacher.mask[r])
        t_emb = teacher.emb[r] if emb_ok else None
        t_logits = teacher.logits[r] if teacher.logits is not None else None
        labels = teacher.labels[r] if teacher.labels is not None else None
        sums["loss"] += n * float(total_loss(cfg, emb, logits, t_emb, t_logits, labels))
        if emb_ok:
            sums["cos"] += float(cosine(emb, t_emb).sum())
            sums["mse"] += n * float(((emb - t_emb) ** 2).mean())
        if t_logits is not None:
            sums["top1"] += float((logits.argmax(-1) == t_logits.argmax(-1)).sum())
            sums["kl"] += n * float(kd_loss(logits, t_logits, 1.0))
    out = {"n": len(rows)}
    for k, v in sums.items():
        if (k in ("cos", "mse") and not emb_ok) or (k in ("top1", "kl") and teacher.logits is None):
            continue
        out[k] = v / len(rows)
    return out


def model_emb_dim(model):
    return model.w("proj.weight").shape[0] if model.has_proj else model.cfg["dim"]


def load_distill_params(model, path):
    with h5py.File(path, "r") as f:
        with torch.no_grad():
            for name, key in model.names:
                src = f["params/" + name][:]
                if tuple(src.shape) != tuple(model.p[key].shape):
                    sys.exit("pytorch_student.py: %s: /params/%s has shape %s, expected %s"
                             % (path, name, src.shape, tuple(model.p[key].shape)))
                model.p[key].copy_(torch.from_numpy(src.astype(np.float32)))


def train(model, cfg, teacher, train_rows, val_rows, log):
    gen = torch.Generator().manual_seed(cfg["seed"])
    opt = torch.optim.AdamW(model.parameters(), lr=cfg["lr"], betas=(0.9, 0.999), eps=1e-8,
                            weight_decay=cfg["weight_decay"])
    B = cfg["batch_size"]
    order, cursor = None, len(train_rows)
    t0 = time.time()
    for step in range(cfg["steps"]):
        # exactly B rows per step, wrapping into a fresh permutation like data/loader.c
        picked, n = [], 0
        while n < B:
            if cursor >= len(train_rows):
                order = torch.from_numpy(train_rows)[torch.randperm(len(train_rows), generator=gen)]
                cursor = 0
            take = min(B - n, len(train_rows) - cursor)
            picked.append(order[cursor:cursor + take])
            cursor += take
            n += take
        r = torch.cat(picked)
        for g in opt.param_groups:
            g["lr"] = lr_at(cfg, step)
        emb, logits = model(teacher.ids[r], teacher.mask[r])
        emb_ok = teacher.emb is not None and emb.shape[1] == teacher.emb_dim
        loss = total_loss(cfg, emb, logits, teacher.emb[r] if emb_ok else None,
                          teacher.logits[r] if teacher.logits is not None else None,
                          teacher.labels[r] if teacher.labels is not None else None)
        if not torch.isfinite(loss):
            sys.exit("pytorch_student.py: the loss became %g at step %d" % (float(loss), step + 1))
        opt.zero_grad(set_to_none=False)
        loss.backward()
        if cfg["grad_clip"] > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg["grad_clip"])
        opt.step()
        done = step + 1
        if log and (done % cfg["eval_every"] == 0 or done == cfg["steps"] or done == 1):
            line = "step %d/%d loss %.4f lr %.3e %.0f samples/s" % (
                done, cfg["steps"], float(loss), lr_at(cfg, step), done * B / (time.time() - t0))
            if cfg["eval_every"] > 0 and done % cfg["eval_every"] == 0 and len(val_rows):
                v = evaluate(model, cfg, teacher, val_rows, B)
                line += "  val " + " ".join("%s %.4f" % (k, v[k]) for k in ("loss", "cos", "top1") if k in v)
            print(line, file=sys.stderr, flush=True)
    return time.time() - t0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", required=True, help="a distill .cfg (a run's config.cfg holds every key)")
    ap.add_argument("--teacher", help="teacher file (default: the config's [teacher] path)")
    ap.add_argument("--steps", type=int, help="override [train] steps")
    ap.add_argument("--threads", type=int, help="override [train] threads (0 = all cores)")
    ap.add_argument("--eval-ckpt", help="evaluate a distill checkpoint's parameters instead of training")
    ap.add_argument("--json", help="write the summary JSON here too")
    ap.add_argument("--quiet", action="store_true")
    a = ap.parse_args()
    cfg = read_config(a.config)
    if a.steps is not None:
        cfg["steps"] = a.steps
    if a.threads is not None:
        cfg["threads"] = a.threads
    path = a.teacher or cfg["teacher_path"]
    if not path:
        sys.exit("pytorch_student.py: no teacher: give --teacher or [teacher] path")
    if cfg["threads"] > 0:
        torch.set_num_threads(cfg["threads"])
    torch.manual_seed(cfg["seed"])
    teacher = Teacher(path, cfg["max_len"])
    train_rows, val_rows = teacher.split(cfg["val_fraction"])
    model = Student(cfg, teacher.vocab, teacher.emb_dim, teacher.n_classes)
    if a.eval_ckpt:
        load_distill_params(model, a.eval_ckpt)
        wall = 0.0
    else:
        model.init_bert(torch.Generator().manual_seed(cfg["seed"]))
        wall = train(model, cfg, teacher, train_rows, val_rows, not a.quiet)
    v = evaluate(model, cfg, teacher, val_rows, cfg["batch_size"]) if len(val_rows) else {}
    summary = {"params": sum(p.numel() for p in model.parameters()),
               "steps": 0 if a.eval_ckpt else cfg["steps"], "wall_seconds": round(wall, 3),
               "samples_per_sec": round(cfg["steps"] * cfg["batch_size"] / wall, 1) if wall > 0 else 0.0,
               "n_train": len(train_rows), "n_val": len(val_rows), "torch_threads": torch.get_num_threads()}
    for k in ("loss", "cos", "top1", "kl", "mse"):
        if k in v:
            summary["val_" + k] = v[k]
    text = json.dumps(summary, indent=2)
    print(text)
    if a.json:
        with open(a.json, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
