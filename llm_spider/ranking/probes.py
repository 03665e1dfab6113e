"""PTM-specific task representation: what a candidate's own log-probabilities on a few probe items say.

Model Spider re-ranks its top candidates by running each on a handful of the target task's items
and replacing the general (encoder) view of the task with the model's own: here one token per
probe item, built from the candidate's option log-probabilities. The features are the ones that
carry signal about accuracy without assuming labels are always there: the gold option's
probability and whether it is the argmax (where labels exist), the model's certainty (max
probability, margin, normalised entropy), how much probability the options hold in the full
vocabulary, and agreement with the other candidates (models that are right tend to agree).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

FEATURES = ("p_gold_above_chance", "correct", "max_prob", "margin", "entropy", "option_mass",
            "agreement", "has_label")
N_FEATURES = len(FEATURES)


def _probs(lp: np.ndarray) -> np.ndarray:
    p = np.exp(np.asarray(lp, dtype=np.float64))
    return p / p.sum()


def probe_features(logprobs: Mapping[str, Sequence[np.ndarray]], answers: Sequence[int | None],
                   mass: Mapping[str, Sequence[float]] | None = None) -> dict[str, np.ndarray]:
    """Per candidate, a (n_probes, N_FEATURES) array from its option log-probabilities.

    ``logprobs[m][i]``: candidate m's option log-probabilities on probe i (normalised over the
    options); ``answers[i]``: the gold option index or None; ``mass[m][i]``: log of the options' share
    of the full vocabulary (NaN or absent where the backend cannot tell). Agreement is the mean
    probability the *other* candidates give this candidate's answer (chance level when alone).
    """
    models = list(logprobs)
    probs = {m: [_probs(lp) for lp in logprobs[m]] for m in models}
    out = {}
    for m in models:
        rows = []
        for i, p in enumerate(probs[m]):
            n = len(p)
            order = np.sort(p)[::-1]
            gold = answers[i]
            labelled = gold is not None and 0 <= int(gold) < n
            others = [probs[o][i][int(np.argmax(p))] for o in models if o != m and len(probs[o][i]) == n]
            lm = float(mass[m][i]) if mass is not None and m in mass else np.nan
            rows.append([
                (p[int(gold)] - 1.0 / n) if labelled else 0.0,
                float(np.argmax(p) == int(gold)) if labelled else 0.0,
                order[0],
                order[0] - (order[1] if n > 1 else 0.0),
                float(-(p * np.log(np.clip(p, 1e-12, None))).sum() / np.log(n)) if n > 1 else 0.0,
                float(np.exp(lm)) if np.isfinite(lm) else 1.0,
                float(np.mean(others)) if others else 1.0 / n,
                float(labelled),
            ])
        out[m] = np.asarray(rows, dtype=np.float32)
    return out


def stored_probe_rows(items, models: Sequence[str], task: str, probe_index: Sequence[int]) -> dict:
    """Per model, its stored per-item results on ``task``'s probes in probe order (a frame indexed by
    item with answer, logprobs, mass; `evaluate`'s items table), for the models that have every probe."""
    rows = items[(items["task"] == task) & items["model"].isin(list(models)) & items["item"].isin(list(probe_index))]
    out = {}
    for m, g in rows.groupby("model"):
        g = g.drop_duplicates("item").set_index("item").reindex(list(probe_index))
        if g["logprobs"].notna().all():
            out[m] = g
    return {m: out[m] for m in models if m in out}


def features_from_items(items, models: Sequence[str], task: str, probe_index: Sequence[int]) -> dict[str, np.ndarray]:
    """Probe features of ``models`` on ``task`` from stored per-item results (a frame with columns
    model, task, item, answer, logprobs, mass, as `evaluate` writes): the training view of re-ranking,
    where the history's own runs stand in for live probe runs."""
    by_model = stored_probe_rows(items, models, task, probe_index)
    if not by_model:
        return {}
    answers = [int(a) for a in next(iter(by_model.values()))["answer"]]
    lps = {m: [np.asarray(x, dtype=np.float64) for x in g["logprobs"]] for m, g in by_model.items()}
    mass = {m: g["mass"].astype(float).tolist() for m, g in by_model.items()}
    return probe_features(lps, answers, mass)
