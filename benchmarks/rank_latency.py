"""How long `llm-spider rank` takes with the shipped Spider checkpoint (target: < 2 s once the encoder is loaded).

    python benchmarks/rank_latency.py

Measures, on this machine:
- ``process_cached``: a whole `llm-spider rank --task mmlu_subset` process whose task vectors are cached
  (Python start and imports included; the encoder is never loaded);
- ``in_process_cached``: the same ranking through the library API inside a warm process (imports done);
- ``after_encoder_loaded``: ranking a task that is not cached yet, in a process whose encoder is already
  loaded (so it includes encoding the task's 32 prompts);
- ``encoder_load``: loading the sentence encoder once, the cost the target excludes;
- ``process_data_cold``: ``process_cached`` with an empty data cache (the data layer converts the
  data folder's leaderboard and MMLU tables first; later runs read them from the cache).
Prints a table and writes benchmarks/results/rank_latency.json.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
RESULTS = Path(__file__).parent / "results" / "rank_latency.json"
REPEATS = 3


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--output", type=Path, default=RESULTS)
    out = ap.parse_args().output
    from llm_spider import api

    cache = Path(tempfile.mkdtemp(prefix="rank-latency-"))

    def rank(task: str) -> None:
        api.rank(task, cache_dir=cache).frame()

    rows = []
    first = timed(lambda: rank("mmlu_subset"))  # encodes mmlu_subset, loads everything
    rows.append({"measure": "first_run_fresh_cache", "seconds": first})
    cmd = [sys.executable, "-m", "llm_spider", "rank", "--task", "mmlu_subset", "--cache-dir", str(cache)]
    proc = [timed(lambda: subprocess.run(cmd, check=True, capture_output=True)) for _ in range(REPEATS)]
    rows.append({"measure": "process_cached", "seconds": statistics.median(proc)})
    cold = []
    for _ in range(REPEATS):
        env = {**os.environ, "XDG_CACHE_HOME": tempfile.mkdtemp(prefix="rank-latency-data-")}
        cold.append(timed(lambda: subprocess.run(cmd, check=True, capture_output=True, env=env)))
    rows.append({"measure": "process_data_cold", "seconds": statistics.median(cold)})
    warm = [timed(lambda: rank("mmlu_subset")) for _ in range(REPEATS)]
    rows.append({"measure": "in_process_cached", "seconds": statistics.median(warm)})

    from llm_spider.encoders import SentenceEncoder

    rows.append({"measure": "encoder_load", "seconds": timed(lambda: SentenceEncoder().model)})
    after = []
    for name in ("mmlu_virology", "bbh_navigate", "arc_easy"):  # not cached yet: each is encoded
        after.append(timed(lambda n=name: rank(n)))
    rows.append({"measure": "after_encoder_loaded", "seconds": statistics.median(after)})

    for row in rows:
        row["seconds"] = round(row["seconds"], 3)
        print(f"{row['measure']:<24} {row['seconds']:>7.3f} s")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(rows, indent=1) + "\n")
    print(f"written to {out}")


if __name__ == "__main__":
    main()
