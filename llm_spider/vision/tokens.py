"""Task tokens for image zoos: general (class prototypes) and PTM-specific (a candidate's own view).

General tokens, as in Model Spider: one token per class, the mean feature of a few of the class's
images under a fixed extractor (EfficientNet-Lite0, ImageNet), L2-normalised. The same extractor
for every task, so tokens of different tasks are comparable and the Spider can learn which
models suit which kinds of images.

PTM-specific tokens, for re-ranking the top-k: the candidate's own features on a few probe
images per class. Feature widths differ between backbones (1280, 512, ...), so a token is made of
width-free statistics, one per class: how well the class separates in that feature space
(leave-one-out nearest-centroid and 1-NN accuracy, cosine to its own centroid vs the nearest
other one), plus task-level LogME on the probes and the source head's confidence. The
``"estimators"`` token set adds four transferability estimators computed on the same probes
(PACTran, NCE, GBC, LFC); an estimator's scale differs from task to task, so the estimator
columns are z-scored across the candidates being compared (``standardise_across``): what the
Spider reads is how a candidate's estimate stands against its rivals' on this task.
"""

from __future__ import annotations

import warnings

import numpy as np

from llm_spider.vision.estimators.logme import logme

FEATURES = ("centroid_acc", "nn1_acc", "own_cos", "other_cos", "margin", "logme", "source_entropy", "has_head")
N_FEATURES = len(FEATURES)
PROBE_ESTIMATORS = ("pactran", "nce", "gbc", "lfc")  # cheap on ~50 probes; H-Score's covariance fit is not
TOKEN_SETS = {"statistics": FEATURES, "estimators": (*FEATURES, *PROBE_ESTIMATORS)}
DEFAULT_TOKENS = "statistics"  # chosen on validation history tasks by benchmarks/vision_spider.py
STANDARDISED = ("logme", *PROBE_ESTIMATORS)  # columns z-scored across the candidates of one task
FEW_SHOT = 5  # images per class behind a general token
PROBES_PER_CLASS = 10  # images per class a re-ranked candidate is run on


def prototypes(features: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """One L2-normalised mean feature per class: the general task tokens (classes × d)."""
    protos = np.stack([features[labels == c].mean(axis=0) for c in np.unique(labels)])
    return (protos / (np.linalg.norm(protos, axis=1, keepdims=True) + 1e-12)).astype(np.float32)


def _unit(x: np.ndarray) -> np.ndarray:
    return x / (np.linalg.norm(x, axis=1, keepdims=True) + 1e-12)


def token_width(token_set: str) -> int:
    if token_set not in TOKEN_SETS:
        from llm_spider.errors import UnknownNameError

        raise UnknownNameError("token set", token_set, TOKEN_SETS)
    return len(TOKEN_SETS[token_set])


def candidate_tokens(features: np.ndarray, labels: np.ndarray, probs: np.ndarray | None = None,
                     token_set: str = "statistics") -> np.ndarray:
    """Per class, the width-free statistics of a candidate's features on the probe images
    (classes × ``token_width(token_set)``); the estimator columns are raw here, for
    ``standardise_across`` to put on one scale."""
    width = token_width(token_set)
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
    out = np.asarray(rows, dtype=np.float32)
    if width > N_FEATURES:
        out = np.hstack([out, np.tile(_probe_estimates(features, labels, probs), (c, 1))])
    return out


def _probe_estimates(features: np.ndarray, labels: np.ndarray, probs: np.ndarray | None) -> np.ndarray:
    """The ``PROBE_ESTIMATORS`` on the probes (NaN where one does not apply: NCE without a head)."""
    from llm_spider.vision.estimators import ESTIMATORS
    from llm_spider.vision.zoo import TaskFeatures

    probs = probs if probs is not None else np.zeros((len(labels), 0), np.float32)
    tf = TaskFeatures(np.asarray(features, np.float32), probs, np.asarray(labels), 0.0)
    out = []
    for name in PROBE_ESTIMATORS:
        try:
            out.append(float(ESTIMATORS.get(name)().score(tf, None)))
        except (ValueError, np.linalg.LinAlgError):
            out.append(np.nan)
    return np.asarray(out, dtype=np.float32)


def standardise_across(tokens: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The candidates' tokens with each ``STANDARDISED`` column z-scored across them (0 where a
    candidate has no value, or all agree); other columns, and ``statistics`` tokens, as given."""
    if not tokens or next(iter(tokens.values())).shape[1] <= N_FEATURES:
        return tokens
    names = TOKEN_SETS["estimators"]
    cols = [names.index(c) for c in STANDARDISED]
    values = np.array([[np.nanmean(a[:, j]) if np.isfinite(a[:, j]).any() else np.nan for j in cols]
                       for a in tokens.values()], dtype=np.float64)  # candidates × columns
    with warnings.catch_warnings():  # a column no candidate has (NCE without any source head) stays NaN → 0
        warnings.simplefilter("ignore", RuntimeWarning)
        mu, sd = np.nanmean(values, axis=0), np.nanstd(values, axis=0)
    z = np.nan_to_num((values - mu) / np.where(sd > 1e-12, sd, np.inf), nan=0.0)
    out = {}
    for i, (m, a) in enumerate(tokens.items()):
        a = a.copy()
        a[:, cols] = z[i]
        out[m] = a
    return out
