"""The repository carries no third-party data: no large tables outside our own results, and no
question text of the public data sets (sampled from the data folder through the data layer)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from llm_spider import datasets

ROOT = Path(__file__).resolve().parents[2]
TABLE_SUFFIXES = (".csv", ".tsv", ".parquet", ".json", ".jsonl", ".gz", ".feather", ".arrow", ".xlsx", ".pkl")
# Our own measurements: the zoos' recorded evaluations, the benchmarks' record files, and the
# outputs of real tools run on our own models and tasks (tests/fixtures/*/make_fixtures.py).
OWN_RESULTS = ("llm_spider/data/zoos/", "benchmarks/results/", "tests/fixtures/harness/out/",
               "tests/fixtures/opencompass/out/")
LIMIT = 50_000
BINARY = (".safetensors", ".png", ".jpg", ".gz")


def tracked() -> list[Path]:
    try:
        out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    return [ROOT / p for p in out.decode().split("\0") if p and (ROOT / p).is_file()]


def test_no_large_table_outside_our_own_results():
    big = [str(p.relative_to(ROOT)) for p in tracked()
           if p.suffix.lower() in TABLE_SUFFIXES and p.stat().st_size > LIMIT
           and not str(p.relative_to(ROOT)).startswith(OWN_RESULTS)]
    assert big == [], f"tables or JSON over {LIMIT // 1000} kB outside {OWN_RESULTS}: {big}"


def _snippets(texts: pd.Series, n: int, seed: int) -> list[str]:
    """``n`` distinctive 40-character pieces of question text (from questions long enough to have one)."""
    flat = texts.astype(str).map(lambda t: re.sub(r"\s+", " ", t).strip())
    long = flat[flat.str.len() >= 70].drop_duplicates()
    pick = long.iloc[np.random.default_rng(seed).permutation(len(long))[:n]]
    return [t[15:55] for t in pick]


def _text(path: Path) -> str:
    if path.suffix == ".parquet":  # our own tables: any text they hold is in their string columns
        df = pd.read_parquet(path)
        text = " ".join(" ".join(map(str, df[c])) for c in df.columns if not pd.api.types.is_numeric_dtype(df[c]))
        return re.sub(r"\s+", " ", text)
    if path.suffix in BINARY:
        return ""
    return re.sub(r"\s+", " ", path.read_text(errors="ignore"))


def test_no_tracked_file_holds_question_text_of_the_public_data_sets():
    samples = {
        "mmlu": _snippets(datasets.load("mmlu")["question"], 300, 0),
        "bbh": _snippets(datasets.load("bbh")["input"], 200, 1),
        "mmlu_pro": _snippets(datasets.load("mmlu_pro/questions")["question"], 300, 2),
        "mc": _snippets(pd.concat([datasets.load(f"mc/{s}")["question"] for s in datasets.MC_SETS]), 200, 3),
    }
    assert all(len(v) >= 150 for v in samples.values())
    found = []
    for path in tracked():
        text = _text(path)
        for source, pieces in samples.items():
            found += [f"{path.relative_to(ROOT)}: {source} '{s}'" for s in pieces if s in text]
    assert found == [], f"{len(found)} question text(s) of public data sets in tracked files, e.g. {found[:3]}"


def test_the_check_sees_a_copied_question(tmp_path):
    """The same search finds a question pasted into a file, and one inside a parquet table."""
    piece = _snippets(datasets.load("mmlu")["question"], 1, 0)[0]
    (tmp_path / "notes.md").write_text(f"see:\n  ...{piece.replace(' ', chr(10), 1)}...\n")  # line breaks don't hide it
    pd.DataFrame({"q": [f"x {piece} y"]}).to_parquet(tmp_path / "copy.parquet")
    assert piece in _text(tmp_path / "notes.md") and piece in _text(tmp_path / "copy.parquet")
