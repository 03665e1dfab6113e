"""One writer per run log (issue 32): two processes evaluating the same member on the same task
score each item once between them; two on other tasks of one store both keep their rows."""

from __future__ import annotations

import json
import multiprocessing
import sys
from pathlib import Path

from llm_spider.tasks import get_task
from llm_spider.zoo.evaluate import LocalStore, evaluate_run
from llm_spider.zoo.members import LocalModel

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "executors"))
from fakes import HashBackend  # noqa: E402

TASK = "bbh_boolean_expressions"


def member() -> LocalModel:
    return LocalModel("m", "m", 0.1, True, ("fake==1",), "pip install fake", (("no_such_module_xyz", "f.gguf"),),
                      "0" * 64)


def evaluate(root: str, task: str, out: str, start) -> None:
    """One `evaluate` process: waits for the start signal, scores, reports its forward passes."""
    backend = HashBackend(delay=0.01)
    waited = []
    start.wait()
    row = evaluate_run(backend, member(), get_task(task), LocalStore(Path(root)), chunk=8, max_items=48,
                       on_wait=waited.append)
    Path(out).write_text(json.dumps({"passes": backend.forward_passes, "score": row["score"], "waited": waited}))


def run_two(tmp_path: Path, tasks: tuple[str, str]) -> list[dict]:
    ctx = multiprocessing.get_context("fork")
    start = ctx.Event()
    procs = [ctx.Process(target=evaluate, args=(str(tmp_path / "store"), t, str(tmp_path / f"out{i}.json"), start))
             for i, t in enumerate(tasks)]
    for p in procs:
        p.start()
    start.set()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    return [json.loads((tmp_path / f"out{i}.json").read_text()) for i in range(2)]


def test_two_processes_on_one_run_score_each_item_once(tmp_path):
    a, b = run_two(tmp_path, (TASK, TASK))
    assert a["passes"] + b["passes"] == 48  # one of them scored everything, the other nothing
    assert sorted([a["passes"], b["passes"]]) == [0, 48]
    waiter = a if a["passes"] == 0 else b
    assert waiter["waited"] and "waiting for it to finish" in waiter["waited"][0]
    assert a["score"] == b["score"]  # the second read what the first scored
    log = LocalStore(tmp_path / "store").run_log("m", get_task(TASK), "fake").path
    ids = [json.loads(line)["i"] for line in log.read_text().splitlines()]
    assert len(ids) == len(set(ids)) == 48


def test_two_processes_on_other_tasks_of_one_store_keep_both_rows(tmp_path):
    run_two(tmp_path, (TASK, "bbh_navigate"))
    hist = LocalStore(tmp_path / "store").history_frame()
    assert sorted(hist["task"]) == sorted([TASK, "bbh_navigate"])
