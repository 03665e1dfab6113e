"""Loaders for the public Hugging Face Hub copies of the data sets, mapped onto the internal tables.

Used when no data folder holds a data set and the machine is online. Each loader takes the
function that reaches the Hub as an argument (``fetch``: ``datasets.load_dataset``'s signature;
``download``: a Hub repository's files as a local folder), so the mapping itself can be tested on
small files written in the Hub datasets' own layout. The internal tables are those the data
folder's readers (``folder.py``) produce, so nothing downstream knows where a table came from.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from llm_spider.datasets.folder import MMLU_COLUMNS

Fetch = Callable[..., Any]
Download = Callable[[str], Path]

MMLU_HUB = "cais/mmlu"
BBH_HUB = "lukaemon/bbh"
LEADERBOARD_V2_HUB = "open-llm-leaderboard/contents"
LEADERBOARD_V1_HUB = "open-llm-leaderboard-old/results"
MMLU_PRO_HUB = "TIGER-Lab/MMLU-Pro"

# cais/mmlu's split names → ours (the original CSVs' folders).
MMLU_SPLITS = {"dev": "dev", "validation": "val", "test": "test"}
# The six v2 benchmarks: the leaderboard's "<name> Raw" columns hold the accuracy in [0, 1].
V2_BENCHMARKS = ("IFEval", "BBH", "MATH Lvl 5", "GPQA", "MUSR", "MMLU-PRO")
# v1 result keys (lm-evaluation-harness task|shots) → our column and the metric the leaderboard showed.
V1_TASKS = {
    "harness|arc:challenge|25": ("ARC", "acc_norm"),
    "harness|hellaswag|10": ("HellaSwag", "acc_norm"),
    "harness|truthfulqa:mc|0": ("TruthfulQA", "mc2"),
    "harness|winogrande|5": ("Winogrande", "acc"),
    "harness|gsm8k|5": ("GSM8K", "acc"),
}
V1_MMLU_PREFIX, V1_MMLU_SUFFIX = "harness|hendrycksTest-", "|5"


def unreachable(timeout: float = 3.0) -> str | None:
    """Why the Hub cannot be reached, or None: one quick connection instead of the Hub clients' own
    retries (half a minute of back-off on a machine without network). Behind a proxy, the clients
    are left to decide."""
    import os
    import socket
    from urllib.parse import urlparse

    if any(os.environ.get(v) for v in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")):
        return None
    from huggingface_hub import constants

    url = urlparse(constants.ENDPOINT)
    try:
        socket.create_connection((url.hostname, url.port or 443), timeout=timeout).close()
    except OSError as exc:
        return f"the Hugging Face Hub ({constants.ENDPOINT}) cannot be reached ({exc.strerror or exc})"
    return None


def load_dataset(*args, **kwargs):
    """``datasets.load_dataset``, imported only when the Hub is really used (it is slow to import)."""
    import datasets

    return datasets.load_dataset(*args, **kwargs)


def snapshot(repo_id: str, patterns: list[str]) -> Path:
    """A Hub dataset repository's matching files, downloaded once into the Hugging Face cache."""
    from huggingface_hub import snapshot_download

    return Path(snapshot_download(repo_id=repo_id, repo_type="dataset", allow_patterns=patterns))


def _frame(ds) -> pd.DataFrame:
    return ds if isinstance(ds, pd.DataFrame) else ds.to_pandas()


# --- MMLU ------------------------------------------------------------------------------------------
def mmlu(fetch: Fetch = load_dataset) -> pd.DataFrame:
    """``cais/mmlu`` (config ``all``: question, subject, choices, answer index) → subject, split,
    question, A-D, answer letter; ordered like the original CSVs (split, then subject)."""
    frames = []
    for hub_split, split in MMLU_SPLITS.items():
        df = _frame(fetch(MMLU_HUB, "all", split=hub_split))
        choices = [list(c) for c in df["choices"]]
        if any(len(c) != 4 for c in choices):
            raise ValueError(f"{MMLU_HUB} {hub_split}: expected four choices per question")
        part = pd.DataFrame({"subject": df["subject"].astype(str), "split": split,
                             "question": df["question"].astype(str)})
        for j, letter in enumerate("ABCD"):
            part[letter] = [str(c[j]) for c in choices]
        part["answer"] = ["ABCD"[int(a)] for a in df["answer"]]
        frames.append(part.sort_values("subject", kind="stable"))
    return pd.concat(frames, ignore_index=True)[["subject", "split", *MMLU_COLUMNS]]


# --- BIG-Bench-Hard --------------------------------------------------------------------------------
def bbh(tasks: tuple[str, ...], fetch: Fetch = load_dataset) -> pd.DataFrame:
    """``lukaemon/bbh`` (one config per task, split ``test``: input, target) → task, input, target."""
    frames = []
    for task in sorted(tasks):
        df = _frame(fetch(BBH_HUB, task, split="test"))
        frames.append(pd.DataFrame({"task": task, "input": df["input"].astype(str),
                                    "target": df["target"].astype(str)}))
    return pd.concat(frames, ignore_index=True)


# --- multiple-choice sets with a labelled-choices layout ---------------------------------------------
# set → (Hub id, config, {Hub split: our split}, question field). Sets whose public copies differ from
# the data folder's in split, size or option order (TruthfulQA, WinoGrande, PIQA, SocialIQA, MedQA)
# have no loader: they need a data folder.
MC_HUB = {
    "arc-challenge": ("allenai/ai2_arc", "ARC-Challenge", {"validation": "dev", "test": "test"}, "question"),
    "arc-easy": ("allenai/ai2_arc", "ARC-Easy", {"validation": "dev", "test": "test"}, "question"),
    "openbookqa": ("allenai/openbookqa", "main", {"validation": "dev", "test": "test"}, "question_stem"),
    "commonsenseqa": ("tau/commonsense_qa", None, {"validation": "test"}, "question"),  # its test split has no answers
}


def mc(name: str, fetch: Fetch = load_dataset) -> pd.DataFrame:
    """A set stored as question, ``choices`` {text, label} and ``answerKey`` (a label) → task, split,
    question, options, answer index (the data folder's ``mc/<set>`` table)."""
    repo, config, splits, field = MC_HUB[name]
    frames = []
    for hub_split, split in splits.items():
        df = _frame(fetch(repo, config, split=hub_split) if config else fetch(repo, split=hub_split))
        labels = [list(c["label"]) for c in df["choices"]]
        answers = [lab.index(str(key)) if str(key) in lab else -1 for lab, key in zip(labels, df["answerKey"])]
        frames.append(pd.DataFrame({"task": name, "split": split, "question": df[field].astype(str),
                                    "options": [list(c["text"]) for c in df["choices"]], "answer": answers}))
    out = pd.concat(frames, ignore_index=True)
    return out[out["answer"] >= 0].reset_index(drop=True)  # an unanswerable row cannot be scored


# --- MMLU-Pro --------------------------------------------------------------------------------------
def mmlu_pro_questions(fetch: Fetch = load_dataset) -> pd.DataFrame:
    """``TIGER-Lab/MMLU-Pro`` (split ``test``) → the questions table (its chain-of-thought column dropped)."""
    df = _frame(fetch(MMLU_PRO_HUB, split="test"))
    out = df[["question_id", "category", "src", "question", "options", "answer", "answer_index"]].copy()
    out["options"] = [list(o) for o in out["options"]]
    return out.astype({"question_id": "int64", "answer_index": "int64"}).reset_index(drop=True)


# --- the Open LLM Leaderboard ----------------------------------------------------------------------
def leaderboard(fetch: Fetch = load_dataset, download: Download | None = None) -> pd.DataFrame:
    """The Open LLM Leaderboard's public results as one models × tasks table in the data folder's
    columns: v1's per-run result files (``open-llm-leaderboard-old/results``: the 57 MMLU subjects,
    ARC, HellaSwag, TruthfulQA, Winogrande, GSM8K) joined on the model's Hub id with v2's table
    (``open-llm-leaderboard/contents``: IFEval, BBH, MATH Lvl 5, GPQA, MUSR, MMLU-PRO). The
    per-subtask v2 columns of the data folder's table (``bbh_*``, ``math_*``, ...) come from
    per-model details repositories and are not fetched."""
    download = download or (lambda repo: snapshot(repo, ["*results_*.json"]))
    v1 = leaderboard_v1(download(LEADERBOARD_V1_HUB))
    v2 = leaderboard_v2(_frame(fetch(LEADERBOARD_V2_HUB, split="train")))
    merged = v1.merge(v2, on="Model", how="outer")
    first = ["Model", "#Params (B)"]
    return merged[first + [c for c in merged.columns if c not in first]].sort_values("Model", ignore_index=True)


def leaderboard_v2(df: pd.DataFrame) -> pd.DataFrame:
    """One row per model (its first evaluation when it was run at several precisions)."""
    missing = [f"{b} Raw" for b in V2_BENCHMARKS if f"{b} Raw" not in df.columns]
    if missing or "fullname" not in df.columns:
        raise ValueError(f"{LEADERBOARD_V2_HUB}: missing column(s) {', '.join(missing or ['fullname'])}")
    out = pd.DataFrame({"Model": df["fullname"].astype(str)})
    out["#Params (B)"] = pd.to_numeric(df.get("#Params (B)"), errors="coerce") if "#Params (B)" in df else np.nan
    for b in V2_BENCHMARKS:
        out[b] = pd.to_numeric(df[f"{b} Raw"], errors="coerce")
    return out.drop_duplicates("Model", keep="first").reset_index(drop=True)


def _v1_model(raw: dict, path: Path, root: Path) -> str:
    for section in ("config_general", "config"):
        name = (raw.get(section) or {}).get("model_name")
        if name:
            return str(name)
    return "/".join(path.relative_to(root).parts[:-1])


def leaderboard_v1(root: Path) -> pd.DataFrame:
    """Every ``results_<date>.json`` under ``root`` (one folder per model; a later run's numbers
    replace an earlier run's) → one row per model with the leaderboard's v1 columns."""
    by_model: dict[str, dict[str, float]] = {}
    for path in sorted(Path(root).rglob("results_*.json")):  # dated names: sorted = chronological
        raw = json.loads(path.read_text())
        scores = by_model.setdefault(_v1_model(raw, path, Path(root)), {})
        for key, metrics in (raw.get("results") or {}).items():
            if key in V1_TASKS:
                column, metric = V1_TASKS[key]
            elif key.startswith(V1_MMLU_PREFIX) and key.endswith(V1_MMLU_SUFFIX):
                column, metric = "hendrycksTest-" + key[len(V1_MMLU_PREFIX):-len(V1_MMLU_SUFFIX)], "acc"
            else:
                continue
            if isinstance(metrics, dict) and metric in metrics:
                scores[column] = float(metrics[metric])
    if not by_model:
        raise ValueError(f"{LEADERBOARD_V1_HUB}: no results_*.json files found")
    df = pd.DataFrame.from_dict(by_model, orient="index").rename_axis("Model").reset_index()
    subjects = sorted(c for c in df.columns if str(c).startswith("hendrycksTest-"))
    if subjects:  # the leaderboard's MMLU: the mean over the subjects, where a model has them all
        df["MMLU"] = df[subjects].mean(axis=1, skipna=False)
    return df[["Model", *[c for c in df.columns if c != "Model" and c not in subjects], *subjects]]
