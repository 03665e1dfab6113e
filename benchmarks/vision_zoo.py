"""The vision benchmark: the Spider against the nine transferability estimators on image tasks.

    python benchmarks/vision_zoo.py            # every installed member, the ten named tasks
    python benchmarks/vision_zoo.py --small    # what CI runs: Lite0 + its random init, two tasks

The same as `llm-spider vision benchmark` (see its --help for the protocol): prints the per-task
and mean weighted τ, top-1 regret and seconds per method, and writes
benchmarks/results/vision.json (records: task, method, weighted_tau, top1_regret, seconds, and
more) with the τ-against-compute plot vision.png. Needs the [vision] extra, its --no-deps weight
packages and the Debian image packages (docs/results/vision.md, "Install").
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).parent / "results"


def main() -> None:
    args = sys.argv[1:]
    if "--output" not in args:
        name = "vision_small.json" if "--small" in args else "vision.json"
        args += ["--output", str(RESULTS / name)]
    start = time.perf_counter()
    try:
        # the CLI's own command, run as a process: benchmarks never import the CLI
        code = subprocess.run([sys.executable, "-m", "llm_spider", "vision", "benchmark", *args]).returncode
    finally:
        print(f"wall time {time.perf_counter() - start:.0f}s", file=sys.stderr)
    sys.exit(code)


if __name__ == "__main__":
    main()
