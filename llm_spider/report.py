"""One static HTML page for a selection: what `llm-spider report` writes.

Why one file: most people would rather open and share a page than read a terminal table. It needs no
server and no network: the style is inline and the plot is a PNG in a data URI. Everything shown
is escaped text from the selection, never markup read from data.
"""

from __future__ import annotations

import base64
import html
import io
from dataclasses import dataclass

import pandas as pd

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 60rem; color: #222; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.15rem; margin-top: 2rem; }
table { border-collapse: collapse; width: 100%; font-size: 0.92rem; }
th, td { padding: 0.3rem 0.6rem; border-bottom: 1px solid #ddd; text-align: right; }
th:first-child, td:first-child { text-align: left; white-space: nowrap; }
td { white-space: nowrap; }
tr.pick td { font-weight: 600; background: #eef6ee; }
.bar { display: inline-block; height: 0.6rem; background: #4a7; vertical-align: middle; }
.verdict { padding: 0.8rem 1rem; background: #f4f7fb; border-left: 4px solid #47a; }
.muted { color: #666; font-size: 0.88rem; }
img { max-width: 100%; }
"""


@dataclass
class ReportData:
    """What the page shows; ``frame``: model, p_best, mean, low, high, evaluated (and
    recorded_accuracy where the zoo has it); ``trace``: (evaluations, P(pick good), pick) per look;
    ``reliability``: one sentence on how far the task's items settle its winner, or None."""

    task: str
    zoo: str
    pick: str
    p_good: float
    epsilon: float
    confidence: float
    stopped: str
    evaluations: int
    brute_force: int
    prior: str
    prior_strength: float
    frame: pd.DataFrame
    trace: list[tuple[int, float, str]]
    reliability: str | None
    usage: dict | None = None  # tokens served members reported for the items run by this selection
    generated: list[dict] | None = None  # a generated-answer task: a few of the pick's answers (api.select)


def usage_words(data: ReportData) -> str:
    u = data.usage or {}
    if not u:
        return ""
    return (f" The served members' items run now cost {u.get('prompt_tokens', 0):,} prompt and "
            f"{u.get('completion_tokens', 0):,} completion tokens, as their servers counted them.")


def plot_png(data: ReportData) -> bytes:
    """Accuracy against cost: the current pick's recorded accuracy (or estimate) as evaluations are
    spent, with the best member's accuracy, and P(pick within ε) on a second panel."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    truth = data.frame.set_index("model").get("recorded_accuracy")
    estimate = data.frame.set_index("model")["mean"]
    xs = [s for s, _, _ in data.trace] or [0]
    acc = [float(truth[p]) if truth is not None and pd.notna(truth.get(p)) else float(estimate[p])
           for _, _, p in data.trace] or [float(estimate[data.pick])]
    fig, (a, b) = plt.subplots(2, 1, figsize=(7, 5), sharex=True, gridspec_kw={"height_ratios": [2, 1]})
    a.step(xs, acc, where="post", color="#47a", marker="o", ms=3, label="the pick so far")
    if truth is not None and truth.notna().any():
        a.axhline(float(truth.max()), color="#4a7", ls="--", label="best member (recorded)")
    a.set_ylabel("accuracy" + (" (recorded)" if truth is not None else " (estimated)"))
    a.legend(loc="lower right", fontsize=8)
    b.step(xs, [g for _, g, _ in data.trace] or [data.p_good], where="post", color="#a74", marker="o", ms=3)
    b.axhline(data.confidence, color="#999", ls=":")
    b.set_ylabel(f"P(within {data.epsilon})")
    b.set_xlabel(f"item evaluations (brute force: {data.brute_force:,})")
    b.set_xlim(-0.5, max(xs) * 1.05 + 1)
    b.set_ylim(0, 1.02)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    return buf.getvalue()


def prior_words(data: ReportData) -> str:
    if data.prior == "flat" or not data.prior_strength:
        return "No prior: every member started alike."
    return (f"The prior ({html.escape(data.prior)}, from the zoo's other tasks) was worth "
            f"{data.prior_strength:.1f} items per member.")


def _cell(value) -> str:
    if isinstance(value, float):
        return "–" if value != value else f"{value:.3f}"
    return html.escape(str(value))


def generated_section(data: ReportData) -> str:
    """A few of the pick's generated answers, as its run log keeps them, beside what was accepted."""
    if not data.generated:
        return ""
    e = html.escape
    rows = "".join(f"<tr><td>{e(g['question'])}</td><td><code>{e(g['generated'])}</code></td><td>{e(g['extracted'])}"
                   f"</td><td>{e(g['accepted'])}</td><td>{'right' if g['right'] else 'wrong'}</td></tr>"
                   for g in data.generated)
    return (f'<h2>Generated answers of {e(data.pick)}</h2>\n<table id="generated"><thead><tr><th>question</th>'
            "<th>generated</th><th>extracted</th><th>accepted</th><th></th></tr></thead>"
            f"<tbody>{rows}</tbody></table>\n")


def render(data: ReportData) -> str:
    """The whole page as one string."""
    e = html.escape
    share = data.evaluations / data.brute_force if data.brute_force else float("nan")
    cols = [c for c in ("model", "p_best", "mean", "low", "high", "evaluated", "recorded_accuracy") if c in data.frame]
    heads = {"p_best": "P(best)", "mean": "estimated accuracy", "low": "95 % low", "high": "95 % high",
             "evaluated": "items evaluated", "recorded_accuracy": "recorded accuracy"}
    rows = []
    for r in data.frame[cols].itertuples(index=False):
        rec = r._asdict()
        bar = f'<span class="bar" style="width:{max(1, round(50 * float(rec["p_best"])))}px"></span> '
        cells = [f"<td>{_cell(rec['model'])}</td>"] + [
            f"<td>{bar if c == 'p_best' else ''}{_cell(rec[c])}</td>" for c in cols[1:]]
        mark = ' class="pick"' if rec["model"] == data.pick else ""
        rows.append(f"<tr{mark}>" + "".join(cells) + "</tr>")
    why = (f"P(it is within {data.epsilon} of the best) is {data.p_good:.3f}, "
           + ("at or above" if data.stopped == "confidence" else "short of")
           + f" the {data.confidence:.0%} asked for; selection stopped by {e(data.stopped)}.")
    plot = base64.b64encode(plot_png(data)).decode()
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>llm-spider: {e(data.task)}</title>
<style>{STYLE}</style></head>
<body>
<h1>Which model for <code>{e(data.task)}</code>? <span class="muted">zoo {e(data.zoo)}</span></h1>
<p class="verdict" id="verdict"><strong>{e(data.pick)}</strong>. {why}</p>
<h2>Cost</h2>
<p id="cost">{data.evaluations:,} item evaluations: {share:.2%} of brute force ({data.brute_force:,}: every
member on every item). {prior_words(data)}{usage_words(data)}</p>
<h2>Ranking</h2>
<table id="ranking"><thead><tr>{"".join(f"<th>{e(heads.get(c, c))}</th>" for c in cols)}</tr></thead>
<tbody>{"".join(rows)}</tbody></table>
<h2>Accuracy against cost</h2>
<img id="plot" alt="accuracy of the pick against item evaluations" src="data:image/png;base64,{plot}"
 onload="document.body.dataset.plot = 'loaded'" onerror="console.error('the plot did not load')">
{generated_section(data)}<h2>Can the ground truth settle it?</h2>
<p id="reliability">{e(data.reliability) if data.reliability else "The zoo keeps no per-item results of every member on this task: nothing to say how far its truth settles the winner."}</p>
<p class="muted">Written by llm-spider report.</p>
</body></html>
"""
