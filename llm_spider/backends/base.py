"""What every inference backend offers: option log-probabilities for multiple-choice prompts.

Why option scoring and not generation: a multiple-choice item is answered by comparing the
model's next-token probabilities of the option labels (" A", " B", ...) after the prompt. One
forward pass per prompt gives every option's score, the same quantity for every model, and the
log-probabilities double as the PTM-specific features of re-ranking and as the model's own
confidence (the self-assessment baseline).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

Progress = Callable[[int], None]  # called with the number of prompts just finished


@dataclass
class OptionScores:
    """Per prompt: log-probabilities of its options, normalised over the options (log-softmax of the
    option tokens' logits), and the log-probability mass the options hold in the full vocabulary
    where the backend can tell (NaN otherwise)."""

    logprobs: list[np.ndarray]
    option_mass: np.ndarray
    extra: list[dict] | None = None  # per prompt, kept in the run log: a server's token usage, a generated answer


class PartialBatch(Exception):
    """A batch a backend could answer only part of (a server that failed mid-batch): ``done`` maps the
    finished prompts' positions to their (logprobs, mass, extra), so the caller keeps what was paid
    for (executors/local.py logs it) before ``error`` goes on."""

    def __init__(self, done: dict, error: Exception):
        super().__init__(str(error))
        self.done, self.error = done, error


class Backend(ABC):
    """One loaded model. ``forward_passes`` counts prompts run through it: the compute measure that
    `compare` reports (one pass per prompt scores all its options)."""

    name: str = "backend"  # set by the registry (backends/__init__.py)
    supports_adapters: bool = False  # can it run a LoRA specialist (base + adapter)?

    def __init__(self) -> None:
        self.forward_passes = 0

    @classmethod
    def open(cls, model_dir: str | Path, batch_size: int = 8, threads: int | None = None,
             dtype: str = "float32", **options) -> Backend:
        """Load the model in ``model_dir`` with the options every backend is given; ``options`` are a
        member's settings (device, device_map, max_length, trust_remote_code, chat_template,
        tensor_parallel_size): each backend takes those it can use."""
        return cls(model_dir)

    @abstractmethod
    def option_logprobs(self, prompts: Sequence[str], options: Sequence[Sequence[str]],
                        progress: Progress | None = None) -> OptionScores:
        """Score ``options[i]`` (continuations such as " A") after ``prompts[i]``."""

    def continuation_logprobs(self, prompts: Sequence[str], options: Sequence[Sequence[str]],
                              progress: Progress | None = None) -> OptionScores:
        """The summed log-likelihood of every token of each option's text after its prompt, as
        lm-evaluation-harness computes it (``split_continuation``): ``logprobs`` holds the raw sums."""
        from llm_spider.errors import SpiderError

        raise SpiderError(f"the {self.name} backend cannot score options as continuations; use --scoring letter "
                          "or another backend")

    def generate(self, prompts: Sequence[str], max_new_tokens: int, stop: Sequence[str],
                 progress: Progress | None = None) -> list[tuple[str, dict]]:
        """Greedy generation: per prompt, the text up to the first stop sequence, and what to keep
        beside it in the run log (token counts)."""
        from llm_spider.errors import SpiderError

        raise SpiderError(f"the {self.name} backend cannot generate answers; use another backend")

    def close(self) -> None:
        """Free the model's memory."""


def option_token_id(encode: Callable[[str], list[int]], encode_bare: Callable[[str], list[int]],
                    prompt_ids: list[int], prompt: str, option: str) -> int:
    """The first token a model would emit for ``option`` right after ``prompt``: the joined text is
    tokenised, so merges across the boundary are as in real use (both backends use this, so their
    log-probabilities are of the same tokens)."""
    full = encode(prompt + option)
    if full[:len(prompt_ids)] == prompt_ids and len(full) > len(prompt_ids):
        return full[len(prompt_ids)]
    ids = encode_bare(option)
    if not ids:
        raise ValueError(f"option {option!r} has no tokens")
    return ids[0]


def split_continuation(encode: Callable[[str], list[int]], prefix_token: int | None, context: str,
                       continuation: str, encode_bare: Callable[[str], list[int]]) -> tuple[list[int], list[int]]:
    """The tokens of ``context`` and of ``continuation`` after it, split as lm-evaluation-harness does:
    trailing spaces of the context move to the continuation, the joined text is tokenised and cut
    after the context's own tokens; an empty context becomes the BOS (or EOS) token."""
    if not context:
        cont = encode_bare(continuation)
        if prefix_token is None or (cont and cont[0] == prefix_token):
            return cont[:1], cont[1:]
        return [prefix_token], cont
    spaces = len(context) - len(context.rstrip())
    if spaces:
        context, continuation = context[:-spaces], context[-spaces:] + continuation
    whole, ctx = encode(context + continuation), encode(context)
    return ctx, whole[len(ctx):]


def log_softmax(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    m = x.max()
    return x - m - np.log(np.exp(x - m).sum())
