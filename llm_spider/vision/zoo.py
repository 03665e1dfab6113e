"""The vision zoo's ground truth and feature access: every member on every image task.

Features are extracted per class (cached, see ``backends.vision.extract_cached``) so tasks that
share classes share work; a task's features are its classes' stacked. Ground truth is each
member's linear-probe accuracy (``vision.truth``) on each task, written as a long table
like the leaderboard history (model, task, score, ...), so the same ``History`` and rankers
read it. `llm-spider vision evaluate --output llm_spider/data/zoos/vision` reproduces the
shipped table.
"""

from __future__ import annotations

import platform
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from llm_spider.errors import SpiderError
from llm_spider.paths import default_cache_dir, vision_zoo_dir
from llm_spider.vision.backbones import (
    ImageFeatureExtractor,
    extract_cached,
    load_member,
)
from llm_spider.vision.tasks import ImageTaskSpec, load_class
from llm_spider.vision.truth import heldout_correct, linear_probe_accuracy, linear_probe_correct

HISTORY_FILE = "history.csv"
Progress = Callable[[int], None]


@dataclass
class TaskFeatures:
    """One member's view of one task."""

    features: np.ndarray  # (n, d) float32
    probs: np.ndarray  # (n, K) source-class probabilities; K = 0 without a source head
    labels: np.ndarray  # (n,)
    seconds: float  # extraction time (the first, real one, also when read from the cache)


class FeatureStore:
    """Members loaded once, classes' images loaded once, features from the on-disk cache."""

    def __init__(self, cache_dir: Path | None = None, batch_size: int = 32):
        self.cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
        self.batch_size = batch_size
        self._members: dict[str, ImageFeatureExtractor] = {}
        self._images: dict[str, np.ndarray] = {}
        self.progress: Progress | None = None  # default progress callback (images done)

    def member(self, name: str) -> ImageFeatureExtractor:
        if name not in self._members:
            self._members[name] = load_member(name)
        return self._members[name]

    def images(self, cls: str, per_class: int | None = None) -> np.ndarray:
        """A class's images: the task's own sample, or ``per_class`` of them where the source has
        that many (a bigger sample for a steadier ground truth)."""
        key = cls if per_class is None else f"{cls}@{per_class}"
        if key not in self._images:
            self._images[key] = load_class(cls) if per_class is None else load_class(cls, per_class=per_class)
        return self._images[key]

    def chunks(self, spec: ImageTaskSpec, per_class: int | None = None) -> list[np.ndarray]:
        return [self.images(c, per_class) for c in spec.classes]

    def features(self, model: str, chunks: list[np.ndarray], progress: Progress | None = None) -> TaskFeatures:
        """Features of a task given as per-class image arrays (class k = label k)."""
        feats, probs, labels, seconds = [], [], [], 0.0
        progress = progress or self.progress
        for k, images in enumerate(chunks):
            f, p, s = extract_cached(self.member(model), images, self.cache_dir, self.batch_size, progress)
            feats.append(f)
            probs.append(p)
            labels.append(np.full(len(f), k))
            seconds += s
        return TaskFeatures(np.concatenate(feats), np.concatenate(probs), np.concatenate(labels), seconds)


def evaluate_vision(models: Iterable[str], specs: Iterable[ImageTaskSpec], store: FeatureStore,
                    progress: Progress | None = None, on_row: Callable[[dict], None] | None = None,
                    done: pd.DataFrame | None = None) -> pd.DataFrame:
    """Linear-probe accuracy of every member on every task (long form). Rows of ``done`` (an
    interrupted run's) are kept, not recomputed."""
    rows = [] if done is None else done.to_dict(orient="records")
    have = {(r["model"], r["task"]) for r in rows}
    specs = list(specs)
    for model in models:
        for spec in specs:
            if (model, spec.name) in have:
                continue
            tf = store.features(model, store.chunks(spec), progress)
            start = time.perf_counter()
            acc = linear_probe_accuracy(tf.features, tf.labels)
            row = {"model": model, "task": spec.name, "score": acc, "n_images": int(len(tf.labels)),
                   "n_classes": len(spec.classes), "protocol": "linear-probe-5fold",
                   "extract_seconds": round(tf.seconds, 3), "probe_seconds": round(time.perf_counter() - start, 3)}
            rows.append(row)
            if on_row:
                on_row(row)
    return pd.DataFrame(rows)


def image_correctness(models: Iterable[str], specs: Iterable[ImageTaskSpec], store: FeatureStore, repeats: int = 1,
                      progress: Callable[[], None] | None = None, per_class: int | None = None) -> pd.DataFrame:
    """Per image, whether each member's cross-validated linear head classifies it right (the share
    of ``repeats`` cross-validations): (model, task, item, correct), the rows a reliability check
    resamples (zoo/reliability.py). Its mean per (model, task) is the ground truth's score at
    ``repeats`` = 1 and the task's own images (``per_class`` None). ``progress()`` after each (model, task)."""
    frames = []
    for spec in specs:
        for model in models:
            tf = store.features(model, store.chunks(spec, per_class))
            c = linear_probe_correct(tf.features, tf.labels, repeats=repeats)
            frames.append(pd.DataFrame({"model": model, "task": spec.name, "item": np.arange(len(c)), "correct": c}))
            if progress:
                progress()
    return pd.concat(frames, ignore_index=True)


def unseen(own: np.ndarray, sample: np.ndarray) -> np.ndarray:
    """Which images of ``sample`` are not in ``own`` (by their pixels)."""
    seen = {im.tobytes() for im in own}
    return np.array([im.tobytes() not in seen for im in sample], dtype=bool)


def heldout_correctness(models: Iterable[str], specs: Iterable[ImageTaskSpec], store: FeatureStore,
                        per_class: int, progress: Callable[[], None] | None = None) -> pd.DataFrame:
    """Per held-out image, whether each member's linear head trained on the task's own images
    classifies it right: (model, task, item, correct). The held-out images are the rest of a
    ``per_class`` sample of each class, so no method that reads the task's images has seen them;
    a class with no image beyond the task's own has none."""
    frames = []
    for spec in specs:
        own, big = store.chunks(spec), store.chunks(spec, per_class)
        keep = np.concatenate([unseen(o, b) for o, b in zip(own, big)])
        if not keep.any():
            raise SpiderError(f"{spec.name}: no image beyond the task's own; a held-out truth needs more")
        for model in models:
            train, test = store.features(model, own), store.features(model, big)
            c = heldout_correct(train.features, train.labels, test.features[keep], test.labels[keep])
            frames.append(pd.DataFrame({"model": model, "task": spec.name, "item": np.arange(len(c)), "correct": c}))
            if progress:
                progress()
    return pd.concat(frames, ignore_index=True)


def write_history(table: pd.DataFrame, output: Path) -> Path:
    """``history.csv`` plus the provenance the table's numbers depend on."""
    output.mkdir(parents=True, exist_ok=True)
    import torch

    table = table.assign(source="vision-zoo", date=date.today().isoformat(),
                         versions=f"torch {torch.__version__}; python {platform.python_version()}")
    from llm_spider.writing import write_output

    path = output / HISTORY_FILE
    return write_output(path, table.to_csv(index=False, float_format="%.6g"), "ground truth")


def read_history(path: Path | None = None) -> pd.DataFrame:
    path = Path(path) if path else vision_zoo_dir() / HISTORY_FILE
    if path.is_dir():
        path = path / HISTORY_FILE
    if not path.is_file():
        raise SpiderError(f"{path}: no vision zoo ground truth; `llm-spider vision evaluate --output "
                          f"{path.parent}` computes it")
    return pd.read_csv(path)
