"""Benchmark the ranking methods on the LLM leaderboard history (read from the data folder).

Same as ``llm-spider benchmark llm`` (all its options work here), run from the repository root:

    python benchmarks/llm_leaderboard.py --plot benchmarks/results/llm_leaderboard.png

Prints one row per (protocol, method, seed) and writes benchmarks/results/llm_leaderboard.json.
"""

import sys

from llm_spider.cli import app

if __name__ == "__main__":
    app(["benchmark", "llm", *sys.argv[1:]], prog_name="llm_leaderboard.py")
