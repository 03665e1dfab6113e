"""The figures: benchmark bars, the live zoo's accuracy-against-compute, the vision zoo's τ-against-seconds.

Why one module: the CLI and the benchmark scripts draw the same pictures, and matplotlib (slow to
import) is loaded only when a figure is asked for.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only, never a window
    import matplotlib.pyplot as plt

    return plt


def _save(plt, fig, path: Path, dpi: int) -> None:
    """The figure as a PNG at ``path``, written as every output is (llm_spider/writing.py); the
    format is PNG whatever the name ends with."""
    import io

    from llm_spider.writing import write_output

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    plt.close(fig)
    write_output(Path(path), buf.getvalue(), "plot")


def save_benchmark_plot(df: pd.DataFrame, path: Path) -> None:
    """Weighted τ per protocol and method; beside the leaderboard baseline, as the gain over it
    (the methods differ by hundredths, invisible on an absolute scale next to random)."""
    plt = _pyplot()
    means = df.pivot(index="protocol", columns="method", values="weighted_tau")
    errors = df.pivot(index="protocol", columns="method", values="weighted_tau_sd")
    others = [m for m in means if m not in ("leaderboard", "random")] if "leaderboard" in means else []
    fig, axes = plt.subplots(1, 2 if others else 1, figsize=(11 if others else 7, 4.5), squeeze=False)
    ax = axes[0, 0]
    means.plot.bar(ax=ax, rot=0, yerr=errors, capsize=2, legend=False)
    ax.set_ylabel("mean weighted Kendall's τ (± sd over seeds)")
    ax.set_title("Ranking the LLM zoo on held-out tasks")
    ax.axhline(0, color="black", linewidth=0.6)
    if others:
        gain = means[others].sub(means["leaderboard"], axis=0)
        ax2 = axes[0, 1]
        gain.plot.bar(ax=ax2, rot=0, yerr=errors[others], capsize=2, legend=False,
                      color=[ax.patches[list(means).index(m) * len(means)].get_facecolor() for m in others])
        ax2.axhline(0, color="black", linewidth=0.6)
        ax2.set_ylabel("weighted τ minus the leaderboard baseline's")
        ax2.set_title("Gain over the leaderboard average")
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(handles, labels, title="method", fontsize=8, loc="upper right")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout(rect=(0, 0, 0.88, 1))
    _save(plt, fig, path, 120)


def save_live_plot(summary: pd.DataFrame, path: Path) -> None:
    """Accuracy of the selected model and weighted τ against forward passes (log scale): the
    paper's efficiency-accuracy picture."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.4))
    markers = "o^sDvP*Xh"
    for ax, col, label in ((axes[0], "top1_accuracy", "true accuracy of the selected model"),
                           (axes[1], "weighted_tau", "weighted Kendall's τ")):
        zero = 0
        for i, row in summary.reset_index(drop=True).iterrows():
            x = row["forward_passes"]
            if x <= 0:  # methods that run no model: spread at the left edge so none hides another
                x, zero = 0.5 * 1.25 ** zero, zero + 1
            ax.scatter(x, row[col], s=70, color=f"C{i}", marker=markers[i % len(markers)], label=row["method"],
                       zorder=3, edgecolor="black", linewidth=0.5)
        ax.set_xscale("log")
        ax.set_xlabel("forward passes through zoo models, log\n(methods that run none: at the left edge)")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, fontsize=8, loc="center right")
    axes[0].set_title(f"mean over {int(summary['tasks'].max())} task(s)", fontsize=9)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout(rect=(0, 0, 0.8, 1))
    _save(plt, fig, path, 120)


def save_vision_plot(summary: pd.DataFrame, path: Path) -> Path:
    """Mean weighted τ against mean seconds per task, one point per method (log seconds)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for i, row in enumerate(summary.itertuples()):
        spider = str(row.method).startswith("spider")
        ax.scatter(row.seconds, row.weighted_tau, s=60 if spider else 35, marker="*" if spider else "o",
                   color="tab:red" if spider else "tab:blue", zorder=3)
        ax.annotate(str(row.method), (row.seconds, row.weighted_tau), textcoords="offset points",
                    xytext=(5, 4 if i % 2 == 0 else -10), fontsize=8)  # alternate: close points stay legible
    ax.set_xscale("log")
    ax.set_xlabel("seconds per task (feature extraction + method, CPU)")
    ax.set_ylabel(f"mean weighted Kendall's τ ({int(summary['tasks'].max())} tasks)")
    ax.axhline(0, color="grey", lw=0.5)
    ax.grid(alpha=0.3)
    ax.set_title("vision zoo: ranking quality against compute")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    _save(plt, fig, path, 120)
    return path


def save_select_plot(summary: pd.DataFrame, path: Path) -> Path:
    """ε-good rate and mean top-1 regret against the mean share of brute force: a row per task level,
    one line per method through its member sets (marker: the set; log cost, prior only at 1e-4)."""
    from matplotlib.lines import Line2D

    plt = _pyplot()
    levels, methods = list(summary["level"].unique()), list(summary["method"].unique())
    sets = list(summary["members"].unique())
    markers = dict(zip(sets, "os^Dv"))
    colours = plt.get_cmap("tab20")
    fig, axes = plt.subplots(len(levels), 2, figsize=(13, 4.2 * len(levels)), squeeze=False)
    for r, level in enumerate(levels):
        for ax, col, label in ((axes[r][0], "eps_good", "share of runs within 0.02 of the best"),
                               (axes[r][1], "top1_regret", "mean top-1 regret")):
            for i, method in enumerate(methods):
                rows = summary[(summary["level"] == level) & (summary["method"] == method)]
                x = rows["cost_share"].clip(lower=1e-4).to_numpy()
                ax.plot(x, rows[col], color=colours(i % 20), linewidth=1, alpha=0.7)
                for xi, row in zip(x, rows.itertuples()):
                    ax.scatter(xi, getattr(row, col), color=colours(i % 20), marker=markers[row.members], s=40,
                               edgecolor="black", linewidth=0.5, zorder=3)
            ax.set_xscale("log")
            ax.set_title(f"level {level}", fontsize=9)
            ax.set_xlabel("share of brute force's evaluations (log; prior only at 1e-4)")
            ax.set_ylabel(label)
            ax.grid(alpha=0.3)
    handles = [Line2D([], [], color=colours(i % 20), label=m) for i, m in enumerate(methods)]
    handles += [Line2D([], [], color="grey", marker=markers[s], linestyle="", label=f"members: {s}") for s in sets]
    fig.legend(handles=handles, fontsize=7, loc="center right")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout(rect=(0, 0, 0.82, 1))
    _save(plt, fig, path, 110)
    return path
