#!/usr/bin/python3
"""Independent PyTorch reference of the distill student and its distillation loss.

Writes the golden HDF5 fixtures that the C implementation is compared against (to 1e-4
relative). Parameters and inputs are drawn in float32 and stored as float32; the reference then
runs in float64 from exactly those float32 values, so the C side can load the same numbers and
only its own rounding separates the two.

The model is written out from its description (pre-LN encoder, mean/cls pooling, projection,
classifier) rather than built from torch.nn modules, and it depends on nothing else in the repo.

Run with Debian's Python (python3-torch, python3-h5py, python3-numpy):
    /usr/bin/python3 tests/golden/golden_reference.py            # writes both fixtures here
    /usr/bin/python3 tests/golden/golden_reference.py --check    # self-checks only, writes nothing
"""
import argparse
import math
import os
import sys

import h5py
import numpy as np
import torch
import torch.nn.functional as F

LN_EPS = 1e-5

# Each fixture: model sizes, batch, loss weights. heads/ffn are per layer (as after pruning).
FIXTURES = {
    "golden_small.h5": dict(
        seed=20240601, vocab=50, max_len=8, dim=16, head_dim=8, heads=[2, 2], ffn=[32, 32],
        pooling="mean", out_dim=12, n_classes=5, batch=4, seq_len=8, lengths=[8, 5, 3, 1],
        kd_weight=1.0, temperature=2.0, ce_weight=0.5, emb_weight=1.0, emb_loss="cosine",
        sim_weight=0.5, sim_temperature=0.5),
    "golden_cls_mse.h5": dict(
        seed=20240602, vocab=50, max_len=8, dim=16, head_dim=8, heads=[2, 1], ffn=[32, 24],
        pooling="cls", out_dim=0, n_classes=5, batch=4, seq_len=6, lengths=[6, 4, 2, 1],
        kd_weight=1.0, temperature=2.0, ce_weight=0.5, emb_weight=1.0, emb_loss="mse",
        sim_weight=0.5, sim_temperature=0.5),
}


def emb_dim(cfg):
    return cfg["out_dim"] if cfg["out_dim"] > 0 else cfg["dim"]


def param_shapes(cfg):
    """(name, shape) of every trainable tensor, in the order of model/model.h."""
    C, hd = cfg["dim"], cfg["head_dim"]
    out = [("tok_emb.weight", (cfg["vocab"], C)), ("pos_emb.weight", (cfg["max_len"], C))]
    for l, (H, Fd) in enumerate(zip(cfg["heads"], cfg["ffn"])):
        p = "layers.%d." % l
        out += [(p + "ln1.weight", (C,)), (p + "ln1.bias", (C,)),
                (p + "attn.qkv.weight", (3 * H * hd, C)), (p + "attn.qkv.bias", (3 * H * hd,)),
                (p + "attn.out.weight", (C, H * hd)), (p + "attn.out.bias", (C,)),
                (p + "ln2.weight", (C,)), (p + "ln2.bias", (C,)),
                (p + "ffn.fc1.weight", (Fd, C)), (p + "ffn.fc1.bias", (Fd,)),
                (p + "ffn.fc2.weight", (C, Fd)), (p + "ffn.fc2.bias", (C,))]
    out += [("ln_f.weight", (C,)), ("ln_f.bias", (C,))]
    if cfg["out_dim"] > 0:
        out += [("proj.weight", (cfg["out_dim"], C)), ("proj.bias", (cfg["out_dim"],))]
    if cfg["n_classes"] > 0:
        E = emb_dim(cfg)
        out += [("classifier.weight", (cfg["n_classes"], E)), ("classifier.bias", (cfg["n_classes"],))]
    return out


def param_count(cfg):
    return sum(int(np.prod(s)) for _, s in param_shapes(cfg))


def init_params(cfg, rng):
    """float32 draws; LayerNorm gains sit around 1 and every bias is non-zero so each gradient
    path is exercised."""
    params = {}
    for name, shape in param_shapes(cfg):
        draw = 0.1 * rng.standard_normal(shape, dtype=np.float32)
        is_ln_gain = name.split(".")[-2].startswith("ln") and name.endswith(".weight")
        params[name] = (np.float32(1.0) + draw if is_ln_gain else draw).astype(np.float32)
    return params


def make_inputs(cfg, rng):
    B, T = cfg["batch"], cfg["seq_len"]
    lengths = cfg["lengths"]
    assert len(lengths) == B and all(1 <= n <= T for n in lengths)
    mask = np.zeros((B, T), dtype=np.uint8)
    for b, n in enumerate(lengths):
        mask[b, :n] = 1
    ids = rng.integers(1, cfg["vocab"], size=(B, T)).astype(np.int32)
    ids[mask == 0] = 0  # pad id
    return {
        "input_ids": ids,
        "attention_mask": mask,
        "teacher_logits": (1.5 * rng.standard_normal((B, cfg["n_classes"]), dtype=np.float32)),
        "teacher_embeddings": rng.standard_normal((B, emb_dim(cfg)), dtype=np.float32),
        "labels": rng.integers(0, cfg["n_classes"], size=(B,)).astype(np.int32),
    }


def layer_norm(x, w, b):
    mu = x.mean(dim=-1, keepdim=True)
    var = ((x - mu) ** 2).mean(dim=-1, keepdim=True)  # biased, as in nn.LayerNorm
    return (x - mu) / torch.sqrt(var + LN_EPS) * w + b


def gelu_tanh(u):
    return 0.5 * u * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (u + 0.044715 * u ** 3)))


def attention(h, p, pre, H, hd, mask):
    B, T, _ = h.shape
    qkv = h @ p[pre + "attn.qkv.weight"].T + p[pre + "attn.qkv.bias"]   # (B, T, 3*H*hd)
    q, k, v = qkv.split(H * hd, dim=-1)
    # (B, T, H*hd) -> (B, H, T, hd): head h owns columns [h*hd, (h+1)*hd)
    q, k, v = (t.reshape(B, T, H, hd).transpose(1, 2) for t in (q, k, v))
    scores = q @ k.transpose(-1, -2) / math.sqrt(hd)                    # (B, H, Tq, Tk)
    scores = scores.masked_fill(mask[:, None, None, :] == 0, float("-inf"))
    o = torch.softmax(scores, dim=-1) @ v                               # (B, H, T, hd)
    o = o.transpose(1, 2).reshape(B, T, H * hd)
    return o @ p[pre + "attn.out.weight"].T + p[pre + "attn.out.bias"]


def forward(p, cfg, ids, mask):
    """Returns (final hidden (B,T,C), pooled (B,C), embedding (B,E), logits (B,K))."""
    T = ids.shape[1]
    x = p["tok_emb.weight"][ids] + p["pos_emb.weight"][:T]
    for l, H in enumerate(cfg["heads"]):
        pre = "layers.%d." % l
        h = layer_norm(x, p[pre + "ln1.weight"], p[pre + "ln1.bias"])
        x = x + attention(h, p, pre, H, cfg["head_dim"], mask)
        h2 = layer_norm(x, p[pre + "ln2.weight"], p[pre + "ln2.bias"])
        f = gelu_tanh(h2 @ p[pre + "ffn.fc1.weight"].T + p[pre + "ffn.fc1.bias"])
        x = x + f @ p[pre + "ffn.fc2.weight"].T + p[pre + "ffn.fc2.bias"]
    hidden = layer_norm(x, p["ln_f.weight"], p["ln_f.bias"])
    if cfg["pooling"] == "mean":
        m = mask.to(hidden.dtype)[:, :, None]
        pooled = (hidden * m).sum(dim=1) / m.sum(dim=1)
    else:
        pooled = hidden[:, 0]
    emb = pooled @ p["proj.weight"].T + p["proj.bias"] if cfg["out_dim"] > 0 else pooled
    logits = emb @ p["classifier.weight"].T + p["classifier.bias"]
    return hidden, pooled, emb, logits


def cosine_matrix(a):
    n = a / a.norm(dim=-1, keepdim=True)
    return n @ n.T


def loss_terms(emb, logits, cfg, t_logits, t_emb, labels):
    """Each term a batch mean; returns a dict with kd, ce, emb, sim and the weighted total."""
    T = cfg["temperature"]
    logp_t = torch.log_softmax(t_logits / T, dim=-1)
    logp_s = torch.log_softmax(logits / T, dim=-1)
    kd = T * T * (logp_t.exp() * (logp_t - logp_s)).sum(dim=-1).mean()

    ce = -torch.log_softmax(logits, dim=-1).gather(1, labels[:, None].long()).mean()

    if cfg["emb_loss"] == "cosine":
        cos = (emb * t_emb).sum(-1) / (emb.norm(dim=-1) * t_emb.norm(dim=-1))
        el = (1.0 - cos).mean()
    else:
        el = ((emb - t_emb) ** 2).mean()

    # In-batch similarity: the diagonal is dropped (the -inf entries would give 0 log 0), so each
    # row is a distribution over the other B-1 samples.
    B, tau = emb.shape[0], cfg["sim_temperature"]
    off = ~torch.eye(B, dtype=torch.bool)
    s_s = cosine_matrix(emb)[off].reshape(B, B - 1) / tau
    s_t = cosine_matrix(t_emb)[off].reshape(B, B - 1) / tau
    lq_t = torch.log_softmax(s_t, dim=-1)
    lq_s = torch.log_softmax(s_s, dim=-1)
    sim = (lq_t.exp() * (lq_t - lq_s)).sum(dim=-1).mean()

    total = (cfg["kd_weight"] * kd + cfg["ce_weight"] * ce + cfg["emb_weight"] * el
             + cfg["sim_weight"] * sim)
    return {"kd": kd, "ce": ce, "emb": el, "sim": sim, "total": total}


def to_torch(params, inputs):
    p = {k: torch.from_numpy(v).double() for k, v in params.items()}
    ids = torch.from_numpy(inputs["input_ids"]).long()
    mask = torch.from_numpy(inputs["attention_mask"])
    t_logits = torch.from_numpy(inputs["teacher_logits"]).double()
    t_emb = torch.from_numpy(inputs["teacher_embeddings"]).double()
    labels = torch.from_numpy(inputs["labels"]).long()
    return p, ids, mask, t_logits, t_emb, labels


def run_reference(cfg, params, inputs):
    p, ids, mask, t_logits, t_emb, labels = to_torch(params, inputs)
    for v in p.values():
        v.requires_grad_(True)
    hidden, pooled, emb, logits = forward(p, cfg, ids, mask)
    terms = loss_terms(emb, logits, cfg, t_logits, t_emb, labels)
    grads = torch.autograd.grad(terms["total"], list(p.values()))

    # The loss's own gradient at its inputs: logits and embedding as separate leaves, so
    # d_embedding leaves out the path through the classifier.
    emb_leaf = emb.detach().requires_grad_(True)
    logits_leaf = logits.detach().requires_grad_(True)
    leaf_total = loss_terms(emb_leaf, logits_leaf, cfg, t_logits, t_emb, labels)["total"]
    d_emb, d_logits = torch.autograd.grad(leaf_total, [emb_leaf, logits_leaf])

    out = {"hidden": hidden, "pooled": pooled, "embedding": emb, "logits": logits,
           "loss": terms["total"], "loss_kd": terms["kd"], "loss_ce": terms["ce"],
           "loss_emb": terms["emb"], "loss_sim": terms["sim"],
           "d_logits": d_logits, "d_embedding": d_emb}
    out = {k: v.detach().numpy().astype(np.float64) for k, v in out.items()}
    return out, {k: g.numpy().astype(np.float64) for k, g in zip(p.keys(), grads)}


def cross_check_torch_ops(cfg, params, inputs):
    """The hand-written layers against torch's own: catches a slip in either formula."""
    p, ids, mask, t_logits, t_emb, labels = to_torch(params, inputs)
    x = torch.randn(3, cfg["dim"], dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    w, b = p["layers.0.ln1.weight"], p["layers.0.ln1.bias"]
    errs = [(layer_norm(x, w, b) - F.layer_norm(x, (cfg["dim"],), w, b, LN_EPS)).abs().max(),
            (gelu_tanh(3 * x) - F.gelu(3 * x, approximate="tanh")).abs().max()]
    _, _, emb, logits = forward(p, cfg, ids, mask)
    T = cfg["temperature"]
    kd = T * T * F.kl_div(F.log_softmax(logits / T, -1), F.log_softmax(t_logits / T, -1),
                          reduction="batchmean", log_target=True)
    terms = loss_terms(emb, logits, cfg, t_logits, t_emb, labels)
    errs += [(kd - terms["kd"]).abs(), (F.cross_entropy(logits, labels) - terms["ce"]).abs()]
    if cfg["emb_loss"] == "cosine":
        errs.append(((1 - F.cosine_similarity(emb, t_emb, dim=-1)).mean() - terms["emb"]).abs())
    else:
        errs.append((F.mse_loss(emb, t_emb) - terms["emb"]).abs())
    # Head layout: nn.MultiheadAttention packs Q, K, V and splits heads the same way.
    H, hd, C = cfg["heads"][0], cfg["head_dim"], cfg["dim"]
    if H * hd == C:
        mha = torch.nn.MultiheadAttention(C, H, batch_first=True, dtype=torch.float64)
        with torch.no_grad():
            mha.in_proj_weight.copy_(p["layers.0.attn.qkv.weight"])
            mha.in_proj_bias.copy_(p["layers.0.attn.qkv.bias"])
            mha.out_proj.weight.copy_(p["layers.0.attn.out.weight"])
            mha.out_proj.bias.copy_(p["layers.0.attn.out.bias"])
        h = p["tok_emb.weight"][ids]
        ref, _ = mha(h, h, h, key_padding_mask=(mask == 0), need_weights=False)
        errs.append((attention(h, p, "layers.0.", H, hd, mask) - ref).abs().max())
    # Similarity term as literally specified: -inf on the diagonal, the 0 * log 0 terms dropped.
    tau = cfg["sim_temperature"]
    eye = torch.eye(emb.shape[0], dtype=torch.bool)
    lq_s = torch.log_softmax((cosine_matrix(emb) / tau).masked_fill(eye, float("-inf")), -1)
    lq_t = torch.log_softmax((cosine_matrix(t_emb) / tau).masked_fill(eye, float("-inf")), -1)
    kl = torch.where(eye, torch.zeros_like(lq_t), lq_t.exp() * (lq_t - lq_s))
    errs.append((kl.sum(-1).mean() - terms["sim"]).abs())
    worst = max(float(e) for e in errs)
    print("  torch-op cross-check: max abs difference %.3e" % worst)
    return worst < 1e-9


def gradcheck(cfg, params, inputs, names):
    """Autograd against central finite differences for a few parameters, in float64."""
    p, ids, mask, t_logits, t_emb, labels = to_torch(params, inputs)

    def total(*chosen):
        q = dict(p)
        q.update(zip(names, chosen))
        _, _, emb, logits = forward(q, cfg, ids, mask)
        return loss_terms(emb, logits, cfg, t_logits, t_emb, labels)["total"]

    chosen = [p[n].clone().requires_grad_(True) for n in names]
    ok = torch.autograd.gradcheck(total, chosen, eps=1e-6, atol=1e-7, rtol=1e-5)
    analytic = torch.autograd.grad(total(*chosen), chosen)
    worst = 0.0
    with torch.no_grad():
        for n, c, g in zip(names, chosen, analytic):
            num = torch.zeros_like(c).view(-1)
            flat = c.detach().clone().view(-1)
            for i in range(flat.numel()):
                saved = float(flat[i])
                flat[i] = saved + 1e-6
                hi = total(*[flat.view(c.shape) if d is c else d for d in chosen])
                flat[i] = saved - 1e-6
                lo = total(*[flat.view(c.shape) if d is c else d for d in chosen])
                flat[i] = saved
                num[i] = (hi - lo) / 2e-6
            scale = max(float(num.abs().max()), 1e-12)
            rel = float(((g.view(-1) - num).abs() / torch.clamp(num.abs(), min=1e-3 * scale)).max())
            worst = max(worst, rel)
            print("  gradcheck %-28s max rel diff %.3e" % (n, rel))
    print("  torch.autograd.gradcheck: %s; max relative difference %.3e" % (ok, worst))
    return ok and worst < 1e-5


def write_fixture(path, cfg, params, inputs, outputs, grads):
    with h5py.File(path, "w") as f:
        a = f.attrs
        for k in ("vocab", "max_len", "dim", "head_dim", "out_dim", "n_classes", "batch", "seq_len"):
            a[k] = np.int32(cfg[k])
        a["n_layers"] = np.int32(len(cfg["heads"]))
        a["heads"] = np.asarray(cfg["heads"], dtype=np.int32)
        a["ffn"] = np.asarray(cfg["ffn"], dtype=np.int32)
        for k in ("kd_weight", "temperature", "ce_weight", "emb_weight", "sim_weight",
                  "sim_temperature"):
            a[k] = np.float64(cfg[k])
        # Fixed-length ASCII strings: simplest for a C reader.
        a["pooling"] = np.bytes_(cfg["pooling"])
        a["emb_loss"] = np.bytes_(cfg["emb_loss"])
        a["n_params"] = np.int64(param_count(cfg))
        for k, v in inputs.items():
            f.create_dataset("inputs/" + k, data=v)
        for name, _ in param_shapes(cfg):
            f.create_dataset("params/" + name, data=params[name].astype(np.float32))
            f.create_dataset("grads/" + name, data=grads[name].astype(np.float64))
        for k, v in outputs.items():
            f.create_dataset("outputs/" + k, data=np.asarray(v, dtype=np.float64))


def build(cfg):
    rng = np.random.default_rng(cfg["seed"])
    params = init_params(cfg, rng)
    inputs = make_inputs(cfg, rng)
    return params, inputs


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out-dir", default=os.path.dirname(os.path.abspath(__file__)))
    ap.add_argument("--check", action="store_true", help="run the self-checks only, write nothing")
    args = ap.parse_args()
    torch.set_default_dtype(torch.float64)

    ok = True
    for fname, cfg in FIXTURES.items():
        params, inputs = build(cfg)
        outputs, grads = run_reference(cfg, params, inputs)
        print("%s: %d parameters, loss %.10f (kd %.6f ce %.6f emb %.6f sim %.6f)" % (
            fname, param_count(cfg), outputs["loss"], outputs["loss_kd"], outputs["loss_ce"],
            outputs["loss_emb"], outputs["loss_sim"]))
        ok &= cross_check_torch_ops(cfg, params, inputs)
        if fname == "golden_small.h5":
            ok &= gradcheck(cfg, params, inputs, ["layers.0.ln1.weight", "layers.1.attn.qkv.bias",
                                                  "layers.0.ffn.fc2.bias", "ln_f.bias",
                                                  "proj.weight", "classifier.bias"])
        if not args.check:
            path = os.path.join(args.out_dir, fname)
            write_fixture(path, cfg, params, inputs, outputs, grads)
            print("  wrote %s (%d bytes)" % (path, os.path.getsize(path)))

    big = dict(vocab=4000, max_len=32, dim=128, head_dim=32, heads=[4, 4], ffn=[512, 512],
               out_dim=64, n_classes=10)
    print("reference config (vocab 4000, max_len 32, dim 128, 2x4 heads, ffn 512, out 64, "
          "10 classes): %d parameters" % param_count(big))
    ok &= param_count(big) == 921802
    print("self-checks:", "ok" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
