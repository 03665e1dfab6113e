"""The run log of one (model, task) evaluation: per-item results, one JSON line per item, appended
per batch and fsynced, so a killed run resumes exactly; and the lock that makes each log's writer
one process at a time."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from llm_spider.errors import SpiderError


class RunLog:
    """Per-item results of one (model, task) run, one JSON line per item, appended per batch.

    ``meta`` (backend, template, its hash, shots) is written first; resuming under different
    settings is refused, since mixing them would make the accuracy meaningless.
    """

    def __init__(self, path: Path, meta: dict):
        self.path, self.meta_path, self.meta = path, path.with_suffix(".meta.json"), meta

    @contextmanager
    def lock(self, on_wait: Callable[[str], None] | None = None) -> Iterator[None]:
        """One writer per run log across processes: a second `evaluate` or `select` on the same
        member and task waits here, then reads what the first scored instead of scoring it again.
        Threads of one process share the lock (their batches hold different items)."""
        with holding(self.path.with_suffix(".lock"), on_wait,
                      f"another process is scoring {self.meta.get('model')} on {self.meta.get('task')}"):
            yield

    def load(self) -> dict[int, dict]:
        """Completed items by index; a torn last line (killed mid-write) is cut off."""
        if self.meta_path.is_file():
            old = json.loads(self.meta_path.read_text())
            diff = [k for k in ("backend", "template", "template_sha", "shots", "scoring", "generation", "task_sha")
                    if old.get(k) != self.meta.get(k)]
            if diff:
                raise SpiderError(f"{self.path} was started with other settings ({', '.join(diff)} differ: "
                                  f"{ {k: old.get(k) for k in diff} }); rerun with --restart to start over")
        done: dict[int, dict] = {}
        if not self.path.is_file():
            return done
        good = 0
        with self.path.open("rb") as f:
            for line in f:
                try:
                    rec = json.loads(line)
                except ValueError:
                    break
                if not line.endswith(b"\n"):
                    break
                done[int(rec["i"])] = rec
                good += len(line)
        if good != self.path.stat().st_size:
            with self.path.open("r+b") as f:
                f.truncate(good)
        return done

    def start(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if not self.meta_path.is_file():
            self.meta_path.write_text(json.dumps(self.meta, indent=1))

    def append(self, records: list[dict]) -> None:
        with self.path.open("a") as f:
            f.write("".join(json.dumps(r) + "\n" for r in records))
            f.flush()
            os.fsync(f.fileno())

    def reset(self) -> None:
        self.path.unlink(missing_ok=True)
        self.meta_path.unlink(missing_ok=True)

    def score(self, backend, part: Sequence) -> list[dict]:
        """Run ``backend`` on one batch of ``ScoringItem`` here and append its records (executors/local.py)."""
        from llm_spider.executors import score_batch

        recs = score_batch(backend, part)
        self.append(recs)
        return recs

    def seconds(self, records: Iterable[dict]) -> float:
        """Seconds spent on ``records``: their own, plus what the meta file holds for the rest."""
        meta = json.loads(self.meta_path.read_text()) if self.meta_path.is_file() else {}
        return float(meta.get("seconds", 0.0)) + sum(float(r.get("s", 0.0)) for r in records)


@contextmanager
def holding(path: Path, on_wait: Callable[[str], None] | None = None, waiting: str = "") -> Iterator[None]:
    """Hold the lock file ``path`` (made if missing) for the caller's block; ``on_wait(waiting)``
    once if another process holds it first."""
    from filelock import FileLock, Timeout

    path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(path), thread_local=False, is_singleton=True)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        if on_wait:
            on_wait(f"{waiting}: waiting for it to finish")
        lock.acquire()
    try:
        yield
    finally:
        lock.release()
