"""What the Spider's scorer starts from, read from the history: the residual's prior and the memory.

Why a residual over a prior: LLM abilities are highly correlated across tasks, so a model's mean
score is a strong prior; the transformer starts at exactly that ranking and learns only the
task-dependent part. Three priors:

- ``"mean"``: the standardised leaderboard mean over the history (the default, with the memory);
- ``"stacked"``: per task, ``(1 - λ)`` × the mean over the history tasks it may see + ``λ`` × the
  similar-tasks estimate, one λ chosen by leave-one-out on the history (for zoos with few tasks:
  one scalar is well determined by a couple of dozen held-out tasks, a transformer is not);
- ``"similar"``: the similar-tasks estimate alone (λ = 1), which the live zoos use with the
  profile-mixed similarity.

All functions are pure: arrays in, arrays out, so the trainer, the ranker and ``add_model`` share
them without sharing state.
"""

from __future__ import annotations

import numpy as np
import torch

from llm_spider.metrics import weighted_tau
from llm_spider.ranking.similarity import mix_similarity, similar_estimate

PRIORS = ("mean", "stacked", "similar")
HISTORY_PRIORS = ("stacked", "similar")  # priors that read the history per task
STACK_GRID = np.linspace(0.0, 1.0, 11)


def fixed_length(tokens: np.ndarray, n: int) -> np.ndarray:
    """Exactly ``n`` rows (cycling when a task has fewer prompts), so tasks stack into one batch."""
    idx = np.arange(n) % len(tokens)
    return tokens[idx]


def centroids(tokens: np.ndarray) -> np.ndarray:
    """(tasks, P, D) → unit-norm mean token per task: what the memory and priors compare tasks by."""
    c = tokens.mean(axis=1)
    return (c / np.maximum(np.linalg.norm(c, axis=1, keepdims=True), 1e-12)).astype(np.float32)


def zscore(x: np.ndarray) -> np.ndarray:
    """Standardised across models; 0 where unknown (no evidence either way)."""
    ok = np.isfinite(x)
    if ok.sum() < 2:
        return np.zeros_like(x, dtype=np.float64)
    sd = x[ok].std()
    return np.where(ok, (x - x[ok].mean()) / (sd if sd > 1e-12 else 1.0), 0.0)


def standardise(raw: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-task z-scores over the models scored on it (columns = tasks); returns z, mean, sd."""
    with np.errstate(invalid="ignore"):
        mu = np.nanmean(raw, axis=0)
        sd = np.nanstd(raw, axis=0)
    sd = np.where(np.isfinite(sd) & (sd > 1e-8), sd, 1.0)
    return (raw - mu) / sd, mu, sd


def mean_prior(means: np.ndarray, residual: bool = True) -> np.ndarray:
    """Standardised leaderboard means (0 where a model has none); zeros without a residual."""
    if not residual:
        return np.zeros_like(means)
    ok = np.isfinite(means)
    if not ok.any():
        return np.zeros_like(means)
    sd = means[ok].std() or 1.0
    return np.where(ok, (means - means[ok].mean()) / sd, 0.0)


def prior_parts(tokens: np.ndarray, exclude: np.ndarray, history_centroids: np.ndarray, scores: np.ndarray,
                profile: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Per task (T, M) each: the standardised mean score over the history tasks it may see, and the
    standardised similar-tasks estimate from them. ``exclude`` (T, tasks) hides history tasks;
    ``scores`` (models × tasks, NaN = unscored); ``profile`` (T, tasks): leaderboard-profile
    similarities to mix into the encoder's (NaN: unknown)."""
    sims = mix_similarity(centroids(tokens) @ history_centroids.T, profile)
    mean, near = np.zeros((2, len(tokens), len(scores)))
    for i in range(len(tokens)):
        seen = np.where(exclude[i][None, :], np.nan, scores)
        with np.errstate(invalid="ignore"):
            m = np.nanmean(seen, axis=1) if (~np.isnan(seen)).any() else np.full(len(seen), np.nan)
        mean[i] = zscore(m)
        near[i] = zscore(similar_estimate(seen, np.where(exclude[i], -np.inf, sims[i])))
    return mean, near


def choose_lambda(history_centroids: np.ndarray, scores: np.ndarray, profile_sims: np.ndarray | None
                  ) -> tuple[float, list[float]]:
    """λ of the stacked prior by leave-one-out on the history: each task ranked from all the others,
    the λ with the best mean weighted τ (ties: the smaller, closer to the leaderboard mean).
    Returns λ and the mean τ of every λ on ``STACK_GRID``."""
    n = scores.shape[1]
    if n < 2:
        return 0.0, []
    # Each history task as a one-prompt batch of its centroid, hiding only itself.
    profile = profile_rows(profile_sims, np.arange(n))
    mean, near = prior_parts(history_centroids[:, None, :], np.eye(n, dtype=bool), history_centroids, scores, profile)
    taus = []
    for j in range(n):
        ok = ~np.isnan(scores[:, j])
        if ok.sum() >= 2:
            truth = scores[ok, j]
            taus.append([weighted_tau(truth, ((1 - lam) * mean[j] + lam * near[j])[ok]) for lam in STACK_GRID])
    if not taus:
        return 0.0, []
    taus = np.mean(taus, axis=0)
    return float(STACK_GRID[int(np.argmax(taus))]), [round(float(t), 4) for t in taus]


def profile_rows(profile_sims: np.ndarray | None, idx: np.ndarray, n_unnamed: int = 0) -> np.ndarray | None:
    """Profile similarities of history tasks ``idx`` to every history task, then ``n_unnamed`` rows
    of NaN (mixtures, which have no profile: they fall back to the encoder)."""
    if profile_sims is None:
        return None
    return np.concatenate([profile_sims[idx], np.full((n_unnamed, profile_sims.shape[1]), np.nan)])


def memory_inputs(tokens: np.ndarray, exclude: np.ndarray, history_centroids: np.ndarray, z: np.ndarray,
                  mean_prior_: np.ndarray, prior: torch.Tensor | None = None) -> tuple:
    """The memory read-out's inputs (similarities, score deviations, usable mask) for a batch of
    tasks; ``exclude`` (batch, tasks) marks the historical tasks each may not look up (itself, or a
    mixture's parts). ``z``: standardised scores (models × tasks, NaN = unscored); ``prior``: a
    prior being fitted (``add_model``) in place of ``mean_prior_``."""
    sim = torch.from_numpy(centroids(tokens) @ history_centroids.T).float()
    known = ~np.isnan(z)
    if prior is None:  # float64 difference, then float32, as the shipped checkpoint was trained
        values = torch.tensor(np.where(known, z - mean_prior_[:, None], 0.0), dtype=torch.float32)
    else:
        values = torch.where(torch.from_numpy(known), torch.tensor(np.nan_to_num(z), dtype=torch.float32)
                             - prior[:, None], 0.0)
    mask = torch.from_numpy(known[None, :, :] & ~exclude[:, None, :])
    return sim, values, mask
