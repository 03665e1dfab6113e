"""A checkpoint's ranking of a task, computed once: `rank` with the same checkpoint, task content,
prompts and hidden tasks reads it back instead of loading torch and running the Spider; and which
checkpoint that is (``spider_checkpoint``, which ``api.load_spider`` loads).

Why: a ranking by a checkpoint is a pure function of the checkpoint's files, the task's prompts
(its content fingerprint and the encoder's settings) and the tasks hidden from it, as a task's
vectors are of its prompts (encoders/sentence.py caches those the same way). Importing torch alone
takes longer than everything else a warm `rank` does, so a warm `rank` skips it.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd

CACHE_VERSION = 1  # part of every key: a change to how rankings are computed never reads an old entry


def spider_checkpoint(checkpoint: Path | None, leaderboard) -> Path | None:
    """The checkpoint to rank with, found without loading it (torch): ``checkpoint``, else the user's
    own, else the shipped one, unless ``leaderboard`` (the data layer's leaderboard history) is
    another table than the shipped Spider was trained on: then the one trained for that table, or
    None where none is yet (``load_spider`` trains it)."""
    from llm_spider import datasets
    from llm_spider.paths import SHIPPED_CHECKPOINT, data_matched_checkpoint_dir, user_checkpoint_dir

    if checkpoint is not None:
        return Path(checkpoint)
    if (user_checkpoint_dir() / "spider.json").is_file():
        return user_checkpoint_dir()
    try:
        shipped_sha = json.loads((SHIPPED_CHECKPOINT / "spider.json").read_text()).get("leaderboard_sha256")
    except (OSError, ValueError):
        return None
    if leaderboard is None or shipped_sha in (None, sha := datasets.content_sha("leaderboard")):
        return SHIPPED_CHECKPOINT
    path = data_matched_checkpoint_dir(sha)
    return path if (path / "spider.json").is_file() else None


def key(folder: Path, target, hidden: list[str], n_prompts: int | None, prompt_seed: int | None) -> str | None:
    """The cache key of a ranking by the checkpoint in ``folder``; None when its files cannot be read
    (then the slow path says why)."""
    try:
        config = (Path(folder) / "spider.json").read_bytes()
        weights = hashlib.sha256((Path(folder) / "spider.safetensors").read_bytes()).hexdigest()
    except OSError:
        return None
    parts = [CACHE_VERSION, hashlib.sha256(config).hexdigest(), weights, target.name, target.fingerprint,
             sorted(hidden), n_prompts, prompt_seed]
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:32]


def _path(cache_dir: Path | None, digest: str) -> Path:
    from llm_spider.paths import default_cache_dir

    return (default_cache_dir() if cache_dir is None else Path(cache_dir)) / "rankings" / f"{digest}.json"


def read(cache_dir: Path | None, digest: str) -> dict | None:
    """The stored ranking, with its ``ranking`` rebuilt, or None."""
    from llm_spider.ranking.accuracy import AccuracyMap
    from llm_spider.ranking.base import Ranking

    path = _path(cache_dir, digest)
    if not path.is_file():
        return None
    try:
        raw = json.loads(path.read_text())
        r = raw["ranking"]
        scores = pd.Series([s for _, s in r["scores"]], index=[m for m, _ in r["scores"]], dtype=float,
                           name=r["scores_name"])
        raw["ranking"] = Ranking(r["task"], r["method"], scores, list(r["notes"]), list(r["left_out"]))
        if raw.get("accuracy") is not None:
            raw["accuracy"] = pd.DataFrame(raw["accuracy"]["data"], index=raw["accuracy"]["index"],
                                           columns=raw["accuracy"]["columns"], dtype=float)
        raw["accuracy_map"] = AccuracyMap.from_dict(raw.get("accuracy_map"))
        return raw
    except (ValueError, KeyError, TypeError):
        return None  # a damaged entry: ranked again and rewritten


def write(cache_dir: Path | None, digest: str, ranking, accuracy: pd.DataFrame | None, amap, models: list[str],
          path: Path, notes: list[str]) -> None:
    """Store what `rank` shows; an unwritable cache is a note, and the next run ranks again."""
    from llm_spider.writing import write_cache

    payload = {"ranking": {"task": ranking.task, "method": ranking.method, "notes": ranking.notes,
                           "left_out": ranking.left_out, "scores_name": ranking.scores.name,
                           "scores": [[str(m), float(s)] for m, s in ranking.scores.items()]},
               "accuracy": None if accuracy is None else {"index": [str(i) for i in accuracy.index],
                                                          "columns": list(accuracy.columns),
                                                          "data": accuracy.to_numpy(dtype=float).tolist()},
               "accuracy_map": amap.to_dict() if amap is not None else None,
               "models": list(models), "checkpoint": str(path), "notes": notes}
    write_cache(_path(cache_dir, digest), json.dumps(payload), "ranking cache")
