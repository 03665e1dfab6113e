"""The summary of benchmarks/scoring_modes.py: how the scoring modes order a zoo's members."""

from __future__ import annotations

import pandas as pd


def summarize_modes(records: list[dict]) -> pd.DataFrame:
    """Per mode (against the truth) and per pair of modes: mean weighted τ over tasks; against the
    truth also the mean top-1 regret and the tasks whose best member the mode picks."""
    df = pd.DataFrame(records)
    rows = []
    for (measure, method), g in df.groupby(["measure", "method"], sort=False):
        row = {"measure": measure, "method": method, "tasks": len(g), "weighted_tau": g["weighted_tau"].mean()}
        if measure == "vs_truth":
            row["top1_regret"] = g["top1_regret"].mean()
            row["top1_hits"] = int((g["top1_model"] == g["truth_top1"]).sum())
        rows.append(row)
    return pd.DataFrame(rows)
