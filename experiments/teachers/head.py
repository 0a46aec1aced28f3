"""A linear softmax head on the teacher's embeddings: L2-regularised multinomial logistic
regression, fitted full-batch with Adam on standardised features (the embeddings are unit
vectors, so raw features are tiny and plain gradient steps would crawl)."""
import numpy as np


def fit(x, y, n_classes, l2=1e-4, steps=600, lr=0.05, seed=0):
    """Returns (W (D, K), b (K)) acting on raw x; l2 penalises the standardised weights."""
    x = np.asarray(x, dtype=np.float64)
    mu, sd = x.mean(0), x.std(0) + 1e-8
    z = (x - mu) / sd
    n, d = z.shape
    onehot = np.zeros((n, n_classes))
    onehot[np.arange(n), y] = 1.0
    rng = np.random.default_rng(seed)
    w = rng.normal(0.0, 1e-3, (d, n_classes))
    b = np.zeros(n_classes)
    m = [np.zeros_like(w), np.zeros_like(b)]
    v = [np.zeros_like(w), np.zeros_like(b)]
    for t in range(1, steps + 1):
        p = softmax(z @ w + b)
        g_logits = (p - onehot) / n
        grads = [z.T @ g_logits + l2 * w, g_logits.sum(0)]
        for i, (param, g) in enumerate(zip((w, b), grads)):
            m[i] = 0.9 * m[i] + 0.1 * g
            v[i] = 0.999 * v[i] + 0.001 * g * g
            step = lr * (m[i] / (1 - 0.9 ** t)) / (np.sqrt(v[i] / (1 - 0.999 ** t)) + 1e-8)
            param -= step
    return w / sd[:, None], b - (mu / sd) @ w


def softmax(logits):
    e = np.exp(logits - logits.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def loss(logits, y):
    p = softmax(np.asarray(logits, dtype=np.float64))
    return float(-np.log(p[np.arange(len(y)), y] + 1e-12).mean())


def accuracy(logits, y):
    return float((np.asarray(logits).argmax(1) == np.asarray(y)).mean())


def fit_select(x, y, n_classes, grid=(1e-4, 1e-3, 1e-2, 1e-1, 1.0), every=5):
    """Picks l2 by accuracy on every `every`-th row of x (an inner validation split), then
    refits on all of x. Returns (W, b, l2, {l2: validation accuracy})."""
    rows = np.arange(len(x))
    val = rows % every == every - 1
    scores = {}
    for l2 in grid:
        w, b = fit(x[~val], y[~val], n_classes, l2=l2)
        scores[l2] = accuracy(x[val] @ w + b, y[val])
    best = max(grid, key=lambda l2: (scores[l2], l2))
    w, b = fit(x, y, n_classes, l2=best)
    return w, b, best, scores
