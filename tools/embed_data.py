"""Copy the licensed source data from ``../shared/data`` into the package as compact parquet files.

Why: users and CI have no ``../shared``; the package must carry what ``rank`` and ``benchmark``
need at run time. Run from the repository root::

    python tools/embed_data.py ../shared/data

It rewrites ``llm_spider/data/*.parquet`` and copies the license files beside them.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pandas as pd

OUT = Path(__file__).resolve().parents[1] / "llm_spider" / "data"
MC_TASKS = [
    "arc-challenge", "arc-easy", "commonsenseqa", "medqa-usmle", "openbookqa",
    "piqa", "socialiqa", "truthfulqa-mc1", "winogrande",
]


def embed_leaderboard(src: Path) -> None:
    df = pd.read_csv(src / "leaderboard" / "open_llm_leaderboard_skills.csv")
    df = df.drop(columns=["Unnamed: 0"])
    df.to_parquet(OUT / "leaderboard.parquet", index=False, compression="zstd")


def embed_mmlu(src: Path) -> None:
    frames = []
    for split in ("dev", "val", "test"):
        for path in sorted((src / "mmlu" / split).glob(f"*_{split}.csv")):
            subject = path.name[: -len(f"_{split}.csv")]
            part = pd.read_csv(path, header=None, names=["question", "A", "B", "C", "D", "answer"],
                               keep_default_na=False, dtype=str)
            part.insert(0, "split", split)
            part.insert(0, "subject", subject)
            frames.append(part)
    pd.concat(frames, ignore_index=True).to_parquet(OUT / "mmlu.parquet", index=False, compression="zstd")


def embed_bbh(src: Path) -> None:
    rows = []
    for path in sorted((src / "bbh").glob("*.json")):
        for ex in json.loads(path.read_text())["examples"]:
            rows.append({"task": path.stem, "input": ex["input"], "target": ex["target"]})
    pd.DataFrame(rows).to_parquet(OUT / "bbh.parquet", index=False, compression="zstd")


def embed_mc(src: Path) -> None:
    rows = []
    for task in MC_TASKS:
        for split in ("dev", "test"):
            path = src / "mc" / task / f"{split}.json"
            if not path.exists():
                continue
            for line in path.read_text().splitlines():
                if line.strip():
                    ex = json.loads(line)
                    rows.append({"task": task, "split": split, "question": ex["centerpiece"],
                                 "options": list(ex["options"]), "answer": int(ex["correct_options_idx"][0])})
        lic_dir = OUT / "licenses" / "mc" / task
        lic_dir.mkdir(parents=True, exist_ok=True)
        for f in (src / "mc" / task).iterdir():
            if f.name.startswith(("LICENSE", "CITATION")):
                shutil.copy(f, lic_dir / f.name)
    pd.DataFrame(rows).to_parquet(OUT / "mc.parquet", index=False, compression="zstd")


def copy_licenses(src: Path) -> None:
    lic = OUT / "licenses"
    shutil.copy(src / "leaderboard" / "LICENSE.sloth", lic / "LICENSE.sloth")
    shutil.copy(src / "mmlu" / "LICENSE.chain-of-thought-hub", lic / "LICENSE.chain-of-thought-hub")
    vision = src / "vision" / "model_spider_published"
    shutil.copy(vision / "LICENSE.model-spider", lic / "LICENSE.model-spider")


def main(src: str) -> None:
    root = Path(src)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "licenses").mkdir(exist_ok=True)
    embed_leaderboard(root)
    embed_mmlu(root)
    embed_bbh(root)
    embed_mc(root)
    copy_licenses(root)
    for f in sorted(OUT.glob("*.parquet")):
        print(f"{f.relative_to(OUT.parent.parent)}  {f.stat().st_size / 1e6:.2f} MB")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "../shared/data")
