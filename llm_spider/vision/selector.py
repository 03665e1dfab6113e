"""`VisionSelector`: rank the vision zoo for an image-classification dataset, the Spider first and the
transferability estimators beside it. What `llm-spider vision rank` calls.

    from llm_spider.vision import VisionSelector

    result = VisionSelector(top_k=3).rank("path/to/class_folders")
    print(result.frame)

The Spider is fitted on the zoo's ground truth over the history tasks that share no class with the
dataset (once per such history, then cached), reads the dataset through a few images per class
(general tokens) and re-ranks its top-k by running them on a few more (PTM-specific tokens).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from llm_spider.errors import SpiderError
from llm_spider.progress import SILENT, Progress
from llm_spider.ranking.base import sort_scores


def installed_members(names: list[str] | None, progress: Progress = SILENT) -> list[str]:
    """The members to use; without ``names``, uninstalled ones are skipped with a note."""
    from llm_spider.vision.backbones import VISION_ZOO, member_installed

    chosen = names or list(VISION_ZOO)
    unknown = [m for m in chosen if m not in VISION_ZOO]
    if unknown:
        raise SpiderError(f"unknown vision model {unknown[0]!r}; the zoo has: {', '.join(VISION_ZOO)}")
    missing = [m for m in chosen if not member_installed(m)]
    if names and missing:
        raise SpiderError(f"{missing[0]} is not installed: {VISION_ZOO[missing[0]].install}")
    for m in missing:
        progress.note(f"note: skipping {m}, not installed: {VISION_ZOO[m].install}")
    ready = [m for m in chosen if m not in missing]
    if len(ready) < 2:
        raise SpiderError("fewer than two vision members are installed: pip install 'llm-spider[vision]'")
    return ready


def folder_target(dataset: str | Path, image_size: int | None = None, max_per_class: int | None = None):
    """A folder of class folders as a benchmark Target (checked before any model loads)."""
    from llm_spider.vision.benchmark import Target
    from llm_spider.vision.images import load_image_folder

    from llm_spider.errors import closest
    from llm_spider.vision.tasks import NAMED

    path = Path(dataset)
    if not path.exists():
        near = closest(str(dataset), NAMED)
        hint = f" Did you mean: {', '.join(near)}?" if near else ""
        raise SpiderError(f"{dataset!r} is neither a named image task (see `llm-spider vision tasks`) nor a folder."
                          + hint)
    task = load_image_folder(path, image_size=image_size, max_per_class=max_per_class)
    chunks = [task.images[task.labels == k] for k in range(len(task.classes))]
    if min(len(c) for c in chunks) < 2:
        raise SpiderError(f"{path}: every class needs at least two images (the estimators compare images "
                          "within a class)")
    return Target(task.name, chunks)


@dataclass
class VisionRanking:
    """``frame``: spider_rank, model, each estimator's score, true_accuracy (named tasks);
    ``selections``: every method's scores and compute."""

    task: str
    n_classes: int
    n_images: int
    frame: pd.DataFrame
    selections: list


class VisionSelector:
    """``members`` (default: every installed one), ``top_k`` candidates re-ranked (0: none),
    ``ground_truth`` the zoo's history table (default: the shipped one), ``cache_dir`` for features."""

    def __init__(self, members: list[str] | None = None, top_k: int = 3, ground_truth: Path | None = None,
                 cache_dir: Path | None = None, progress: Progress = SILENT):
        self.members, self.top_k, self.ground_truth = members, top_k, ground_truth
        self.cache_dir, self.progress = cache_dir, progress

    def rank(self, dataset: str, baselines: bool = True, image_size: int | None = None,
             max_per_class: int | None = None) -> VisionRanking:
        """Rank the zoo for ``dataset``: a named image task or a folder of class folders."""
        from llm_spider.vision.benchmark import VisionBench
        from llm_spider.vision.estimators import ESTIMATORS
        from llm_spider.vision.tasks import all_specs, get_spec
        from llm_spider.vision.zoo import FeatureStore, read_history

        named = dataset in all_specs()
        target = None if named else folder_target(dataset, image_size, max_per_class)  # a bad folder fails first
        members = installed_members(self.members, self.progress)
        truth_table = read_history(self.ground_truth)
        missing = [m for m in members if m not in set(truth_table["model"])]
        if missing:
            raise SpiderError(f"no ground truth for {', '.join(missing)}: the Spider cannot rank a member it never saw")
        bench = VisionBench(FeatureStore(self.cache_dir), truth_table, members, top_k=max(self.top_k, 1))
        target = bench.target(get_spec(dataset)) if named else target  # named: the store's images, loaded once
        n_images = sum(len(c) for c in target.chunks)
        self.progress.note(f"{target.name}: {len(target.chunks)} classes, {n_images} images")
        with self.progress.bar("extracting features") as bar:
            bench.store.progress = bar.advance
            sels = bench.spider(target)
            if baselines:
                sels += bench.estimators(target)
        chosen = sels[0] if self.top_k else sels[1]
        order = list(sort_scores(chosen.scores).index)
        df = pd.DataFrame({"spider_rank": np.arange(1, len(order) + 1), "model": order})
        for s in sels:
            if s.method in ESTIMATORS.names():
                df[s.method] = s.scores.reindex(order).to_numpy()
        if target.name in bench.specs:
            df["true_accuracy"] = bench.truth_for(target.name).reindex(order).to_numpy()
        return VisionRanking(target.name, len(target.chunks), n_images, df, sels)


def benchmark(tasks: list[str] | None = None, members: list[str] | None = None, small: bool = False, top_k: int = 3,
              ground_truth: Path | None = None, cache_dir: Path | None = None, progress: Progress = SILENT
              ) -> tuple[list[dict], pd.DataFrame, list[str], list[str]]:
    """The Spider against every registered estimator on each target task; returns (records, mean per
    method, targets, members). ``small``: the CI-sized run (Lite0 and its random-init control, two tasks)."""
    from llm_spider.vision.backbones import SMALL_ZOO
    from llm_spider.vision.benchmark import VisionBench, default_targets, summarize
    from llm_spider.vision.tasks import SMALL_TARGETS
    from llm_spider.vision.zoo import FeatureStore, read_history

    if small:
        members = members or list(SMALL_ZOO)
        tasks = tasks or list(SMALL_TARGETS)
    members = installed_members(members, progress)
    bench = VisionBench(FeatureStore(cache_dir), read_history(ground_truth), members, top_k=top_k, log=progress.note)
    targets = tasks or [t for t in default_targets() if t in bench.specs]
    unknown = [t for t in targets if t not in bench.specs]
    if unknown:
        raise SpiderError(f"no ground truth or no installed images for {', '.join(unknown)} "
                          f"(`llm-spider vision tasks` lists them; sudo apt-get install openclipart-png "
                          "tuxpaint-stamps-default dataset-fashion-mnist)")
    if top_k >= len(members):
        raise SpiderError(f"--top-k {top_k} re-ranks the whole zoo of {len(members)}; use fewer")
    records = []
    with progress.bar("extracting features") as bar:
        bench.store.progress = bar.advance
        for t in targets:
            bar.update(description=t)
            records += bench.run(t)
    return records, summarize(records), targets, members


def evaluate(output: Path, tasks: list[str] | None = None, members: list[str] | None = None,
             cache_dir: Path | None = None, progress: Progress = SILENT) -> tuple[pd.DataFrame, Path, list[str]]:
    """Ground truth: each member's linear-probe accuracy on each image task, written to ``output``
    (history.csv). Finished rows are kept in a partial file as they come, so a rerun resumes.
    Returns the table, its path and the members."""
    from llm_spider.vision.tasks import all_specs, get_spec
    from llm_spider.vision.zoo import (
        HISTORY_FILE,
        FeatureStore,
        evaluate_vision,
        write_history,
    )

    from llm_spider.writing import ensure_writable

    ensure_writable(output, "ground truth")  # before hours of extraction, not after
    members = installed_members(members, progress)
    specs = [get_spec(t) for t in tasks] if tasks else list(all_specs().values())
    store = FeatureStore(cache_dir)
    partial = output / (HISTORY_FILE + ".partial")  # rows of an interrupted run: a rerun skips them
    done = pd.read_csv(partial) if partial.is_file() else None
    if done is not None:
        progress.note(f"resuming: {len(done)} (model, task) rows already done in {partial}")
    n_images = sum(len(store.images(c)) for s in specs for c in set(s.classes))
    progress.note(f"{len(members)} members × {len(specs)} tasks ({n_images} images per member before sharing)")
    output.mkdir(parents=True, exist_ok=True)

    with progress.bar("extracting", n_images * len(members)) as bar:

        def save_row(row: dict) -> None:
            pd.DataFrame([row]).to_csv(partial, mode="a", header=not partial.is_file(), index=False)
            bar.update(description=f"{row['model']} {row['task']}")

        table = evaluate_vision(members, specs, store, progress=bar.advance, on_row=save_row, done=done)
    path = write_history(table, output)
    partial.unlink(missing_ok=True)
    return table, path, members


def truth_reliability(tasks: list[str] | None = None, members: list[str] | None = None, repeats: int = 1,
                      splits: int = 200, cache_dir: Path | None = None, progress: Progress = SILENT,
                      per_class: int | None = None, held_out: int | None = None):
    """How far the vision ground truth can order the members of each task (default: the named
    ones): per image, each member's cross-validated linear-probe outcome (``repeats`` CVs), then
    the split-half τ and the images needed to settle the winner (zoo/reliability.py). ``per_class``:
    that many images of each class where the source has them, instead of the task's own sample.
    ``held_out``: the head is trained on the task's own images and tested on the rest of a sample
    of that many a class (images no ranking method sees). Returns (per task, summary, members)."""
    from llm_spider.vision.benchmark import default_targets
    from llm_spider.vision.tasks import PER_CLASS, get_spec, spec_available
    from llm_spider.vision.zoo import FeatureStore, heldout_correctness, image_correctness
    from llm_spider.zoo.reliability import truth_reliability as reliability

    if repeats < 1 or (per_class is not None and per_class < 2):
        raise SpiderError(f"need --repeats >= 1 and --per-class >= 2, got {repeats} and {per_class}")
    if held_out is not None and (per_class is not None or repeats != 1):
        raise SpiderError("--held-out tests one head per member on unseen images: it takes no --per-class "
                          "or --repeats")
    if held_out is not None and held_out <= PER_CLASS:
        raise SpiderError(f"--held-out {held_out}: the tasks already use up to {PER_CLASS} images a class; "
                          "give more, e.g. 100")
    members = installed_members(members, progress)
    if len(members) < 2:
        raise SpiderError("a reliability check needs at least two members")
    specs = [get_spec(t) for t in tasks] if tasks else [get_spec(t) for t in default_targets()]
    missing = [s.name for s in specs if not spec_available(s)]
    if missing and tasks:
        raise SpiderError(f"images not installed for {', '.join(missing)}: sudo apt-get install openclipart-png "
                          "tuxpaint-stamps-default dataset-fashion-mnist")
    specs = [s for s in specs if spec_available(s)]
    store = FeatureStore(cache_dir)
    with progress.bar("cross-validating linear heads", len(specs) * len(members)) as bar:
        if held_out is not None:
            items = heldout_correctness(members, specs, store, held_out, bar.advance)
        else:
            items = image_correctness(members, specs, store, repeats, bar.advance, per_class)
    per_task, summary = reliability(items, members, splits)
    return per_task, summary, members
