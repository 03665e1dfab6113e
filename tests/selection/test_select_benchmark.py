"""`benchmark select` on a toy recorded zoo: every method's record, and the left-out target."""

from __future__ import annotations

import numpy as np
import pandas as pd

from llm_spider.selection.benchmark import METHODS, member_sets, run, summarize
from llm_spider.zoo.recorded import RecordedZoo

FIELDS = {"zoo", "level", "members", "method", "seed", "task", "evaluations", "brute_force", "cost_share",
          "eps_good", "top1_regret", "weighted_tau", "seconds"}


def toy(n_items: int = 300) -> RecordedZoo:
    """Three tasks; 'general' is best on two, 'special' on the third by a wide margin."""
    rng = np.random.default_rng(0)
    acc = {"general": [0.8, 0.8, 0.4], "special": [0.5, 0.5, 0.9], "mid": [0.6, 0.6, 0.6], "low": [0.3, 0.3, 0.3]}
    questions = pd.DataFrame({"question_id": np.arange(3 * n_items), "task": np.repeat(["a", "b", "c"], n_items)})
    rows = []
    for m, accs in acc.items():
        right = np.concatenate([rng.permutation(n_items) < a * n_items for a in accs])
        wrong = rng.choice(list("BCD"), size=3 * n_items)  # the answer is always A
        rows.append(pd.DataFrame({"model": m, "question_id": np.arange(3 * n_items), "correct": right.astype(int),
                                  "pred": np.where(right, "A", wrong)}))
    return RecordedZoo("toy", questions, pd.concat(rows, ignore_index=True), ("task",), {"task": 1})


def toy_tokens(dim: int = 8) -> dict[str, np.ndarray]:
    """General tokens for the toy's tasks (which have no question text): a, b alike, c apart."""
    rng = np.random.default_rng(1)
    base = rng.normal(size=(2, dim))
    return {t: base[int(t == "c")] + 0.1 * rng.normal(size=(4, dim)) for t in "abc"}


def toy_items(zoo: RecordedZoo, dim: int = 8):
    """Per-item data of the toy: each question's vector near its task's centre (a, b alike, c apart)."""
    from llm_spider.ranking.items import ItemData

    rng = np.random.default_rng(2)
    centre = rng.normal(size=(2, dim))
    q = zoo.questions
    X = centre[(q["task"] == "c").to_numpy().astype(int)] + 0.3 * rng.normal(size=(len(q), dim))
    Y = zoo._correct.reindex(index=q["question_id"], columns=zoo.members).to_numpy(dtype=float)
    tasks = {t: np.flatnonzero((q["task"] == t).to_numpy()) for t in "abc"}
    return ItemData(zoo.members, X, Y, tasks)


def test_every_method_gives_a_contract_record_and_adaptive_finds_the_specialist():
    zoo = toy()
    records = run(zoo, seeds=(0, 1), tokens=toy_tokens(), items=toy_items(zoo))
    assert {r["method"] for r in records} == set(METHODS) and all(FIELDS <= set(r) for r in records)
    assert len(records) == 3 * 2 * len(METHODS)
    by = {(r["method"], r["task"], r["seed"]): r for r in records}
    assert by[("brute-force", "c", 0)]["cost_share"] == 1.0 and by[("brute-force", "c", 0)]["eps_good"]
    # The prior from tasks a and b says 'general'; only evaluating items on c finds 'special'.
    assert by[("leaderboard", "c", 0)]["pick"] == "general" and not by[("leaderboard", "c", 0)]["eps_good"]
    for seed in (0, 1):
        assert by[("adaptive-leaderboard", "c", seed)]["pick"] == "special"
        assert 0 < by[("adaptive-leaderboard", "c", seed)]["cost_share"] < 0.2
    summary = summarize(records)
    assert list(summary["method"]) == list(METHODS) and (summary["runs"] == 6).all()
    # the matched fixed-budget methods spend what the default spent on the same run (to a whole item per candidate)
    for task in "abc":
        for seed in (0, 1):
            default = by[("adaptive-auto", task, seed)]["evaluations"]
            for method in ("probes-matched", "rerank-k5-matched"):
                assert default - 4 < by[(method, task, seed)]["evaluations"] <= default


def test_member_sets():
    names = [f"m{i}" for i in range(30)] + ["gemini-3.1-pro"]
    assert member_sets(names, "open") == [names[:30]]  # gemini-3.1-pro is an API model
    subs = member_sets(names, "sub12")
    assert len(subs) == 20 and all(len(s) == 12 for s in subs) and subs == member_sets(names, "sub12")


def test_a_short_history_that_happens_to_agree_gives_a_prior_evidence_can_overturn():
    from llm_spider.selection.prior import PSEUDO_ITEMS, calibrate

    history = toy().history().drop_tasks(["c"])  # a and b order the members identically: no error at all
    cal = calibrate(history)
    assert cal.strength < 3 * (PSEUDO_ITEMS + 1) and cal.shift_var > 0.05


def test_paired_differences_per_member_set():
    from llm_spider.selection.benchmark import paired

    records = run(toy(), sets=("all", "sub12"), methods=("adaptive-leaderboard", "adaptive-flat"), seeds=(0,))
    d = paired(records, "adaptive-flat", "adaptive-leaderboard")
    assert set(d["members"]) == {"all", "sub12"} and set(d["metric"]) == {"cost_share", "top1_regret"}
    assert ((d["ci95_low"] <= d["mean_difference"]) & (d["mean_difference"] <= d["ci95_high"])).all()
    assert (d[["better", "ties", "worse"]].sum(axis=1) == d["tasks"]).all()


def test_worker_processes_give_the_same_records():
    kwargs = dict(sets=("all",), methods=("leaderboard", "probes-only", "adaptive-leaderboard"), seeds=(0,))
    serial = run(toy(), **kwargs)
    parallel = run(toy(), workers=2, **kwargs)
    assert [{k: v for k, v in r.items() if k != "seconds"} for r in serial] == \
        [{k: v for k, v in r.items() if k != "seconds"} for r in parallel]
