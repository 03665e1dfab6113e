"""Task tokens for image zoos: general (class prototypes) and PTM-specific (a candidate's own view).

General tokens, as in Model Spider: one token per class, the mean feature of a few of the class's
images under a fixed extractor (EfficientNet-Lite0, ImageNet), L2-normalised. The same extractor
for every task, so tokens of different tasks are comparable and the Spider can learn which
models suit which kinds of images.

PTM-specific tokens, for re-ranking the top-k: the candidate's own features on a few probe
images per class. Feature widths differ between backbones (1280, 512, ...), so a token is made of
width-free statistics, one per class: how well the class separates in that feature space
(leave-one-out nearest-centroid and 1-NN accuracy, cosine to its own centroid vs the nearest
other one), plus task-level LogME on the probes and the source head's confidence.
"""

from __future__ import annotations

import numpy as np

from llm_spider.vision.estimators.logme import logme

FEATURES = ("centroid_acc", "nn1_acc", "own_cos", "other_cos", "margin", "logme", "source_entropy", "has_head")
N_FEATURES = len(FEATURES)
FEW_SHOT = 5  # images per class behind a general token
PROBES_PER_CLASS = 10  # images per class a re-ranked candidate is run on


def prototypes(features: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """One L2-normalised mean feature per class: the general task tokens (classes × d)."""
    protos = np.stack([features[labels == c].mean(axis=0) for c in np.unique(labels)])
    return (protos / (np.linalg.norm(protos, axis=1, keepdims=True) + 1e-12)).astype(np.float32)


def _unit(x: np.ndarray) -> np.ndarray:
    return x / (np.linalg.norm(x, axis=1, keepdims=True) + 1e-12)


def candidate_tokens(features: np.ndarray, labels: np.ndarray, probs: np.ndarray | None = None) -> np.ndarray:
    """Per class, the width-free statistics of a candidate's features on the probe images
    (classes × N_FEATURES)."""
    x = np.asarray(features, dtype=np.float64)
    x = _unit((x - x.mean(axis=0)) / (x.std(axis=0) + 1e-8))
    classes = np.unique(labels)
    y = np.searchsorted(classes, labels)
    n, c = len(y), len(classes)
    sums = np.stack([x[y == k].sum(axis=0) for k in range(c)])
    counts = np.bincount(y, minlength=c).astype(float)
    # leave-one-out centroids: each image is compared with its class's mean without itself
    own = _unit((sums[y] - x) / np.maximum(counts[y] - 1, 1)[:, None])
    cents = _unit(sums / counts[:, None])
    cos = x @ cents.T
    cos[np.arange(n), y] = np.einsum("ij,ij->i", x, own)
    pred = cos.argmax(axis=1)
    sim = x @ x.T
    np.fill_diagonal(sim, -np.inf)
    nn = y[sim.argmax(axis=1)]
    other = np.where(np.eye(c, dtype=bool)[y], -np.inf, cos).max(axis=1)
    try:
        task_logme = logme(x, y)
    except (ValueError, np.linalg.LinAlgError):
        task_logme = 0.0
    if probs is not None and probs.shape[1] > 1:
        p = np.clip(probs, 1e-12, 1.0)
        entropy = float((-(p * np.log(p)).sum(axis=1) / np.log(p.shape[1])).mean())
        has_head = 1.0
    else:
        entropy, has_head = 1.0, 0.0
    rows = []
    for k in range(c):
        m = y == k
        own_cos = float(cos[m, k].mean())
        other_cos = float(other[m].mean())
        rows.append([float((pred[m] == k).mean()), float((nn[m] == k).mean()), own_cos, other_cos,
                     own_cos - other_cos, task_logme, entropy, has_head])
    return np.asarray(rows, dtype=np.float32)
