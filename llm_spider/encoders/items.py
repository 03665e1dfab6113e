"""One vector per item: the sentence encoder over each question, for models that learn from items.

The task tokens (sentence.py) encode a sample of 32 prompts, enough to say what a task reads like.
An item-level model of a zoo (ranking/items) needs every item's vector instead, since it learns
which questions each member gets right. That is thousands of prompts (MMLU-Pro: 12,032, minutes on
two cores), so the vectors are encoded in chunks with progress and cached on disk under a hash of
the encoder and of every text, so one changed question is encoded afresh and nothing else is.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from llm_spider.encoders.sentence import SentenceEncoder
from llm_spider.paths import default_cache_dir, file_name

CHUNK = 256  # prompts per encoder call: progress moves, memory stays small


def texts_key(texts: Sequence[str]) -> str:
    """A hash of the texts, in order: what a cached set of item vectors was computed from."""
    h = hashlib.sha256()
    for t in texts:
        h.update(t.encode("utf-8", "surrogatepass"))
        h.update(b"\x1f")
    return h.hexdigest()


class ItemEncoder:
    """Texts → (n, dim) L2-normalised vectors, cached whole by content."""

    def __init__(self, encoder: SentenceEncoder | None = None, cache_dir: str | Path | None = None,
                 use_cache: bool = True):
        self.encoder = encoder if encoder is not None else SentenceEncoder()
        self.cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
        self.use_cache = use_cache

    def cache_path(self, texts: Sequence[str]) -> Path:
        return self.cache_dir / "item-vectors" / file_name(self.encoder.name) / f"{texts_key(texts)[:40]}.safetensors"

    def is_cached(self, texts: Sequence[str]) -> bool:
        return self.use_cache and self.cache_path(texts).is_file()

    def encode(self, texts: Sequence[str], on_chunk: Callable[[int], None] | None = None) -> np.ndarray:
        """Every text's vector, from the cache or encoded now (``on_chunk(n)`` after each n encoded)."""
        from safetensors.numpy import load_file, save_file

        texts = list(texts)
        path = self.cache_path(texts)
        if self.use_cache and path.is_file():
            try:
                vectors = load_file(str(path))["vectors"]
                if len(vectors) == len(texts):
                    return vectors
            except Exception:  # a damaged entry (safetensors raises its own types): encode again
                pass
        parts = []
        for start in range(0, len(texts), CHUNK):
            chunk = texts[start:start + CHUNK]
            parts.append(self.encoder.encode(chunk))
            if on_chunk is not None:
                on_chunk(len(chunk))
        vectors = np.concatenate(parts) if parts else np.zeros((0, 0), np.float32)
        if self.use_cache:  # whole or not at all; one that cannot be written is a warning, not an error
            from llm_spider.writing import write_cache

            write_cache(path, lambda p: save_file({"vectors": np.ascontiguousarray(vectors)}, str(p)),
                        "question-vector cache")
        return vectors
