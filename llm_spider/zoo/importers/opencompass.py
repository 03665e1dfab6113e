"""OpenCompass outputs: the summary CSV (``dataset, version, metric, mode, <one column per model>``)
and the per-item predictions JSON (``predictions/<model>/<dataset>.json``).

OpenCompass reports scores in percent: they are divided by 100, so they sit on the history's
[0, 1] scale (a missing score, ``-``, is left out). A predictions file maps an item's index to its
record: from a perplexity run, one ``label: X`` entry per option with its ``PPL``, whose
``-log(PPL)`` stands for the option's log-likelihood (the mean per token); from a generation run,
``prediction`` and ``gold`` only, which give whether it was right but no per-option scores.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

from llm_spider.errors import SpiderError
from llm_spider.zoo.importers.base import Imported, number, read_json

SUMMARY_HEADER = ("dataset", "version", "metric", "mode")


def find(paths: list[Path]) -> list[Path]:
    """Summary CSVs (by their header) and predictions JSONs (under a ``predictions`` folder)."""
    out = []
    for p in paths:
        files = [p] if p.is_file() else sorted(p.rglob("*")) if p.is_dir() else []
        for f in files:
            if (f.suffix == ".csv" and _is_summary(f)) or (f.suffix == ".json" and f.parent.parent.name == "predictions"):
                out.append(f)
    return out


def _is_summary(path: Path) -> bool:
    try:
        with path.open(encoding="utf-8") as f:
            head = next(csv.reader(f), [])
    except (OSError, UnicodeDecodeError):
        return False
    return tuple(h.strip() for h in head[:4]) == SUMMARY_HEADER


def read(files: list[Path]) -> Imported:
    out = Imported()
    for f in files:
        out.extend(read_summary(f) if f.suffix == ".csv" else read_predictions(f))
    return out


def read_summary(path: Path) -> Imported:
    out = Imported()
    with path.open(encoding="utf-8") as f:
        rows = list(csv.reader(f))
    models = [m.strip() for m in rows[0][4:]]
    if not models:
        raise SpiderError(f"{path}:1: no model columns after {', '.join(SUMMARY_HEADER)}")
    for n, row in enumerate(rows[1:], 2):
        if not any(c.strip() for c in row):
            continue
        if len(row) != len(rows[0]):
            raise SpiderError(f"{path}:{n}: {len(row)} fields, the header has {len(rows[0])}")
        dataset, version, metric, mode = (c.strip() for c in row[:4])
        for model, value in zip(models, row[4:]):
            if value.strip() in ("-", ""):
                out.skipped.append(f"{path}:{n}: no score of '{model}' on '{dataset}'")
                continue
            score = number(value, f"{path}:{n}: '{model}' on '{dataset}'") / 100
            out.scores.append({"model": model, "task": dataset, "score": score, "metric": metric, "n": None,
                               "tool": "opencompass", "file": str(path), "version": version, "mode": mode})
            out.taken.append(f"{model} · {dataset}: {metric} {100 * score:.2f} % → {score:.4f}")
    return out


def read_predictions(path: Path) -> Imported:
    data = read_json(path)
    if not isinstance(data, dict):
        raise SpiderError(f"{path}: an OpenCompass predictions file is an object of item records")
    model, task = path.parent.name, path.stem
    out = Imported()
    skipped = 0
    for key, rec in data.items():
        where = f"{path}: item {key}"
        if not isinstance(rec, dict) or "prediction" not in rec or "gold" not in rec:
            raise SpiderError(f"{where}: needs 'prediction' and 'gold'")
        labels = [k[len("label: "):] for k in rec if k.startswith("label: ")]
        gold, pred = str(rec["gold"]).strip(), str(rec["prediction"]).strip()
        if len(labels) < 2 or gold not in labels:
            skipped += 1
            continue
        logprobs = []
        for lab in labels:
            ppl = number(rec[f"label: {lab}"].get("PPL"), f"{where}: PPL of {lab}")
            logprobs.append(-math.log(ppl) if ppl > 0 else 0.0)
        out.items.append({"model": model, "task": task, "file": str(path), "doc": int(key) if str(key).isdigit() else key,
                          "question": str(rec.get("origin_prompt", "")), "options": labels,
                          "answer_index": labels.index(gold), "correct": int(pred == gold), "logprobs": logprobs})
    if out.items:
        out.taken.append(f"{model} · {task}: {len(out.items)} items with per-option perplexities ({path.name})")
    if skipped:
        out.skipped.append(f"{path}: {skipped} item(s) without per-option perplexities (a generation run) skipped")
    return out
