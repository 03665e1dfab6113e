"""Readers for a local data folder laid out as ``../shared/data`` (see docs/data.md).

One function per table: it names the source files (so that the cache can key on their content)
and turns them into the internal table the rest of the package reads. Nothing here caches or
decides where the folder is: that is the data layer's job (``llm_spider.datasets``).
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pandas as pd

MMLU_SPLITS = ("dev", "val", "test")
MMLU_COLUMNS = ["question", "A", "B", "C", "D", "answer"]
LEADERBOARD_FILE = "leaderboard/open_llm_leaderboard_skills.csv"
VISION_DIR = "vision/model_spider_published"


# --- which files make up each table --------------------------------------------------------------
def leaderboard_files(root: Path) -> list[Path]:
    return [root / LEADERBOARD_FILE]


def mmlu_files(root: Path) -> list[Path]:
    return [p for split in MMLU_SPLITS for p in sorted((root / "mmlu" / split).glob(f"*_{split}.csv"))]


def bbh_files(root: Path) -> list[Path]:
    return sorted((root / "bbh").glob("*.json"))


def mc_files(root: Path, task: str) -> list[Path]:
    """The test split (required) and, where the folder has it, the dev split before it."""
    dev = root / "mc" / task / "dev.json"
    return [*([dev] if dev.is_file() else []), root / "mc" / task / "test.json"]


def mmlu_pro_questions_files(root: Path) -> list[Path]:
    return [root / "mmlu_pro" / "questions.jsonl.gz"]


def mmlu_pro_results_files(root: Path) -> list[Path]:
    return [root / "mmlu_pro" / "results.csv.gz"]


def vision_files(root: Path, table: str) -> list[Path]:
    return [root / VISION_DIR / f"{table}.csv"]


# --- the tables ----------------------------------------------------------------------------------
def read_leaderboard(files: list[Path]) -> pd.DataFrame:
    """188 LLMs × their task scores and model facts; the CSV's unnamed row-number column is dropped."""
    df = pd.read_csv(files[0])
    return df.drop(columns=[c for c in df.columns if str(c).startswith("Unnamed:")])


def read_mmlu(files: list[Path]) -> pd.DataFrame:
    """subject, split, question, A-D, answer (a letter); one header-less CSV per subject and split."""
    frames = []
    for path in files:
        split = path.parent.name
        part = pd.read_csv(path, header=None, names=MMLU_COLUMNS, keep_default_na=False, dtype=str)
        part.insert(0, "split", split)
        part.insert(0, "subject", path.name[: -len(f"_{split}.csv")])
        frames.append(part)
    return pd.concat(frames, ignore_index=True)


def read_bbh(files: list[Path]) -> pd.DataFrame:
    """task, input, target: one JSON file of examples per task."""
    rows = [{"task": path.stem, "input": ex["input"], "target": ex["target"]}
            for path in files for ex in json.loads(path.read_text())["examples"]]
    return pd.DataFrame(rows, columns=["task", "input", "target"])


def read_mc(files: list[Path]) -> pd.DataFrame:
    """task, split, question, options, answer (an index): JSON lines per split (nutcracker-db's layout)."""
    rows = []
    for path in files:
        for line in path.read_text().splitlines():
            if line.strip():
                ex = json.loads(line)
                rows.append({"task": path.parent.name, "split": path.stem, "question": ex["centerpiece"],
                             "options": list(ex["options"]), "answer": int(ex["correct_options_idx"][0])})
    return pd.DataFrame(rows, columns=["task", "split", "question", "options", "answer"])


def read_mmlu_pro_questions(files: list[Path]) -> pd.DataFrame:
    """question_id, category, src, question, options, answer (a letter), answer_index."""
    with gzip.open(files[0], "rt", encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    cols = ["question_id", "category", "src", "question", "options", "answer", "answer_index"]
    return pd.DataFrame(rows)[cols]


def read_mmlu_pro_results(files: list[Path]) -> pd.DataFrame:
    """model, question_id, pred (the extracted letter; empty when none), correct (0/1)."""
    df = pd.read_csv(files[0], dtype={"model": str, "pred": str}, keep_default_na=False)
    return df.astype({"question_id": "int64", "correct": "int64"})


def read_csv_table(files: list[Path]) -> pd.DataFrame:
    return pd.read_csv(files[0])
