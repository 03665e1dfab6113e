"""`llm-spider report` as a library call: select the model for a task, then write the one-page
HTML account of it (llm_spider/report.py)."""

from __future__ import annotations

from pathlib import Path

from llm_spider.api.select import SelectResult, select
from llm_spider.progress import SILENT, Progress


def report(task: str, output: Path, zoo: str = "mmlu-pro", level: str | None = None, prior: str = "auto",
           epsilon: float = 0.02, confidence: float = 0.95, budget: int | None = None,
           members: list[str] | None = None, seed: int = 0, cache_dir: Path | None = None,
           progress: Progress = SILENT, task_file: Path | None = None, scoring=None, sources=None,
           results: Path | None = None) -> tuple[Path, SelectResult]:
    """Run `select` on ``zoo`` for ``task`` (or ``task_file``; ``scoring`` and ``sources`` as `select`
    takes them) and write the page to ``output`` (all or nothing)."""
    from llm_spider.report import ReportData, render
    from llm_spider.writing import check_output, write_output
    from llm_spider.zoo.zoofile import is_zoo_file_name

    output = check_output(Path(output), "report")  # before the selection, not after it
    out = select(task, zoo, level, prior, None, epsilon, confidence, budget, None, members, seed,
                 cache_dir=cache_dir, progress=progress, task_file=task_file, scoring=scoring, sources=sources,
                 results=results)
    task = out.task or task
    r = out.result
    frame = r.frame()
    if out.truth is not None:
        frame["recorded_accuracy"] = out.truth.reindex(frame["model"]).to_numpy()
    reliability = None
    if not is_zoo_file_name(zoo):  # a recorded zoo: its per-item results say how far the truth settles
        from llm_spider.zoo.recorded import load_recorded
        from llm_spider.zoo.reliability import reliability_note

        z = load_recorded(zoo)
        reliability = reliability_note(z.correct_frame(level), [task], list(r.mean.index))
    data = ReportData(task, zoo, r.pick, r.p_good, epsilon, confidence, r.stopped, r.evaluations, r.brute_force,
                      out.prior, out.prior_strength, frame, out.trace or [], reliability, out.usage, out.generated)
    write_output(output, render(data), "report")
    return output, out
