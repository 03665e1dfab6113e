"""Transferability estimators: score a pre-trained model for a labelled target task from one pass of
its features (or its source-label predictions) over the target's images, without fine-tuning.

These are the classic baselines Model Spider compares against on image zoos. Each takes the
target labels ``y`` (n,) as integers and either the model's penultimate features ``features``
(n, d) or its predicted source-class probabilities ``probs`` (n, K). Higher = predicted to
transfer better. Implemented from the papers in numpy:

- H-Score (Bao et al., 2019): tr(cov(f)⁻¹ cov(E[f|y])), how much of the feature variance the
  classes explain.
- NCE (Tran et al., 2019): negative conditional entropy of target labels given the source model's
  hard predictions.
- LEEP (Nguyen et al., 2020): log of the expected empirical prediction, via the empirical
  conditional p(y|z) of target labels given source classes.
- N-LEEP (Li et al., 2021): LEEP with the source head replaced by a Gaussian mixture fitted to
  PCA-reduced features.
- LogME (You et al., 2021): the maximum log evidence of a Bayesian linear model from features to
  one-hot labels, per sample.
- LFC (Deshpande et al., 2021): correlation of the centred feature kernel with the label kernel.
- GBC (Pándy et al., 2022): minus the summed Bhattacharyya coefficients between per-class Gaussians
  in PCA space (overlapping classes transfer worse).
- OTCE (Tan et al., 2021), as the OT-based NCE its authors recommend: the optimal transport
  coupling between source and target samples in feature space (squared Euclidean cost) gives a
  joint distribution of source and target labels; the score is -H(Y_target | Y_source). It needs
  labelled source samples (or pseudo-labelled reference images) beside the target ones.
- PACTran-Gaussian (Ding et al., 2022): minus the optimal PAC-Bayesian bound of a linear softmax
  head with a Gaussian prior; the Gaussian posterior's variances have a closed form from the
  diagonal of the empirical loss's Hessian, leaving loss(w*) + |w*|²/(2σ²λ) + Σ log(1+λσ²h)/(2λ).
"""

from __future__ import annotations

import numpy as np

__all__ = ["h_score", "nce", "leep", "n_leep", "logme", "lfc", "gbc", "pactran", "otce", "ot_coupling"]


def _labels(y) -> tuple[np.ndarray, int]:
    y = np.asarray(y)
    classes, inv = np.unique(y, return_inverse=True)
    if len(classes) < 2:
        raise ValueError("a transferability score needs at least two target classes")
    return inv.astype(int), len(classes)


def _features(features, n: int) -> np.ndarray:
    f = np.asarray(features, dtype=np.float64)
    if f.ndim != 2 or f.shape[0] != n:
        raise ValueError(f"features must be (n_samples={n}, dim), got {f.shape}")
    return f


def h_score(features, y, shrinkage: float | str = "ledoit-wolf") -> float:
    """H-Score: tr(inv(cov(f)) @ cov(g)), g(x) = the mean feature of x's class.

    With fewer images than feature dimensions (1280-d features, 150 images) the sample covariance
    is singular and the plain score saturates at C-1 for every model; as Ibrahim et al. (2022)
    propose, cov(f) is shrunk towards a scaled identity by the Ledoit-Wolf amount α and cov(g) by
    (1 - α) (``shrinkage`` may be a fixed α in [0, 1]; 0 is the original H-Score, pseudo-inverse)."""
    y, c = _labels(y)
    f = _features(features, len(y))
    f = f - f.mean(axis=0)
    n, d = f.shape
    cov_f = f.T @ f / n
    alpha = ledoit_wolf_shrinkage(f) if shrinkage == "ledoit-wolf" else float(shrinkage)
    if alpha > 0:
        cov_f = (1 - alpha) * cov_f + alpha * np.trace(cov_f) / d * np.eye(d)
    means = np.stack([f[y == k].mean(axis=0) for k in range(c)])
    g = means[y]
    cov_g = (1 - alpha) * (g.T @ g / len(g))  # the between-class part is shrunk alike (Ibrahim et al.)
    return float(np.trace(np.linalg.pinv(cov_f, rcond=1e-10) @ cov_g))


def ledoit_wolf_shrinkage(f: np.ndarray) -> float:
    """The Ledoit-Wolf (2004) optimal weight of the scaled identity for centred samples ``f``."""
    n, d = f.shape
    f2 = f**2
    mu = f2.sum() / n / d
    beta_ = float((f2.T @ f2).sum())
    delta_ = float(((f.T @ f) ** 2).sum()) / n**2
    beta = (beta_ / n - delta_) / (d * n)
    delta = (delta_ - 2 * mu * f2.sum() / n + d * mu**2) / d
    beta = min(beta, delta)
    return 0.0 if beta <= 0 or delta <= 0 else float(beta / delta)


def _joint(probs: np.ndarray, y: np.ndarray, c: int) -> np.ndarray:
    """Empirical joint P(y, z) from soft source predictions: 1/n Σ_i θ(x_i)_z [y_i = y]."""
    joint = np.zeros((c, probs.shape[1]))
    np.add.at(joint, y, probs)
    return joint / len(y)


def _probs(probs, n: int) -> np.ndarray:
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim != 2 or p.shape[0] != n:
        raise ValueError(f"probs must be (n_samples={n}, n_source_classes), got {p.shape}")
    if np.any(p < -1e-9) or not np.allclose(p.sum(axis=1), 1.0, atol=1e-4):
        raise ValueError("probs rows must be probability distributions")
    return np.clip(p, 0.0, None)


def nce(probs, y) -> float:
    """NCE = -H(Y | Z), Z the source model's argmax class."""
    y, c = _labels(y)
    z = _probs(probs, len(y)).argmax(axis=1)
    joint = np.zeros((c, int(z.max()) + 1))
    np.add.at(joint, (y, z), 1.0)
    joint /= len(y)
    pz = joint.sum(axis=0, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        cond = np.where(joint > 0, joint / pz, 1.0)
    return float((joint * np.log(cond)).sum())


def leep(probs, y) -> float:
    """LEEP = 1/n Σ_i log Σ_z P(y_i | z) θ(x_i)_z."""
    y, c = _labels(y)
    p = _probs(probs, len(y))
    joint = _joint(p, y, c)
    pz = joint.sum(axis=0, keepdims=True)
    cond = np.divide(joint, pz, out=np.zeros_like(joint), where=pz > 0)  # P(y | z)
    eep = (p @ cond.T)[np.arange(len(y)), y]
    return float(np.mean(np.log(np.clip(eep, 1e-300, None))))


def _pca(f: np.ndarray, variance: float = 0.8) -> np.ndarray:
    f = f - f.mean(axis=0)
    u, s, _ = np.linalg.svd(f, full_matrices=False)
    share = np.cumsum(s**2) / max((s**2).sum(), 1e-300)
    k = int(np.searchsorted(share, variance) + 1)
    return u[:, :k] * s[:k]


def _gmm_posteriors(x: np.ndarray, k: int, seed: int = 0, iters: int = 100) -> np.ndarray:
    """Posteriors of a diagonal-covariance Gaussian mixture fitted by EM (k-means++ start)."""
    rng = np.random.default_rng(seed)
    n, d = x.shape
    centres = [x[rng.integers(n)]]
    for _ in range(1, k):
        dist = np.min(((x[:, None, :] - np.array(centres)[None]) ** 2).sum(-1), axis=1)
        centres.append(x[rng.choice(n, p=dist / dist.sum()) if dist.sum() > 0 else rng.integers(n)])
    mu = np.array(centres)
    var = np.tile(x.var(axis=0) + 1e-6, (k, 1))
    weights = np.full(k, 1.0 / k)
    prev = -np.inf
    for _ in range(iters):
        log_p = (np.log(weights)[None] - 0.5 * (np.log(2 * np.pi * var).sum(-1))[None]
                 - 0.5 * (((x[:, None, :] - mu[None]) ** 2) / var[None]).sum(-1))
        m = log_p.max(axis=1, keepdims=True)
        ll = m[:, 0] + np.log(np.exp(log_p - m).sum(axis=1))
        post = np.exp(log_p - ll[:, None])
        nk = post.sum(axis=0) + 1e-10
        weights = nk / n
        mu = post.T @ x / nk[:, None]
        var = post.T @ (x**2) / nk[:, None] - mu**2 + 1e-6
        if ll.sum() - prev < 1e-6 * abs(prev if np.isfinite(prev) else 1.0):
            break
        prev = ll.sum()
    return post


def n_leep(features, y, components: int | None = None, seed: int = 0) -> float:
    """N-LEEP: LEEP over the posteriors of a GMM fitted on PCA(80 % variance) of the features;
    ``components`` defaults to the number of target classes."""
    y_idx, c = _labels(y)
    x = _pca(_features(features, len(y_idx)))
    post = _gmm_posteriors(x, components or c, seed)
    return leep(post / post.sum(axis=1, keepdims=True), y_idx)


def logme(features, y, max_iter: int = 100, tol: float = 1e-5) -> float:
    """LogME: per-sample maximum log evidence of Bayesian linear regression from features to each
    one-hot class column (α, β by the fixed-point updates of You et al.), averaged over classes."""
    y, c = _labels(y)
    f = _features(features, len(y))
    n, d = f.shape
    u, s, _ = np.linalg.svd(f, full_matrices=False)
    # Directions of numerically zero variance are not features: kept, they let any labelling be
    # fitted exactly when n ≤ d, and β (the noise precision) then diverges.
    keep = s > s.max() * 1e-8
    u, s = u[:, keep], s[keep]
    sigma = s**2
    evidences = []
    for k in range(c):
        t = (y == k).astype(np.float64)
        proj = u.T @ t  # coordinates of t in the features' column space
        rest = max(float(t @ t - proj @ proj), 0.0)
        # Parametrised by α and ρ = α/β: when the features can fit the labels exactly (rank = n),
        # β → ∞ while ρ → 0, and every term below stays finite in this form.
        alpha, rho = 1.0, 1.0
        floor = 1e-12 * float(sigma.mean())
        for _ in range(max_iter):
            gamma = float((sigma / (rho + sigma)).sum())
            m2 = float(((s * proj / (rho + sigma)) ** 2).sum())  # |m|², m the posterior mean
            res2 = float(((rho * proj / (rho + sigma)) ** 2).sum()) + rest
            new_alpha = gamma / max(m2, 1e-300)
            slack = n - gamma
            new_rho = max(new_alpha * res2 / slack, floor) if slack > 1e-12 * n else max(rho * 0.1, floor)
            done = abs(new_alpha - alpha) <= tol * alpha and abs(new_rho - rho) <= tol * rho
            alpha, rho = new_alpha, new_rho
            if done:
                break
        m2 = float(((s * proj / (rho + sigma)) ** 2).sum())
        beta_res2 = alpha * (rho * float(((proj / (rho + sigma)) ** 2).sum()) + rest / rho)  # β·|t - Fm|²
        r = len(sigma)
        evidence = (r / 2 * np.log(alpha) + (n - r) / 2 * (np.log(alpha) - np.log(rho))
                    - 0.5 * np.log(rho + sigma).sum() - n / 2 * np.log(2 * np.pi)
                    - beta_res2 / 2 - alpha / 2 * m2)
        evidences.append(evidence / n)
    return float(np.mean(evidences))


def lfc(features, y) -> float:
    """LFC: Pearson correlation of the centred linear kernel F Fᵀ with the label kernel (+1 same
    class, -1 otherwise), over all pairs."""
    y, c = _labels(y)
    f = _features(features, len(y))
    f = f - f.mean(axis=0)
    k = f @ f.T
    lab = np.where(y[:, None] == y[None, :], 1.0, -1.0)
    k, lab = k - k.mean(), lab - lab.mean()
    denom = np.sqrt((k**2).sum() * (lab**2).sum())
    return float((k * lab).sum() / denom) if denom > 0 else 0.0


def gbc(features, y, variance: float = 0.8) -> float:
    """GBC: -Σ_{i≠j} BC(class i, class j), Bhattacharyya coefficients of diagonal Gaussians fitted
    per class in the PCA space of the features (the paper's 'diagonal' variant)."""
    y, c = _labels(y)
    x = _pca(_features(features, len(y)), variance)
    mus = np.stack([x[y == k].mean(axis=0) for k in range(c)])
    vars_ = np.stack([x[y == k].var(axis=0) + 1e-6 for k in range(c)])
    total = 0.0
    for i in range(c):
        for j in range(c):
            if i == j:
                continue
            v = (vars_[i] + vars_[j]) / 2
            db = (0.125 * ((mus[i] - mus[j]) ** 2 / v).sum()
                  + 0.5 * (np.log(v).sum() - 0.5 * (np.log(vars_[i]).sum() + np.log(vars_[j]).sum())))
            total += np.exp(-db)
    return float(-total)


def pactran(features, y, lda_factor: float = 1.0, sigma2: float = 1.0, max_dim: int = 64) -> float:
    """PACTran-Gaussian on standardised, PCA-reduced (≤ ``max_dim``) features; λ = lda_factor · n.

    w* minimises the mean cross-entropy plus |w|²/(2σ²λ) (L-BFGS); with the posterior
    N(w*, s²), s² = σ²/(1 + λσ²h) optimal for the second-order bound, the bound is
    CE(w*) + |w*|²/(2σ²λ) + Σ log(1 + λσ²h)/(2λ), h the Hessian's diagonal at w*."""
    from scipy.optimize import minimize

    y, c = _labels(y)
    f = _features(features, len(y))
    x = _pca(f, 1.0)[:, :max_dim]
    x = x / (x.std(axis=0) + 1e-12)
    x = np.hstack([x, np.ones((len(x), 1))])  # bias
    n, d = x.shape
    lam = lda_factor * n
    onehot = np.eye(c)[y]

    def objective(flat):
        w = flat.reshape(d, c)
        logits = x @ w
        logits -= logits.max(axis=1, keepdims=True)
        logp = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
        p = np.exp(logp)
        loss = -(onehot * logp).sum() / n + (w**2).sum() / (2 * sigma2 * lam)
        grad = x.T @ (p - onehot) / n + w / (sigma2 * lam)
        return loss, grad.ravel()

    w = minimize(objective, np.zeros(d * c), jac=True, method="L-BFGS-B").x.reshape(d, c)
    logits = x @ w
    logits -= logits.max(axis=1, keepdims=True)
    logp = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    p = np.exp(logp)
    ce = -(onehot * logp).sum() / n
    h = (x**2).T @ (p * (1 - p)) / n  # (d, c): diagonal of the mean cross-entropy's Hessian
    bound = ce + (w**2).sum() / (2 * sigma2 * lam) + np.log1p(lam * sigma2 * h).sum() / (2 * lam)
    return float(-bound)


def ot_coupling(source, target, reg: float = 0.0, iters: int = 500) -> np.ndarray:
    """Optimal coupling of two equally weighted samples under squared Euclidean cost: exact (an
    assignment) when both have n points and ``reg`` is 0, else entropic (log-domain Sinkhorn with
    ``reg`` relative to the mean cost; default 0.05)."""
    from scipy.optimize import linear_sum_assignment

    a, b = np.asarray(source, np.float64), np.asarray(target, np.float64)
    # |a|² + |b|² - 2ab: no (n, m, d) intermediate for wide features
    cost = np.maximum((a**2).sum(1)[:, None] + (b**2).sum(1)[None, :] - 2 * a @ b.T, 0.0)
    n, m = cost.shape
    if n == m and reg == 0.0:
        rows, cols = linear_sum_assignment(cost)  # uniform marginals, n = m: a permutation is optimal
        plan = np.zeros_like(cost)
        plan[rows, cols] = 1.0 / n
        return plan
    eps = (reg or 0.05) * max(cost.mean(), 1e-12)
    log_a, log_b = np.full(n, -np.log(n)), np.full(m, -np.log(m))
    f, g = np.zeros(n), np.zeros(m)
    for _ in range(iters):
        f = eps * (log_a - _lse((g[None, :] - cost) / eps, axis=1))
        g = eps * (log_b - _lse((f[:, None] - cost) / eps, axis=0))
    return np.exp((f[:, None] + g[None, :] - cost) / eps)


def _lse(x: np.ndarray, axis: int) -> np.ndarray:
    m = x.max(axis=axis, keepdims=True)
    return (m + np.log(np.exp(x - m).sum(axis=axis, keepdims=True))).squeeze(axis)


def otce(source_features, source_labels, target_features, y, reg: float = 0.0) -> float:
    """OT-based NCE: -H(Y_t | Y_s) under the joint label distribution the coupling induces."""
    y, c = _labels(y)
    ys = np.unique(np.asarray(source_labels), return_inverse=True)[1]
    plan = ot_coupling(source_features, _features(target_features, len(y)), reg)
    if plan.shape[0] != len(ys):
        raise ValueError("source_features and source_labels must have the same length")
    joint = np.zeros((int(ys.max()) + 1, c))
    np.add.at(joint, (ys[:, None].repeat(len(y), 1), np.broadcast_to(y, plan.shape)), plan)
    ps = joint.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        cond = np.where(joint > 0, joint / ps, 1.0)
    return float((joint * np.log(cond)).sum())
