"""Re-run the benchmarks and report every number that differs from the shipped record files.

    python benchmarks/reproduce.py                      # the benchmarks that take under ten minutes
    python benchmarks/reproduce.py --all                # every one this machine can run
    python benchmarks/reproduce.py --only live_zoo,truth_reliability

Each benchmark writes into a temporary folder (the shipped files in benchmarks/results/ are left as
they are); its records are then compared with the shipped ones, value by value, records matched
by their naming fields. Seconds (any key with "seconds" in its name, rank_latency's measures, and
vision's share_of_all_features, a ratio of seconds) are skipped: they are this machine's. Prints one line per benchmark and a table of the numbers that differ; exits 1 if any
does. Needs the data folder (LLM_SPIDER_DATA) and, for the live benchmarks, the local zoo's models.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
QUICK_MINUTES = 10


@dataclass(frozen=True)
class Benchmark:
    name: str
    output: str  # its record file in benchmarks/results/
    args: tuple[str, ...]  # the script and its arguments, as the shipped file was made
    minutes: float  # measured on 2 CPU cores, alone, with task vectors and converted data cached
    needs: tuple[str, ...] = field(default=())  # importable modules it needs beyond the base install ($VAR: a set variable)


BENCHMARKS = (
    Benchmark("live_zoo", "live_zoo.json", ("benchmarks/live_zoo.py",), 6.0),
    Benchmark("live_zoo_top3", "live_zoo_top3.json", ("benchmarks/live_zoo.py", "--top-k", "3"), 5.8),
    Benchmark("truth_reliability", "truth_reliability.json", ("benchmarks/truth_reliability.py",), 0.8),
    Benchmark("rerank_replay", "rerank_replay.json", ("benchmarks/rerank_replay.py",), 2.9),
    Benchmark("spider_ablation", "spider_ablation.json", ("benchmarks/spider_ablation.py",), 3.9),
    Benchmark("rank_latency", "rank_latency.json", ("benchmarks/rank_latency.py",), 1.0),
    # 29 min since the cold select and report encode MMLU-Pro's questions for the items prior
    Benchmark("cli_latency", "cli_latency.json", ("benchmarks/cli_latency.py",), 28.7),
    Benchmark("rank_accuracy", "rank_accuracy.json", ("benchmarks/rank_accuracy.py",), 2.2),
    Benchmark("llm_leaderboard", "llm_leaderboard.json", ("benchmarks/llm_leaderboard.py",), 4.6),
    Benchmark("spider_small_zoos", "spider_small_zoos.json", ("benchmarks/spider_small_zoos.py",), 4.6),
    Benchmark("live_zoo_multisource", "live_zoo_multisource.json",
              ("benchmarks/live_zoo.py", "--zoo", "multisource"), 9.6),
    Benchmark("vision", "vision.json", ("benchmarks/vision_zoo.py",), 15.1, ("keras", "efficientnet_lite_pytorch")),
    Benchmark("vision_truth", "vision_truth.json", ("benchmarks/vision_truth.py",), 22.1,
              ("keras", "efficientnet_lite_pytorch")),
    # 15 min with every Spider to fit (under 2 once the four settings' Spiders are cached)
    Benchmark("vision_spider", "vision_spider.json", ("benchmarks/vision_spider.py",), 15.0,
              ("keras", "efficientnet_lite_pytorch")),
    Benchmark("vllm_agreement", "vllm_agreement.json", ("benchmarks/vllm_agreement.py",), 2.0, ("vllm",)),
    Benchmark("vllm_agreement_continuation", "vllm_agreement_continuation.json",
              ("benchmarks/vllm_agreement.py", "--scoring", "continuation"), 2.5, ("vllm",)),
    # 52 min alone since the items prior (13 before the stopping rule drew the unseen items' outcomes)
    Benchmark("select_mmlu_pro", "select_mmlu_pro.json", ("benchmarks/select_mmlu_pro.py",), 52.0),
    Benchmark("item_prior", "item_prior.json", ("benchmarks/item_prior.py",), 9.9),
    Benchmark("ray_scaling", "ray_scaling.json", ("benchmarks/ray_scaling.py",), 9.5, ("ray",)),
    Benchmark("endpoint_vllm", "endpoint_vllm.json", ("benchmarks/endpoint_vllm.py",), 4.0,
              ("$LLM_SPIDER_VLLM_PYTHON",)),
    # 34 min with other work beside it; about 30 s per task and continuation mode alone
    Benchmark("scoring_modes", "scoring_modes.json", ("benchmarks/scoring_modes.py",), 20.0),
)


# The fields that name a record (which task, method, seed, ...): records are matched on them.
ID_KEYS = ("zoo", "config", "regime", "protocol", "variant", "level", "members", "zoo_index", "task", "method", "top_k", "probes",
           "seed", "measure")


# Values measured in time though not named so: vision's share_of_all_features is seconds / seconds.
TIMED_KEYS = {"share_of_all_features"}


def is_seconds(key: str) -> bool:
    return "seconds" in key or key in TIMED_KEYS


def record_id(rec) -> tuple | None:
    return tuple((k, str(rec[k])) for k in ID_KEYS if k in rec) or None if isinstance(rec, dict) else None


def _by_id(records: list) -> dict | None:
    ids = [record_id(r) for r in records]
    return dict(zip(ids, records)) if all(ids) and len(set(ids)) == len(ids) else None


def differences(shipped, new, path: str = "") -> list[tuple[str, object, object]]:
    """(where, shipped value, new value) for every value that differs, seconds skipped; numbers are
    equal when within 1e-9 (relative) of each other, NaN equals NaN."""
    if isinstance(shipped, dict) and isinstance(new, dict):
        out = []
        for key in dict.fromkeys([*shipped, *new]):
            if is_seconds(str(key)):
                continue
            if key not in shipped or key not in new:
                out.append((f"{path}.{key}", shipped.get(key, "(absent)"), new.get(key, "(absent)")))
            else:
                out += differences(shipped[key], new[key], f"{path}.{key}")
        return out
    if isinstance(shipped, list) and isinstance(new, list):
        old_ids, new_ids = _by_id(shipped), _by_id(new)
        if old_ids is not None and new_ids is not None:  # records named by their fields: match on those
            out = [(f"{path}[{_label(k)}]", "(absent)" if k not in old_ids else "(record)",
                    "(absent)" if k not in new_ids else "(record)") for k in dict.fromkeys([*old_ids, *new_ids])
                   if k not in old_ids or k not in new_ids]
            return out + [d for k in old_ids if k in new_ids
                          for d in differences(old_ids[k], new_ids[k], f"{path}[{_label(k)}]")]
        if len(shipped) != len(new):
            return [(f"{path} (length)", len(shipped), len(new))]
        return [d for i, (a, b) in enumerate(zip(shipped, new)) for d in differences(a, b, f"{path}[{i}]")]
    if isinstance(shipped, (int, float)) and isinstance(new, (int, float)) and not isinstance(shipped, bool):
        if (math.isnan(shipped) and math.isnan(new)) or math.isclose(shipped, new, rel_tol=1e-9, abs_tol=1e-12):
            return []
        return [(path, shipped, new)]
    return [] if shipped == new else [(path, shipped, new)]


def _label(record_key: tuple) -> str:
    return " / ".join(v for _, v in record_key)


def available(bench: Benchmark) -> str | None:
    import importlib.util

    missing = [m for m in bench.needs if (not os.environ.get(m[1:]) if m.startswith("$")
                                          else importlib.util.find_spec(m) is None)]
    return f"needs {', '.join(missing)}" if missing else None


def run(bench: Benchmark, out_dir: Path) -> tuple[Path, float, Path]:
    out = out_dir / bench.output
    log = out_dir / f"{bench.name}.log"
    t0 = time.perf_counter()
    with log.open("w") as f:
        proc = subprocess.run([sys.executable, *bench.args, "--output", str(out)], cwd=ROOT, stdout=f,
                              stderr=subprocess.STDOUT, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    if proc.returncode != 0 or not out.is_file():
        raise RuntimeError(f"{bench.name} failed (exit {proc.returncode}); see {log}")
    return out, time.perf_counter() - t0, log


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--all", action="store_true", help="also the benchmarks that take ten minutes or more")
    ap.add_argument("--only", default=None, help="comma-separated benchmark names: " +
                    ", ".join(b.name for b in BENCHMARKS))
    ap.add_argument("--keep", type=Path, default=None, help="keep the new record files and logs in this folder")
    args = ap.parse_args()
    by_name = {b.name: b for b in BENCHMARKS}
    if args.only:
        unknown = [n for n in args.only.split(",") if n not in by_name]
        if unknown:
            ap.error(f"unknown benchmark(s): {', '.join(unknown)}")
        chosen = [by_name[n] for n in args.only.split(",")]
    else:
        chosen = [b for b in BENCHMARKS if args.all or b.minutes < QUICK_MINUTES]
    out_dir = args.keep or Path(tempfile.mkdtemp(prefix="llm-spider-reproduce-"))
    out_dir.mkdir(parents=True, exist_ok=True)
    rows, diffs = [], []
    for bench in chosen:
        why = available(bench)
        if why:
            rows.append((bench.name, "skipped", why))
            continue
        print(f"running {bench.name} (about {bench.minutes:g} min on 2 cores) ...", flush=True)
        try:
            new_path, seconds, _ = run(bench, out_dir)
        except RuntimeError as exc:
            rows.append((bench.name, "FAILED", str(exc)))
            continue
        shipped = json.loads((RESULTS / bench.output).read_text())
        found = differences(shipped, json.loads(new_path.read_text()))
        diffs += [(bench.name, where, a, b) for where, a, b in found]
        rows.append((bench.name, "identical" if not found else f"{len(found)} value(s) differ",
                     f"{seconds / 60:.1f} min"))
    print("\nbenchmark              result                   time")
    for name, result, note in rows:
        print(f"{name:<22} {result:<24} {note}")
    if diffs:
        print("\nvalues that differ from the shipped record files (seconds skipped):")
        for name, where, a, b in diffs[:200]:
            print(f"  {name}: {where}: shipped {a!r}, now {b!r}")
        if len(diffs) > 200:
            print(f"  ... and {len(diffs) - 200} more")
    print(f"\nnew record files and logs: {out_dir}")
    return 1 if diffs or any(r[1] == "FAILED" for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
