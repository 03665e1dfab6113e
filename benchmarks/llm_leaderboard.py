"""Benchmark the ranking methods on the LLM leaderboard history (read from the data folder).

Same as ``llm-spider benchmark llm`` (all its options work here), run from the repository root:

    python benchmarks/llm_leaderboard.py --plot benchmarks/results/llm_leaderboard.png

Prints one row per (protocol, method, seed) and writes benchmarks/results/llm_leaderboard.json.
"""

import subprocess
import sys

if __name__ == "__main__":  # the CLI's own command, run as a process: benchmarks never import the CLI
    sys.exit(subprocess.run([sys.executable, "-m", "llm_spider", "benchmark", "llm", *sys.argv[1:]]).returncode)
