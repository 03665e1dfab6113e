"""`llm-spider vision ...`: the image zoo — its tasks, its ground truth, ranking and the benchmark."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import pandas as pd
import typer

from llm_spider.api import split_names
from llm_spider.cli.common import PROGRESS, CacheOpt, FormatOpt, app, user_errors
from llm_spider.output import Format, emit, stderr

vision_app = typer.Typer(help="The vision zoo: image backbones ranked for an image-classification task.",
                         no_args_is_help=True)
app.add_typer(vision_app, name="vision")

VisionModelsOpt = Annotated[Optional[str], typer.Option(
    "--models", help="Comma-separated members (default: every installed member; see `llm-spider vision zoo`).")]


@vision_app.command("zoo")
@user_errors
def zoo(fmt: FormatOpt = Format.table) -> None:
    """List the vision zoo's members: source data, installed or not, and how to install."""
    from llm_spider.vision.backbones import VISION_ZOO, member_installed

    df = pd.DataFrame([{"model": m.name, "trained_on": m.source, "installed": member_installed(m.name),
                        "install": "" if member_installed(m.name) else m.install} for m in VISION_ZOO.values()])
    emit(df, fmt, title="vision zoo")


@vision_app.command("tasks")
@user_errors
def tasks(history: Annotated[bool, typer.Option("--history", help="Also list the random training tasks.")] = False,
          fmt: FormatOpt = Format.table) -> None:
    """List the named image tasks (real Debian clip-art, stamps and Fashion-MNIST) and their classes."""
    from llm_spider.vision.tasks import NAMED, all_specs, class_label

    specs = [s for s in all_specs().values() if history or s.name in NAMED]
    df = pd.DataFrame([{"task": s.name, "classes": len(s.classes), "description": s.description,
                        "class_names": ", ".join(class_label(c) for c in s.classes)} for s in specs])
    emit(df, fmt, title="image tasks (sudo apt-get install openclipart-png tuxpaint-stamps-default "
                        "dataset-fashion-mnist)")


@vision_app.command("evaluate")
@user_errors
def evaluate(
    task_list: Annotated[Optional[str], typer.Option(
        "--tasks", help="Comma-separated task names (default: every named and history task).")] = None,
    models: VisionModelsOpt = None,
    output: Annotated[Path, typer.Option("--output", help="Folder for history.csv (the ground-truth table).")]
    = Path("vision-zoo"),
    cache_dir: CacheOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Ground truth: each member's linear-probe accuracy (5-fold) on each image task.

    `llm-spider vision evaluate --output llm_spider/data/zoos/vision` reproduces the shipped table.
    Each finished (model, task) row is saved as it comes and features are cached, so a rerun after
    an interruption redoes only what was not finished.
    """
    from llm_spider.vision.selector import evaluate as run_evaluate

    table, path, members = run_evaluate(output, split_names(task_list), split_names(models), cache_dir, PROGRESS)
    stderr.print(f"wrote {path}")
    wide = table.pivot(index="task", columns="model", values="score")[members].reset_index()
    emit(wide, fmt, title="linear-probe accuracy")


@vision_app.command("truth")
@user_errors
def truth(
    task_list: Annotated[Optional[str], typer.Option(
        "--tasks", help="Comma-separated task names (default: the named tasks).")] = None,
    models: VisionModelsOpt = None,
    reliability: Annotated[bool, typer.Option(
        "--reliability", help="Per task: how reproducible the members' order is (weighted τ between two random "
        "halves of the images, and against bootstrap resamples), and how many images it would take to tell the "
        "two best members apart. Runs the linear heads again from the cached features.")] = False,
    repeats: Annotated[int, typer.Option("--repeats", min=1, help="Cross-validations per (member, task) for "
                                         "--reliability, averaged per image (1: the shipped table's protocol).")] = 1,
    splits: Annotated[int, typer.Option(min=1, help="Random splits / resamples per task for --reliability.")] = 200,
    per_class: Annotated[Optional[int], typer.Option(
        "--per-class", min=2, help="For --reliability: this many images per class where the source has them "
        "(default: the task's own 30; new images are run through every member once, then cached).")] = None,
    held_out: Annotated[Optional[int], typer.Option(
        "--held-out", min=2, help="For --reliability: train each member's head on the task's own images and test "
        "it on the rest of a sample of this many a class: images no ranking method reads (e.g. 100).")] = None,
    ground_truth: Annotated[Optional[Path], typer.Option("--ground-truth", help="The zoo's history table "
                                                         "(default: the shipped one).")] = None,
    cache_dir: CacheOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """The vision zoo's ground truth: every member's linear-probe accuracy on each task.

    With --reliability: whether that truth can order the members at all. Each image's outcome under
    each member's cross-validated linear head is what the check resamples, as `zoo truth
    --reliability` does with an LLM task's items. Rankers compared against a truth whose halves
    disagree differ mostly by the luck of the images.
    """
    if reliability:
        from llm_spider.cli.live import emit_reliability
        from llm_spider.vision.selector import truth_reliability

        per_task, r, members = truth_reliability(split_names(task_list), split_names(models), repeats, splits,
                                                 cache_dir, PROGRESS, per_class, held_out)
        sample = f"up to {per_class} images per class" if per_class else "the tasks' own images"
        protocol = f"{repeats} cross-validation{'s' if repeats > 1 else ''} per image"
        if held_out:
            sample, protocol = "heads trained on the tasks' own images", f"tested on the rest of {held_out} a class"
        emit_reliability(f"vision zoo ({sample}, {protocol})", per_task, r, fmt, items="images")
        return
    from llm_spider.errors import UnknownNameError
    from llm_spider.vision.zoo import read_history

    table = read_history(ground_truth)
    for column, names in (("task", split_names(task_list)), ("model", split_names(models))):
        if names:
            unknown = sorted(set(names) - set(table[column]))
            if unknown:
                raise UnknownNameError(column, unknown[0], sorted(set(table[column])))
            table = table[table[column].isin(names)]
    wide = table.pivot(index="task", columns="model", values="score")
    emit((wide.round(4) if fmt is Format.table else wide).reset_index(), fmt,
         title=f"vision zoo ground truth: linear-probe accuracy, {wide.shape[1]} members × {wide.shape[0]} tasks")


@vision_app.command("rank")
@user_errors
def rank(
    dataset: Annotated[str, typer.Option("--dataset", help="A named image task (`llm-spider vision tasks`) or a "
                                                          "folder with one sub-folder of images per class.")],
    models: VisionModelsOpt = None,
    top_k: Annotated[int, typer.Option("--top-k", min=0, help="Candidates the Spider re-ranks by running them "
                                                              "on a few images per class (0: no re-ranking).")] = 3,
    baselines: Annotated[bool, typer.Option("--baselines/--no-baselines", help="Also score every member with the "
                                            "nine transferability estimators (runs every member on every image).")]
    = True,
    image_size: Annotated[Optional[int], typer.Option("--image-size", min=8, help="Pad and resize every image of a "
                                                      "folder to this square side (needed when sizes differ).")]
    = None,
    max_per_class: Annotated[Optional[int], typer.Option("--max-per-class", min=2,
                                                         help="Sample at most this many images per class.")] = None,
    ground_truth: Annotated[Optional[Path], typer.Option("--ground-truth", help="The zoo's history table "
                                                         "(default: the shipped one).")] = None,
    cache_dir: CacheOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Rank the vision zoo for an image-classification dataset, with the estimators beside the Spider.

    The Spider is fitted on the zoo's ground truth over the history tasks that share no class with
    the dataset, reads the dataset through 5 images per class (EfficientNet-Lite0 prototypes),
    then re-ranks its top-k by running them on 10 images per class. For a named task the true
    linear-probe accuracy is shown too.
    """
    from llm_spider.vision import VisionSelector

    selector = VisionSelector(split_names(models), top_k, ground_truth, cache_dir, PROGRESS)
    result = selector.rank(dataset, baselines, image_size, max_per_class)
    df, sels = result.frame, result.selections
    beside = "; estimator scores beside (higher = better)" if baselines else ""
    emit(df, fmt, title=f"vision zoo ranked for {result.task} by the Spider "
                        f"({'re-ranked top ' + str(top_k) if top_k else 'no re-ranking'}){beside}")
    costs = "; ".join(f"{s.method}: {s.seconds:.1f}s, {s.images_forwarded} images" for s in sels
                      if s.method in ("spider" if top_k else "spider (no rerank)", "logme"))
    why = " (every estimator needs every member on every image)" if baselines else ""
    stderr.print(f"compute — {costs}{why}", highlight=False)


@vision_app.command("benchmark")
@user_errors
def benchmark(
    task_list: Annotated[Optional[str], typer.Option(
        "--tasks", help="Comma-separated target tasks (default: the named tasks with ground truth).")] = None,
    models: VisionModelsOpt = None,
    small: Annotated[bool, typer.Option("--small", help="The CI-sized run: EfficientNet-Lite0 and its random-init "
                                                        "control on clipart-animals and clipart-transport.")] = False,
    top_k: Annotated[int, typer.Option("--top-k", min=1, help="Candidates the Spider re-ranks.")] = 3,
    ground_truth: Annotated[Optional[Path], typer.Option("--ground-truth", help="The zoo's history table "
                                                         "(default: the shipped one).")] = None,
    output: Annotated[Optional[Path], typer.Option("--output", help="Write the per-task records (JSON list; its folder is created).",
                                                   show_default="vision.json in benchmarks/results")]
    = Path("benchmarks/results/vision.json"),
    plot: Annotated[Optional[Path], typer.Option("--plot", help="Write τ against compute as a PNG "
                                                 "(default: next to --output).")] = None,
    cache_dir: CacheOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """The Spider against H-Score, NCE, LEEP, N-LEEP, LogME, PACTran, OTCE, LFC and GBC.

    Per target task: weighted τ of each method's ranking against the shipped linear-probe ground
    truth, top-1 regret, seconds (feature extraction charged at what it cost) and images run.
    Prints the mean per method, writes every record to --output and the τ-vs-compute plot.
    """
    import time

    from llm_spider.vision.selector import benchmark as run_benchmark
    from llm_spider.writing import check_output, write_json_atomic

    if output:  # before the work, not after it
        check_output(output, "records", create_folder=True)
    plot = plot or (output.with_suffix(".png") if output else None)
    if plot:
        check_output(plot, "plot", create_folder=True)
    start = time.perf_counter()
    records, summary, targets, members = run_benchmark(split_names(task_list), split_names(models), small, top_k,
                                                       ground_truth, cache_dir, PROGRESS)
    stderr.print(f"{len(targets)} tasks × {len(members)} members in {time.perf_counter() - start:.0f}s")
    if fmt is Format.table:
        per_task = (pd.DataFrame(records).pivot(index="method", columns="task", values="weighted_tau")
                    .reindex(summary["method"])[targets].reset_index())
        emit(per_task, fmt, title="weighted τ per target task", digits=3)
    emit(summary, fmt, title=f"vision benchmark: mean over {len(targets)} tasks, {len(members)} members")
    if output:
        write_json_atomic(output, records)
        stderr.print(f"wrote {output}")
    if plot:
        from llm_spider.plots import save_vision_plot

        save_vision_plot(summary, plot)
        stderr.print(f"wrote {plot}")
