"""Scores and per-item logs from other evaluation tools, into a history and a recorded zoo.

Users who choose among LLMs already run lm-evaluation-harness or OpenCompass; their outputs are the
history (per-task scores) and the recorded zoo (per-item results with per-option log-likelihoods)
this tool needs. One module a format (harness.py, opencompass.py), each turning files into an
``Imported``; this module finds the files under the paths given, merges what they hold, refuses
contradictions (the same model and task twice) with one line naming both files, and writes the
result all at once: a history table (history.csv, with each score's provenance) and, where items
were logged, a recorded zoo of the same name (zoo/recorded.py), so `select --zoo NAME` evaluates
its items without running a model.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from llm_spider.errors import SpiderError
from llm_spider.zoo.importers.base import Imported

HISTORY_FILE = "history.csv"


def read_paths(paths: Iterable[Path]) -> Imported:
    """Every file of a known format under ``paths`` (files or folders), merged and checked."""
    from llm_spider.zoo.importers import harness, opencompass

    out = Imported()
    found = False
    for reader in (harness, opencompass):
        files = reader.find([Path(p) for p in paths])
        if files:
            found = True
            out.extend(reader.read(files))
    missing = [p for p in paths if not Path(p).exists()]
    if missing:
        raise SpiderError(f"{missing[0]}: no such file or folder")
    if not found:
        raise SpiderError("no lm-evaluation-harness results (results_*.json) or OpenCompass summary/predictions "
                          f"found under {', '.join(map(str, paths))}")
    _check_unique(out)
    if not out.scores:
        raise SpiderError("the files hold no usable scores")
    return out


def _check_unique(data: Imported) -> None:
    seen: dict[tuple[str, str], str] = {}
    for s in data.scores:
        key = (s["model"], s["task"])
        if key in seen:
            raise SpiderError(f"{s['file']}: '{s['model']}' on '{s['task']}' was already imported from {seen[key]}; "
                              "keep one run of each model and task")
        seen[key] = s["file"]
    scored = set(seen)
    for it in data.items:
        if (it["model"], it["task"]) not in scored:
            raise SpiderError(f"{it['file']}: per-item results of '{it['model']}' on '{it['task']}' have no score "
                              "in any results file given")


def write(data: Imported, root: Path, name: str) -> tuple[pd.DataFrame, bool]:
    """Write the history (and, with items, the recorded zoo) to ``root``, replacing what was there,
    all at once; returns the history and whether a recorded zoo was written."""
    from llm_spider.writing import replaced_dir

    history = pd.DataFrame(data.scores).sort_values(["model", "task"], ignore_index=True)
    history["source"] = f"import:{name}"  # how a history read back finds its tasks' prompts (api.imported_tasks)
    with replaced_dir(root) as tmp:  # all or nothing: the old import stays until this one is whole
        wrote_items = _write(data, tmp, name, history)
    return history, wrote_items


def _write(data: Imported, tmp: Path, name: str, history: pd.DataFrame) -> bool:
    from llm_spider.zoo.recorded import CONFIG_FILE, ITEMS_FILE, QUESTIONS_FILE

    history.to_csv(tmp / HISTORY_FILE, index=False)
    items = [it for it in data.items if it.get("logprobs") is not None or it.get("correct") is not None]
    if items:
        df = pd.DataFrame(items)
        df["question_id"] = df["task"] + "/" + df["doc"].astype(str)
        questions = df.drop_duplicates("question_id")[["question_id", "task", "question", "options", "answer_index"]]
        results = df[["model", "question_id", "correct", "logprobs"]].copy()
        results["correct"] = results["correct"].astype(int)
        # the option each model chose (what label-free selection compares): the likeliest one
        results["pred"] = [str(max(range(len(lp)), key=lp.__getitem__)) if lp is not None else ""
                           for lp in results["logprobs"]]
        questions.to_parquet(tmp / QUESTIONS_FILE, index=False)
        results.to_parquet(tmp / ITEMS_FILE, index=False)
        (tmp / CONFIG_FILE).write_text(json.dumps({"name": name, "levels": ["task"], "min_items": {"task": 1},
                                                   "source": "import:" + ",".join(sorted({s["tool"] for s in data.scores}))},
                                                  indent=1) + "\n")
    return bool(items)
