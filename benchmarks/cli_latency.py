"""How long a user waits for the everyday commands, per process, cold and warm.

    python benchmarks/cli_latency.py            # about 29 min on 2 cores (cold: MMLU-Pro's questions encoded)

Each command runs as a user runs it (`python -m llm_spider ...`, Python's start and every import
included) in a home of its own (empty HOME and XDG data home: no user checkpoint), with:
- ``cold``: an empty cache folder (the data tables converted, the tasks encoded, the priors fitted);
- ``warm``: the same command again, ``--repeats`` times, the median kept.

Commands: `rank --task mmlu_subset`; `select --zoo mmlu-pro` with the default prior at both task
levels (category: law; src: ori_mmlu-nutrition); `report --zoo mmlu-pro --task law`. Targets on 2
cores, warm: rank ≤ 1.0 s, select ≤ 5 s, report ≤ 10 s. Prints a table and writes
benchmarks/results/cli_latency.json (needs the data folder: LLM_SPIDER_DATA).
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).parent / "results" / "cli_latency.json"
COMMANDS = [  # name, arguments, warm target (seconds)
    ("rank", ["rank", "--task", "mmlu_subset", "--top", "10"], 1.0),
    ("select category", ["select", "--zoo", "mmlu-pro", "--task", "law"], 5.0),
    ("select src", ["select", "--zoo", "mmlu-pro", "--level", "src", "--task", "ori_mmlu-nutrition"], 5.0),
    ("report", ["report", "--zoo", "mmlu-pro", "--task", "law", "--output", "{tmp}/report.html"], 10.0),
]


def run(args: list[str], env: dict, tmp: Path) -> float:
    cmd = [sys.executable, "-m", "llm_spider", *(a.format(tmp=tmp) for a in args)]
    start = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({done.returncode}): {done.stderr.strip().splitlines()[-1:]}")
    return seconds


def main() -> None:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--output", type=Path, default=RESULTS)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    if not os.environ.get("LLM_SPIDER_DATA"):
        raise SystemExit("set LLM_SPIDER_DATA to the data folder (docs/data.md)")
    records = []
    for name, argv, target in COMMANDS:
        tmp = Path(tempfile.mkdtemp(prefix="cli-latency-"))
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "HOME": str(tmp / "home"), "XDG_DATA_HOME": str(tmp / "data"),
               "XDG_CACHE_HOME": str(tmp / "cache"), "XDG_CONFIG_HOME": str(tmp / "config")}
        cold = run(argv, env, tmp)
        warm = [run(argv, env, tmp) for _ in range(args.repeats)]
        records.append({"measure": name, "argv": ["llm-spider", *argv], "cold_seconds": round(cold, 2),
                        "warm_seconds": round(statistics.median(warm), 2),
                        "warm_runs_seconds": [round(w, 2) for w in warm], "warm_target_seconds": target,
                        "met": statistics.median(warm) <= target})
        r = records[-1]
        print(f"{name:16s} cold {r['cold_seconds']:7.2f}s  warm {r['warm_seconds']:6.2f}s  "
              f"(target {target:.1f}s: {'met' if r['met'] else 'MISSED'})", flush=True)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(records, indent=1) + "\n")
    print(f"wrote {args.output} ({os.cpu_count()} cores, Python {platform.python_version()})")


if __name__ == "__main__":
    main()
