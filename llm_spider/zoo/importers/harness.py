"""lm-evaluation-harness outputs: ``results_*.json`` (per-task scores) and, from ``--log_samples``,
``samples_<task>_<timestamp>.jsonl`` (per-item results) beside it.

Which metric stands for a task: the first of ``METRICS`` it reports (unfiltered, ``none``, first),
so a multiple-choice task's accuracy is what this tool calls its score. The model is named by the
last part of ``model_name`` (a local path or a Hub id: ``models/smollm2-135m-instruct`` and
``HuggingFaceTB/SmolLM2-135M-Instruct`` become their last part); the full name, the model
arguments, ``n-samples``, lm-eval's version and date are kept beside each score.

A samples line gives a multiple-choice item when its ``filtered_resps`` hold one (log-likelihood,
is-greedy) pair per option: those are the per-option log-likelihoods; the options are the
continuations of its ``arguments``; the gold option is ``target``. Other lines (generated text) are
skipped, and the report says how many.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

from llm_spider.errors import SpiderError
from llm_spider.zoo.importers.base import Imported, jsonl, number, read_json

METRICS = ("acc", "acc_norm", "exact_match", "mc2", "mc1", "f1", "bleu")
SAMPLES = re.compile(r"^samples_(?P<task>.+)_(?P<stamp>\d{4}-\d{2}-\d{2}T[\d.\-]+)\.jsonl$")


def find(paths: list[Path]) -> list[Path]:
    """results_*.json files under ``paths`` (their samples files are found beside them)."""
    out = []
    for p in paths:
        if p.is_file() and p.name.startswith("results_") and p.suffix == ".json":
            out.append(p)
        elif p.is_dir():
            out += sorted(p.rglob("results_*.json"))
    return out


def model_name(results: dict) -> str:
    name = str(results.get("model_name") or results.get("config", {}).get("model_args", {}).get("pretrained", ""))
    return name.rstrip("/").split("/")[-1] or "model"


def read(files: list[Path]) -> Imported:
    out = Imported()
    for path in files:
        out.extend(read_results(path))
    return out


def read_results(path: Path) -> Imported:
    """One results file and the samples files of the same run (same timestamp) beside it."""
    data = read_json(path)
    if not isinstance(data, dict) or not isinstance(data.get("results"), dict):
        raise SpiderError(f"{path}: not an lm-evaluation-harness results file (no 'results' block)")
    model = model_name(data)
    groups = {t for t, subs in (data.get("group_subtasks") or {}).items() if subs}
    config = data.get("config") or {}
    provenance = {"model_name": data.get("model_name"), "model_args": json.dumps(config.get("model_args"), sort_keys=True),
                  "lm_eval_version": data.get("lm_eval_version"),
                  "date": dt.datetime.fromtimestamp(float(data["date"]), dt.timezone.utc).isoformat(timespec="seconds")
                  if isinstance(data.get("date"), (int, float)) else data.get("date")}
    out = Imported()
    scored = {}
    for task, block in data["results"].items():
        if task in groups:
            out.skipped.append(f"{path}: '{task}' is a group of tasks (its subtasks are imported one by one)")
            continue
        metric = next((m for m in METRICS if f"{m},none" in block), None) or next(
            (k.split(",")[0] for k in block if "," in k and "_stderr" not in k), None)
        key = next((k for k in (f"{metric},none", *[k for k in block if k.startswith(f"{metric},")]) if k in block), None)
        if metric is None or key is None:
            out.skipped.append(f"{path}: '{task}' reports no metric")
            continue
        score = number(block[key], f"{path}: '{task}' {key}")
        n = (data.get("n-samples") or {}).get(task, {}).get("effective")
        scored[task] = key
        out.scores.append({"model": model, "task": task, "score": score, "metric": key, "n": n,
                           "tool": "lm-evaluation-harness", "file": str(path), **provenance})
        out.taken.append(f"{model} · {task}: {key} {score:.4f}" + (f" on {n} samples" if n else ""))
    stamp = path.stem[len("results_"):]
    for sample in sorted(path.parent.glob(f"samples_*_{stamp}.jsonl")):
        m = SAMPLES.match(sample.name)
        if not m:
            continue
        task = m["task"]
        if task not in scored:
            raise SpiderError(f"{sample}: samples of task '{task}', which {path.name} has no score for")
        out.extend(read_samples(sample, model, task, scored[task].split(",")[0]))
    return out


def read_samples(path: Path, model: str, task: str, metric: str) -> Imported:
    """Per-item results of one (model, task) run."""
    out = Imported()
    skipped = 0
    for where, rec in jsonl(path):
        item = _item(rec, where, metric)
        if item is None:
            skipped += 1
            continue
        out.items.append({"model": model, "task": task, "file": str(path), **item})
    kept = len(out.items)
    if kept:
        out.taken.append(f"{model} · {task}: {kept} items with per-option log-likelihoods ({path.name})")
    if skipped:
        out.skipped.append(f"{path}: {skipped} item(s) without per-option log-likelihoods (generated text) skipped")
    return out


def _item(rec: dict, where: str, metric: str) -> dict | None:
    if not isinstance(rec, dict) or "doc_id" not in rec:
        raise SpiderError(f"{where}: not an lm-eval sample (no doc_id)")
    resps = rec.get("filtered_resps")
    args = rec.get("arguments") or {}
    if not isinstance(resps, list) or len(resps) < 2 or not all(isinstance(r, list) and r for r in resps):
        return None
    logprobs = [number(r[0], f"{where}: log-likelihood") for r in resps]
    parts = [args[k] for k in sorted(args, key=lambda k: int(k.rsplit("_", 1)[-1]))] if isinstance(args, dict) else []
    options = [str(p.get("arg_1", "")).strip() for p in parts] if len(parts) == len(resps) else [str(i) for i in range(len(resps))]
    question = str(parts[0].get("arg_0", "")) if parts else ""
    target = str(rec.get("target", "")).strip()
    if target.isdigit() and int(target) < len(options):
        answer = int(target)
    elif target in options:
        answer = options.index(target)
    else:
        return None
    correct = rec.get(metric)
    correct = int(number(correct, f"{where}: {metric}") >= 0.5) if correct is not None else int(
        max(range(len(logprobs)), key=logprobs.__getitem__) == answer)
    return {"doc": int(rec["doc_id"]), "question": question, "options": options, "answer_index": answer,
            "correct": correct, "logprobs": logprobs}
