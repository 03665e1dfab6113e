"""A deterministic backend for the executor tests, importable by Ray's workers (the tests put this
folder on their PYTHONPATH)."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import numpy as np

from llm_spider.backends.base import Backend, OptionScores


class HashBackend(Backend):
    """Option log-probabilities from a hash of the prompt: the same on every machine and process.
    ``delay``: seconds per prompt; ``fail_on``: a prompt substring whose batch always raises;
    ``salt``: another model (other answers to the same prompts); ``die_once``: a file path; the
    first batch scored while it does not exist creates it and kills its own process (an actor
    dying mid-batch, once, on whichever member is asked first)."""

    name = "fake"

    def __init__(self, delay: float = 0.0, fail_on: str | None = None, salt: str = "", die_once: str | None = None):
        super().__init__()
        self.delay, self.fail_on, self.salt, self.die_once = delay, fail_on, salt, die_once

    def option_logprobs(self, prompts, options, progress=None):
        if self.die_once:
            try:
                Path(self.die_once).touch(exist_ok=False)
            except FileExistsError:
                pass
            else:
                os._exit(1)
        out = []
        for p, opts in zip(prompts, options):
            if self.fail_on and self.fail_on in p:
                raise RuntimeError(f"cannot score {self.fail_on!r}")
            time.sleep(self.delay)
            seed = int(hashlib.sha256((self.salt + p).encode()).hexdigest()[:8], 16)
            logits = np.random.default_rng(seed).normal(size=len(opts))
            out.append(logits - np.log(np.exp(logits).sum()))
            self.forward_passes += 1
        return OptionScores(out, np.zeros(len(prompts)))


def open_hash(delay: float = 0.0, fail_on: str | None = None, salt: str = "", die_once: str | None = None) -> HashBackend:
    return HashBackend(delay, fail_on, salt, die_once)
