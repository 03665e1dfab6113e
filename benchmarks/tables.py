"""The results tables of docs/results/*.md, rendered from the record files, so that they cannot drift
from them.

    python benchmarks/tables.py            # rewrite every marked table in docs/results/*.md
    python benchmarks/tables.py --check    # exit 1, naming the tables, if any differs from its file

A table sits between ``<!-- table: NAME -->`` and ``<!-- /table -->``; NAME is a key of
TABLES below, which reads benchmarks/results/*.json (or a zoo's recorded ground truth) through the
same summaries the benchmarks print. tests/benchmarks/test_readme_tables.py runs the check.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
DOCS = ROOT / "docs" / "results"
MARK = re.compile(r"(<!-- table: ([\w-]+) -->\n)(.*?)(<!-- /table -->)", re.S)


def _records(name: str) -> list[dict]:
    return json.loads((RESULTS / name).read_text())


def _md(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows]) + "\n"


def _signed(x: float, digits: int = 3) -> str:
    return f"{x:+.{digits}f}".replace("-", "−")


def _num(x: float, digits: int = 4) -> str:
    return f"{x:.{digits}f}".replace("-", "−")


def _int(x: float) -> str:
    return f"{int(round(x)):,}"


def _share(x: float) -> str:
    return "0" if x == 0 else f"{100 * x:.1f} %"


# --- one function per table ----------------------------------------------------------------------
def llm_leaderboard() -> str:
    from llm_spider.benchmark.runner import summarize

    s = summarize(_records("llm_leaderboard.json"))
    rows = [[r.protocol, r.method, _num(r.weighted_tau) + (f" ± {r.weighted_tau_sd:.4f}" if r.seeds > 1 else ""),
             _num(r.top1_regret), f"{r.top1_hit:.2f}", f"{r.seconds:.1f}"] for r in s.itertuples()]
    return _md(["protocol", "method", "weighted τ (± sd over seeds)", "top-1 regret", "top-1 hit", "seconds per seed"],
               rows)


SMALL_ZOO_LABELS = {
    "leaderboard": "leaderboard",
    "similar-tasks": "similar-tasks (the paper's baseline: encoder similarity)",
    "similar-tasks (mixed similarity)": "similar-tasks, encoder + leaderboard-profile similarity",
    "spider (prior=mean, memory)": "Spider, default (prior = mean, memory)",
    "spider (prior=stacked)": "Spider, prior = stacked",
    "stacked prior, untrained": "stacked prior alone (untrained)",
    "spider (prior=similar, mixed similarity)": "Spider, prior = similar, profile-mixed similarity (the live zoos')",
    "similar prior (mixed), untrained": "that prior alone (untrained)",
}


def spider_small_zoos() -> str:
    df = pd.DataFrame(_records("spider_small_zoos.json"))
    table = df.pivot_table(index="method", columns="regime", values="weighted_tau", sort=False)
    tasks = df.groupby(["regime", "zoo"])["task"].nunique().groupby("regime").median()
    best = table.max()
    rows = [[SMALL_ZOO_LABELS.get(m, m), *[(f"**{table.loc[m, r]:.3f}**" if table.loc[m, r] == best[r]
                                            else f"{table.loc[m, r]:.3f}") for r in table.columns]]
            for m in table.index]
    zoos = df.groupby("regime")["zoo"].nunique()
    return _md(["method", *[f"τ, {r} regime ({zoos[r]} zoos × {tasks[r]:.0f} tasks)" for r in table.columns]], rows)


def _live_summary(name: str) -> pd.DataFrame:
    from llm_spider.benchmark.live import summarize_live

    return summarize_live(_records(name)).set_index("method")


def live_zoo() -> str:
    s = _live_summary("live_zoo.json")
    rows = [[m, _num(r.top1_accuracy), _num(r.weighted_tau, 3), _num(r.top1_regret), _int(r.forward_passes),
             _share(r.passes_vs_brute_force), f"{r.seconds:,.0f}"] for m, r in s.iterrows()]
    tasks = int(s["tasks"].max())
    return _md(["method", "mean top-1 accuracy", "mean weighted τ", "mean top-1 regret",
                f"forward passes ({tasks} tasks)", "share of brute force", "seconds"], rows)


def live_zoo_multisource() -> str:
    multi, base = _live_summary("live_zoo_multisource.json"), _live_summary("live_zoo.json")
    rows = []
    for m, r in multi.iterrows():
        b = base.loc[m] if m in base.index else None
        rows.append([m, _num(r.top1_accuracy), _num(r.weighted_tau, 3), _num(r.top1_regret),
                     f"{_int(r.forward_passes)} = {_share(r.passes_vs_brute_force)}" if r.forward_passes else "0",
                     _num(b.top1_accuracy) if b is not None else "", _num(b.weighted_tau, 3) if b is not None else ""])
    return _md(["method", "top-1 acc (multi-source)", "τ (multi-source)", "regret", "passes (share of brute force)",
                "top-1 acc (base zoo)", "τ (base zoo)"], rows)


def live_zoo_multisource_paired() -> str:
    from llm_spider.benchmark.live import paired_differences

    records = _records("live_zoo_multisource.json")
    against = ("leaderboard", "similar-tasks", "self-assessed (probe confidence)", "self-assessed (verbal)")
    rows = []
    for method in ("spider+rerank", "spider+evidence"):
        d = paired_differences(records, method, against).set_index(["against", "metric"])
        for metric, label in (("top1_accuracy", "top-1"), ("weighted_tau", "τ")):
            cells = []
            for other in against:
                r = d.loc[(other, metric)]
                cells.append(f"{_signed(r.mean_difference)} [{_num(r.ci95_low, 3)}, {_num(r.ci95_high, 3)}] "
                             f"{r.wins}/{r.ties}/{r.losses}")
            rows.append([f"{method}, {label}", *cells])
    return _md(["", *[f"vs {a}" for a in against]], rows)


def truth_reliability() -> str:
    by_zoo = {r["zoo"]: r for r in _records("truth_reliability.json")}
    cols = [(z, by_zoo[z]["reliability"]) for z in ("local", "multisource") if z in by_zoo]
    header = ["", *[f"{'base' if z == 'local' else 'multi-source'} zoo ({s['members']} members, {s['tasks']} tasks)"
                    for z, s in cols]]
    rows = [
        ["weighted τ between the members' accuracies on two random halves of a task (mean over tasks)",
         *[f"{s['mean_split_half_tau']:.3f} (< 0.5 on {s['tasks_split_half_below_half']} tasks)" for _, s in cols]],
        ["gap between a task's two best members (mean)", *[f"{s['mean_top2_gap']:.3f}" for _, s in cols]],
        ["items a paired test needs to separate them (median; 5 % two-sided, power 80 %)",
         *[_int(s["median_items_needed"]) for _, s in cols]],
        ["tasks too small to settle their own winner that way",
         *[f"{s['tasks_winner_unsettled']} of {s['tasks']}" for _, s in cols]],
    ]
    return _md(header, rows)


def truth_reliability_verdicts() -> str:
    """Per zoo and re-ranked Spider: the share of item resamples in which it leads each baseline."""
    against = ("leaderboard", "similar-tasks", "self-assessed (probe confidence)", "self-assessed (verbal)")
    rows = []
    for rec in _records("truth_reliability.json"):
        zoo = "base" if rec["zoo"] == "local" else "multi-source"
        for method in dict.fromkeys(v["method"] for v in rec["verdicts"]):
            share = {(v["against"], v["metric"]): v["share_of_draws_ahead"] for v in rec["verdicts"] if v["method"] == method}
            cells = [f"{100 * share[(a, 'weighted_tau')]:.0f} % / {100 * share[(a, 'top1_accuracy')]:.0f} %" for a in against]
            rows.append([zoo, method, *cells, f"{100 * share[('all baselines', 'both')]:.0f} %"])
    return _md(["zoo", "method", *[f"ahead of {a} (τ / top-1)" for a in against], "ahead of all, both metrics"], rows)


VISION_LABELS = {"spider": "**Spider** (re-ranks top 3)", "spider (no rerank)": "Spider without re-ranking",
                 "h-score": "H-Score (Ledoit-Wolf regularised)", "nce": "NCE", "leep": "LEEP", "n-leep": "N-LEEP",
                 "logme": "LogME", "pactran": "PACTran", "otce": "OTCE", "lfc": "LFC", "gbc": "GBC"}


def vision() -> str:
    df = pd.DataFrame(_records("vision.json"))
    g = df.groupby("method").agg(tau=("weighted_tau", "mean"), regret=("top1_regret", "mean"),
                                 acc=("selected_accuracy", "mean"), seconds=("seconds", "mean"),
                                 images=("images_forwarded", "mean")).sort_values("tau", ascending=False)
    rows = [[VISION_LABELS.get(m, m), f"{r.tau:.3f}", f"{r.regret:.3f}", f"{r.acc:.3f}", f"{r.seconds:.1f}",
             _int(r.images)] for m, r in g.iterrows()]
    return _md(["method", "mean weighted τ", "mean top-1 regret", "selected model's accuracy", "seconds per task",
                "images run per task"], rows)


def vision_truth() -> str:
    """The vision ground truth's reliability under each setting of benchmarks/vision_truth.py."""
    rows = [[r["setting"], f"{r['mean_split_half_tau']:.3f} (< 0.5 on {r['tasks_split_half_below_half']})",
             f"{r['mean_bootstrap_tau']:.3f}", f"{r['mean_top2_gap']:.4f}", _int(r["median_items_needed"]),
             f"{r['tasks_winner_unsettled']} of {r['tasks']}"] for r in _records("vision_truth.json")["settings"]]
    return _md(["ground truth", "split-half τ (tasks below 0.5)", "bootstrap τ", "top-2 gap (mean)",
                "images needed to separate the top 2 (median)", "tasks whose winner is unsettled"], rows)


def vision_truth_rescored() -> str:
    """vision.json's methods against image resamples of the truth, and the Spider paired with the best estimator."""
    rec = _records("vision_truth.json")
    rows = [[VISION_LABELS.get(r["method"], r["method"]), f"{r['recorded_tau']:.3f}",
             f"{r['resampled_mean']:.3f} [{r['low']:.3f}, {r['high']:.3f}]",
             "" if "p_at_least_best_estimator" not in r else f"{100 * r['p_at_least_best_estimator']:.1f} %"]
            for r in rec["rescored"]]
    best = VISION_LABELS.get(rec["best_estimator"], rec["best_estimator"])
    table = _md(["method", "recorded τ", "τ over image resamples (95 %)", f"draws with it ≥ {best}"], rows)
    paired = [[VISION_LABELS.get(p["a"], p["a"]), _signed(p["mean_difference"]),
               f"[{_signed(p['low'])}, {_signed(p['high'])}]", f"{p['wins']} / {p['ties']} / {p['losses']}"]
              for p in rec["paired"]]
    return table + "\n" + _md(["", f"minus {best}: mean τ difference over tasks", "95 % paired interval",
                               "wins / ties / losses"], paired)


SHORT = {"h-score": "H-Score", "pactran": "PACTran", "logme": "LogME"}


def _vision_label(method: str, chosen: str = "") -> str:
    """'spider [200 history, statistics]' → 'Spider (re-ranks top 3), 200 history, statistics'."""
    if "[" not in method:
        return VISION_LABELS.get(method, method)
    base, config = method[:-1].split(" [")
    label = {"spider": "Spider (re-ranks top 3)", "spider (no rerank)": "Spider without re-ranking"}[base]
    return f"**{label}, {config}**" if config == chosen else f"{label}, {config}"


def vision_spider_validation() -> str:
    """The four Spider settings on the validation history tasks of benchmarks/vision_spider.py."""
    rec = _records("vision_spider.json")
    by = {(r["config"], r["method"]): r for r in rec["validation"]}
    rows = [[f"**{c}** (chosen)" if c == rec["chosen"] else c, f"{by[c, 'spider']['weighted_tau']:.3f}",
             f"{by[c, 'spider (no rerank)']['weighted_tau']:.3f}", f"{by[c, 'spider']['top1_regret']:.3f}"]
            for c in rec["configs"]]
    return _md(["history tasks, PTM-specific tokens", "mean weighted τ (re-ranks top 3)", "without re-ranking",
                "mean top-1 regret"], rows)


def vision_spider() -> str:
    """Spider settings and the estimators on the named tasks, against the shipped and the held-out truth."""
    rec = _records("vision_spider.json")

    def diff(d: dict | None) -> str:
        if not d:
            return "(best)"
        return f"{_signed(d['mean_difference'])} [{_signed(d['low'])}, {_signed(d['high'])}]"

    best = rec["best_estimator"]
    rows = [[_vision_label(r["method"], rec["chosen"]), _int(r["images_forwarded"]), f"{r['tau_shipped']:.3f}",
             f"{r['regret_shipped']:.3f}", diff(r.get("minus_best_shipped")), f"{r['tau_held_out']:.3f}",
             f"{r['held_out_resampled']:.3f} [{r['held_out_low']:.3f}, {r['held_out_high']:.3f}]",
             f"{r['regret_held_out']:.3f}", diff(r.get("minus_best_held_out")),
             "" if r["method"] == best["held_out"] else f"{100 * r['p_at_least_best_held_out']:.1f} %"]
            for r in rec["methods"]]
    short = {k: SHORT.get(v, v) for k, v in best.items()}
    return _md(["method", "images run per task", "τ, shipped truth", "top-1 regret", f"minus {short['shipped']} "
                "(paired, 95 %)", "τ, held-out truth", "over resamples of its images, mean [95 %]", "top-1 regret",
                f"minus {short['held_out']} (paired, 95 %)", f"resamples with it ≥ {short['held_out']}"], rows)


def vision_top_set() -> str:
    """How often each method's pick is one the truth cannot tell from its best (benchmarks/vision_spider.py)."""
    rec = _records("vision_spider.json")
    n = len({r["task"] for r in rec["per_task"]})
    size = {k: sum(map(len, v.values())) / len(v) for k, v in rec["top_sets"].items()}
    rows = [[_vision_label(r["method"], rec["chosen"]), f"{round(r['top_shipped'] * n)} of {n}",
             f"{round(r['top_held_out'] * n)} of {n}"] for r in rec["methods"]]
    return _md(["method", f"pick in the shipped truth's top set ({size['shipped']:.1f} members on average)",
                f"pick in the held-out truth's top set ({size['held_out']:.1f} members on average)"], rows)


def vision_heldout_truth() -> str:
    """The held-out truth's reliability (benchmarks/vision_spider.py)."""
    h = _records("vision_spider.json")["held_out"]
    images = sorted(h["images_per_task"].values())
    return _md(["ground truth", "held-out images per task", "split-half τ (tasks below 0.5)", "bootstrap τ",
                "top-2 gap (mean)", "images needed to separate the top 2 (median)", "tasks whose winner is unsettled",
                "τ against the shipped truth's order"],
               [[f"head trained on the task's own images, tested on the rest of {h['per_class']} a class",
                 f"{images[0]}-{images[-1]}", f"{h['mean_split_half_tau']:.3f} (< 0.5 on "
                 f"{h['tasks_split_half_below_half']})", f"{h['mean_bootstrap_tau']:.3f}", f"{h['mean_top2_gap']:.4f}",
                 _int(h["median_items_needed"]), f"{h['tasks_winner_unsettled']} of {h['tasks']}",
                 f"{h['agreement_with_shipped_tau']:.3f}"]])


def multisource_members() -> str:
    from llm_spider.zoo.diversity import diversity, truth_table
    from llm_spider.zoo.evaluate import LIVE_TASK_SET
    from llm_spider.zoo.local import load_zoo

    zoo = load_zoo("multisource")
    hist = pd.read_csv(zoo.results_dir / "history.csv")
    hist = hist[hist["task"].isin(LIVE_TASK_SET)]
    table = truth_table(hist, zoo.names())
    per_task, _ = diversity(table)
    won = per_task["best_model"].value_counts()
    seconds = hist.groupby("model")["seconds"].sum()
    means = table.mean().sort_values(ascending=False)
    rows = [[m, f"{means[m]:.3f}", str(int(won.get(m, 0))), f"{table[m].min():.2f}-{table[m].max():.2f}",
             _int(seconds[m])] for m in means.index]
    return _md(["member", f"mean accuracy ({len(table)} tasks)", "tasks won", "range over tasks", "evaluate seconds"],
               rows)


def select_mmlu_pro() -> str:
    from llm_spider.selection.benchmark import summarize

    s = summarize(_records("select_mmlu_pro.json"))
    rows = [[r.level, r.members, r.method, _share(r.eps_good), f"{100 * r.cost_share:.2f} %", _num(r.top1_regret),
             f"{r.weighted_tau:.3f}", str(r.runs)] for r in s.itertuples()]
    return _md(["level", "members", "method", "within 0.02 of the best", "share of brute force", "mean top-1 regret",
                "mean weighted τ", "runs"], rows)


def select_mmlu_pro_paired() -> str:
    from llm_spider.selection.benchmark import paired

    d = paired(_records("select_mmlu_pro.json"))
    rows = [[r.level, r.members, {"cost_share": "share of brute force", "top1_regret": "top-1 regret"}[r.metric],
             f"{_signed(r.mean_difference, 4)} [{_num(r.ci95_low, 4)}, {_num(r.ci95_high, 4)}]",
             f"{r.better}/{r.ties}/{r.worse}"] for r in d.itertuples()]
    return _md(["level", "members", "metric", "spider − leaderboard prior, mean [95 % interval]",
                "tasks better/tied/worse"], rows)


def select_items_paired() -> str:
    """The item-level prior against similar-tasks, prior only (`benchmark select`'s ``items`` records)."""
    from llm_spider.selection.benchmark import paired

    names = {"weighted_tau": "weighted τ", "eps_good": "within 0.02 of the best"}
    d = paired(_records("select_mmlu_pro.json"), "items", "similar-tasks", metrics=tuple(names))
    rows = [[r.level, r.members, names[r.metric],
             f"{_signed(r.mean_difference, 4)} [{_num(r.ci95_low, 4)}, {_num(r.ci95_high, 4)}]",
             f"{r.better}/{r.ties}/{r.worse}"] for r in d.itertuples()]
    return _md(["level", "members", "metric", "items − similar-tasks, mean [95 % interval]",
                "tasks better/tied/worse"], rows)


def select_items_adaptive_paired() -> str:
    """The item-level prior as `select`'s prior against the leaderboard's: what each costs."""
    from llm_spider.selection.benchmark import paired

    names = {"cost_share": "share of brute force", "top1_regret": "top-1 regret"}
    d = paired(_records("select_mmlu_pro.json"), "adaptive-items", "adaptive-leaderboard")
    rows = [[r.level, r.members, names[r.metric],
             f"{_signed(r.mean_difference, 4)} [{_num(r.ci95_low, 4)}, {_num(r.ci95_high, 4)}]",
             f"{r.better}/{r.ties}/{r.worse}"] for r in d.itertuples()]
    return _md(["level", "members", "metric", "adaptive-items − adaptive-leaderboard, mean [95 % interval]",
                "tasks better/tied/worse"], rows)


def item_prior() -> str:
    """benchmarks/item_prior.py: each item model as a prior, beside the task-level priors."""
    raw = json.loads((RESULTS / "item_prior.json").read_text())
    paired = {(p["level"], p["members"], p["method"]): p for p in raw["paired"]}
    rows = []
    for r in raw["summary"]:
        p = paired.get((r["level"], r["members"], r["method"]))
        rows.append([r["level"], r["members"], r["method"], _share(r["eps_good"]), _num(r["top1_regret"], 4),
                     _num(r["weighted_tau"], 3),
                     f"{_signed(p['tau_difference'], 4)} [{_num(p['ci95_low'], 4)}, {_num(p['ci95_high'], 4)}]"
                     if p else "", _num(r["seconds"], 2)])
    return _md(["level", "members", "prior", "within 0.02 of the best", "mean top-1 regret", "mean weighted τ",
                "τ − similar-tasks [95 % interval]", "seconds per task"], rows)


def rank_accuracy() -> str:
    from llm_spider.benchmark.accuracy import summarize_accuracy

    s = summarize_accuracy(_records("rank_accuracy.json"))
    rows = [[r.protocol, r.method, str(r.tasks), _share(r.coverage), _num(r.mae, 3), _num(r.abs_level_error, 3),
             _num(r.width, 3), _share(r.history_coverage), _num(r.history_mae, 3)] for r in s.itertuples()]
    return _md(["protocol", "method", "held-out tasks", "truths inside the 90 % interval", "mean abs. error",
                "mean abs. level error", "interval width", "inside, on the history", "mean abs. error, on the history"],
               rows)


def scoring_modes() -> str:
    """benchmarks/scoring_modes.py: each mode's order of the local zoo against the truth, and between modes."""
    from llm_spider.benchmark.modes import summarize_modes

    s = summarize_modes(_records("scoring_modes.json"))
    rows = []
    for r in s.itertuples():
        truth = r.measure == "vs_truth"
        rows.append(["against the truth" if truth else "between modes", r.method.replace(" ~ ", " vs "), str(r.tasks),
                     _num(r.weighted_tau, 3), _num(r.top1_regret, 3) if truth else "",
                     f"{int(r.top1_hits)}/{r.tasks}" if truth else ""])
    return _md(["compared", "scoring", "tasks", "mean weighted τ", "mean top-1 regret", "best member picked"], rows)


TABLES: dict[str, Callable[[], str]] = {
    "llm_leaderboard": llm_leaderboard, "spider_small_zoos": spider_small_zoos, "live_zoo": live_zoo,
    "multisource_members": multisource_members, "live_zoo_multisource": live_zoo_multisource,
    "live_zoo_multisource_paired": live_zoo_multisource_paired, "truth_reliability": truth_reliability,
    "truth_reliability_verdicts": truth_reliability_verdicts, "vision": vision,
    "select_mmlu_pro": select_mmlu_pro, "select_mmlu_pro_paired": select_mmlu_pro_paired,
    "select_items_paired": select_items_paired, "item_prior": item_prior,
    "select_items_adaptive_paired": select_items_adaptive_paired,
    "rank_accuracy": rank_accuracy, "vision_truth": vision_truth, "vision_truth_rescored": vision_truth_rescored,
    "vision_spider_validation": vision_spider_validation, "vision_spider": vision_spider,
    "vision_heldout_truth": vision_heldout_truth, "vision_top_set": vision_top_set, "scoring_modes": scoring_modes,
}


def documents() -> list[Path]:
    """The files that hold results tables."""
    return sorted(DOCS.glob("*.md"))


def render(text: str) -> tuple[str, list[str]]:
    """``text`` with every marked table rebuilt, and the names of those that changed."""
    changed = []

    def repl(m: re.Match) -> str:
        name = m.group(2)
        if name not in TABLES:
            raise SystemExit(f"unknown table '{name}' (known: {', '.join(TABLES)})")
        new = TABLES[name]()
        if new != m.group(3):
            changed.append(name)
        return m.group(1) + new + m.group(4)

    return MARK.sub(repl, text), changed


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="only report tables that differ from their files")
    args = ap.parse_args()
    stale = []
    for doc in documents():
        new, changed = render(doc.read_text())
        stale += [f"{doc.name}:{name}" for name in changed]
        if changed and not args.check:
            doc.write_text(new)
    if args.check:
        if stale:
            print(f"results tables out of date with their record files: {', '.join(stale)} "
                  "(run python benchmarks/tables.py)")
            return 1
        print("results tables match their record files")
        return 0
    print(f"rewrote {len(stale)} table(s): {', '.join(stale) or 'none changed'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
