"""Ground truth for image zoos: a backbone's accuracy with a trained linear head on its frozen features.

Why a linear probe: it is what "fine-tuning at least a trained linear head" means, it is cheap on
CPU once features are extracted (the same cached features the estimators read), and its accuracy
orders backbones the way full fine-tuning mostly does on small tasks. Accuracy is measured by
stratified k-fold cross-validation of an L2-regularised softmax regression (L-BFGS), on features
standardised with the training fold's statistics, so no test image informs its own prediction.
"""

from __future__ import annotations

import numpy as np


def stratified_folds(y: np.ndarray, k: int, seed: int = 0) -> list[np.ndarray]:
    """Test indices of ``k`` folds, each class spread evenly over them (seeded)."""
    rng = np.random.default_rng(seed)
    folds: list[list[int]] = [[] for _ in range(k)]
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        for i, j in enumerate(idx):
            folds[i % k].append(int(j))
    return [np.sort(np.asarray(f, dtype=int)) for f in folds]


def fit_softmax(x: np.ndarray, y: np.ndarray, n_classes: int, l2: float = 1e-2) -> np.ndarray:
    """Weights (d+1, C) of a softmax regression with an L2 penalty (bias unpenalised)."""
    from scipy.optimize import minimize

    xb = np.hstack([x, np.ones((len(x), 1))])
    onehot = np.eye(n_classes)[y]
    n, d = xb.shape
    penal = np.ones((d, 1))
    penal[-1] = 0.0

    def objective(flat):
        w = flat.reshape(d, n_classes)
        z = xb @ w
        z -= z.max(axis=1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        loss = -(onehot * logp).sum() / n + 0.5 * l2 * ((w * penal) ** 2).sum()
        grad = xb.T @ (np.exp(logp) - onehot) / n + l2 * w * penal
        return loss, grad.ravel()

    res = minimize(objective, np.zeros(d * n_classes), jac=True, method="L-BFGS-B", options={"maxiter": 500})
    return res.x.reshape(d, n_classes)


def fit_predict(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, n_classes: int,
                l2: float = 1e-2) -> np.ndarray:
    """Class indices the linear head trained on ``x_train`` (standardised with its own statistics,
    so no test image informs them) predicts for ``x_test``."""
    mu, sd = x_train.mean(axis=0), x_train.std(axis=0) + 1e-8
    w = fit_softmax((x_train - mu) / sd, y_train, n_classes, l2)
    return np.argmax(np.hstack([(x_test - mu) / sd, np.ones((len(x_test), 1))]) @ w, axis=1)


def linear_probe_correct(features, labels, k: int = 5, l2: float = 1e-2, seed: int = 0,
                         repeats: int = 1) -> np.ndarray:
    """Per image, the share of ``repeats`` stratified ``k``-fold cross-validations (seeds ``seed``,
    ``seed + 1``, ...) in which the linear head trained without it classifies it right.

    Why per image: the mean is the accuracy, and the per-image values are the items a reliability
    check resamples (zoo/reliability.py). Why repeats: one k-fold split is one draw of training
    sets; averaging several removes that part of the noise (not the noise of which images the task
    has)."""
    x = np.asarray(features, dtype=np.float64)
    classes, y = np.unique(np.asarray(labels), return_inverse=True)
    if len(classes) < 2:
        raise ValueError("a linear probe needs at least two classes")
    k = max(2, min(k, int(np.bincount(y).min())))
    right = np.zeros(len(y))
    for r in range(max(1, int(repeats))):
        for test in stratified_folds(y, k, seed + r):
            train = np.setdiff1d(np.arange(len(y)), test)
            right[test] += fit_predict(x[train], y[train], x[test], len(classes), l2) == y[test]
    return right / max(1, int(repeats))


def linear_probe_accuracy(features, labels, k: int = 5, l2: float = 1e-2, seed: int = 0, repeats: int = 1) -> float:
    """Mean held-out accuracy of a linear head over ``k`` stratified folds (averaged over ``repeats``
    cross-validations)."""
    return float(linear_probe_correct(features, labels, k, l2, seed, repeats).mean())


def heldout_correct(train_x, train_y, test_x, test_y, l2: float = 1e-2) -> np.ndarray:
    """Per test image, 1 where the linear head trained on all of ``train_x`` classifies it right.

    Why: a truth measured on images no ranking method saw shares none of their noise (a
    cross-validated truth on the task's own images shares it with every estimator that reads them)."""
    x = np.asarray(train_x, dtype=np.float64)
    classes, y = np.unique(np.asarray(train_y), return_inverse=True)
    if len(classes) < 2:
        raise ValueError("a linear probe needs at least two classes")
    pred = classes[fit_predict(x, y, np.asarray(test_x, dtype=np.float64), len(classes), l2)]
    return (pred == np.asarray(test_y)).astype(float)
