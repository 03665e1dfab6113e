"""Scoring on a Ray cluster: actors that each load a model once and score the batches handed to them.

Why actors: loading a model costs seconds to minutes, scoring a batch well under one; an actor
keeps the loaded backend between batches. The driver keeps a few batches in flight per actor,
yields each finished batch to its caller (who appends it to the run log, so an item is logged once),
and hands a batch whose actor died to the restarted actor again. A batch that fails ``ATTEMPTS``
times ends the run with one line naming the model and the batch's items; batches finished before
are already in the run log, so a rerun resumes from them.

Ray is an extra (``pip install 'llm-spider[ray]'``); this module imports it only when used.
"""

from __future__ import annotations

import itertools
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator, Sequence
from functools import lru_cache

from llm_spider.errors import SpiderError

ATTEMPTS = 3  # tries per batch before the run fails
RESTART_WAIT = 120.0  # seconds a batch may wait, in all, for its actor to finish restarting
IN_FLIGHT = 2  # batches queued per actor, so an actor never waits for the driver


def _ray():
    try:
        import ray
    except ImportError:
        raise SpiderError("the ray executor needs Ray: pip install 'llm-spider[ray]'") from None
    return ray


@lru_cache(maxsize=1)
def _actor_class():
    """The actor, defined on first use (so that importing this module does not need Ray)."""
    ray = _ray()

    @ray.remote(max_restarts=-1, max_task_retries=0)
    class ScoringActor:
        def __init__(self, open_backend: Callable[[], object]):
            self.backend = open_backend()

        def score(self, part: Sequence) -> list[dict]:
            from llm_spider.executors.local import score_batch

            return score_batch(self.backend, part)

        def forward_passes(self) -> int:
            return int(getattr(self.backend, "forward_passes", 0))

        def gpus(self) -> list:
            """The GPUs Ray gave this actor (its CUDA_VISIBLE_DEVICES)."""
            return [str(g) for g in ray.get_gpu_ids()]

    return ScoringActor


def connect(address: str | None = None, num_cpus: int | None = None) -> None:
    """Join the cluster at ``address`` (``ray start --head`` prints it; "auto": the one on this
    machine), or start one in this process when there is none; reuse a connection already made."""
    ray = _ray()
    if ray.is_initialized():
        return
    try:
        ray.init(address=address, num_cpus=num_cpus if address is None else None, include_dashboard=False,
                 log_to_driver=False, configure_logging=False)
    except ConnectionError as exc:
        raise SpiderError(f"cannot reach the Ray cluster at {address}: {exc}") from None


def check_gpus(actors: int, gpus: float, address: str | None = None) -> None:
    """Refuse up front what Ray would leave waiting forever: actors that together reserve more GPUs
    than the cluster has (Ray queues an actor until its GPUs are free, and the ones holding them
    wait for batches the queued one was given)."""
    if gpus < 0:
        raise SpiderError(f"--ray-gpus must be at least 0, got {gpus}")
    if gpus == 0:
        return
    connect(address)
    have = float(_ray().cluster_resources().get("GPU", 0.0))
    if actors * gpus > have:
        raise SpiderError(f"{actors} Ray actor(s) at once × {gpus:g} GPU(s) each need {actors * gpus:g} GPUs; the "
                          f"cluster has {have:g}: lower --ray-actors or --ray-gpus (or --in-flight for select)")


class RayScorer:
    """The ray executor for one ``model``: ``actors`` actors, each loading it with ``open_backend``
    and reserving ``gpus`` GPUs (Ray places it on a node that has them and sets its
    CUDA_VISIBLE_DEVICES, so a vLLM actor per GPU is ``gpus=1``); ``name``: the backend's name (the
    run logs')."""

    def __init__(self, open_backend: Callable[[], object], name: str, actors: int = 1, address: str | None = None,
                 model: str = "", gpus: float = 0.0):
        if actors < 1:
            raise SpiderError("--ray-actors must be at least 1")
        check_gpus(actors, gpus, address)
        connect(address)
        self.name, self.model = name, model or name
        actor = _actor_class().options(num_gpus=gpus) if gpus else _actor_class()
        self.actors = [actor.remote(open_backend) for _ in range(actors)]
        self.retried = 0  # batches handed out again after their actor died (or while it restarted)
        self._turn = itertools.count()  # round robin over the actors, across calls (select asks one batch a call)

    @property
    def forward_passes(self) -> int:
        ray = _ray()
        return sum(ray.get([a.forward_passes.remote() for a in self.actors]))

    def score(self, parts: Sequence[Sequence]) -> Iterator[list[dict]]:
        ray = _ray()
        if not self.actors:
            raise SpiderError(f"{self.model}: its Ray actors were closed; nothing more can be scored with them")
        queue = deque(range(len(parts)))
        pending: dict = {}  # object ref -> (batch index, actor index)
        tries: Counter = Counter()
        waited: Counter = Counter()  # seconds each batch has waited for a restarting actor
        while queue or pending:
            while queue and len(pending) < IN_FLIGHT * len(self.actors):
                i = queue.popleft()
                k = next(self._turn) % len(self.actors)
                pending[self.actors[k].score.remote(parts[i])] = (i, k)
            (ref,), _ = ray.wait(list(pending), num_returns=1)
            i, k = pending.pop(ref)
            try:
                recs = ray.get(ref)
            except (ray.exceptions.RayActorError, ray.exceptions.RayTaskError, ray.exceptions.WorkerCrashedError) as exc:
                # An actor still restarting refuses the batch at once: that is no failed try; wait
                # for it (backing off) rather than spend the batch's tries in a few milliseconds.
                if isinstance(exc, getattr(ray.exceptions, "ActorUnavailableError", ())) and waited[i] < RESTART_WAIT:
                    pause = min(max(0.25, waited[i]), 5.0)  # doubles the time waited, 5 s at most
                    time.sleep(pause)
                    waited[i] += pause
                    self.retried += 1
                    queue.appendleft(i)
                    continue
                tries[i] += 1
                if tries[i] >= ATTEMPTS:
                    ids = [it.index for it in parts[i]]
                    shown = ", ".join(map(str, ids[:8])) + (" ..." if len(ids) > 8 else "")
                    raise SpiderError(f"{self.model}: the batch of items {shown} failed {ATTEMPTS} times on the Ray cluster "
                                      f"({type(exc).__name__}: {str(exc).splitlines()[0][:200]}); finished batches are "
                                      "saved: rerun to resume") from None
                self.retried += 1
                queue.appendleft(i)
                continue
            yield recs

    def close(self) -> None:
        ray = _ray()
        for a in self.actors:
            ray.kill(a, no_restart=True)
        self.actors = []
