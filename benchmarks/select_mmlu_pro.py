"""Selection on MMLU-Pro's recorded results of 32 LLMs: each task left out in turn.

    python benchmarks/select_mmlu_pro.py [--level category --level src] [--members all --members open
                                         --members sub12] [--seed 0 ... --seed 4] [--method ...] [--output ...]

Same as `llm-spider benchmark select`, with the issue's defaults: both levels, the three member sets,
seeds 0-4, every method, two worker processes (CI's two cores). Prints, per level, member set and method, the share of runs
whose pick is within 0.02 of the best (eps_good), the mean share of brute force's item evaluations
spent, mean top-1 regret and weighted τ, and writes benchmarks/results/select_mmlu_pro.json
(records: zoo, level, members, method, seed, task, evaluations, brute_force, cost_share, eps_good,
top1_regret, weighted_tau, seconds) and a plot beside it.
"""

from __future__ import annotations

import subprocess
import sys

if __name__ == "__main__":  # the CLI's own command, run as a process: benchmarks never import the CLI
    args = sys.argv[1:]
    defaults = {"--output": ["benchmarks/results/select_mmlu_pro.json"], "--level": ["category", "src"],
                "--members": ["all", "open", "sub12"], "--seed": [str(s) for s in range(5)],
                "--workers": ["2"]}
    for flag, values in defaults.items():
        if flag not in args:
            args += [a for v in values for a in (flag, v)]
    sys.exit(subprocess.run([sys.executable, "-m", "llm_spider", "benchmark", "select", "--zoo", "mmlu-pro", *args])
             .returncode)
