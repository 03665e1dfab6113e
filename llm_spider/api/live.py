"""Live zoos as library calls: which members to run, `evaluate` (the ground truth), `compare` (every
selection method side by side) and a zoo's truth table."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from llm_spider.api.llm import encode_tasks, task_encoder
from llm_spider.tasks.resolve import TaskSources, resolve_tasks
from llm_spider.zoo.weights import run_options
from llm_spider.errors import SpiderError
from llm_spider.paths import user_local_zoo_dir
from llm_spider.progress import SILENT, Progress


class Interrupted(Exception):
    """A long run stopped by the user (Ctrl-C) after saving its finished work; the message says where."""


def split_names(text: str | None) -> list[str] | None:
    return [s.strip() for s in text.split(",") if s.strip()] if text else None


def run_scoring(task, scoring=None) -> tuple[str, object]:
    """The (mode, generation settings) ``task`` is scored with in a run of ``scoring``; a task the mode
    cannot score is refused here, before any member loads."""
    from llm_spider.tasks.scoring import scoring_items, task_scoring

    mode, gen = task_scoring(task, scoring)
    scoring_items(task, mode, gen)
    return mode, gen


def pick_models(zoo, names: str | None, large: bool, progress: Progress = SILENT):
    """The members to run; without ``names``, uninstalled defaults are skipped with a note."""
    chosen = zoo.select(split_names(names), include_large=large)
    # a shipped member's packages may be left uninstalled; a user's member is checked in full later
    missing = [m for m in chosen if m.kind == "pypi" and not m.installed]
    if names and missing:
        raise SpiderError(missing[0].missing_message())
    for m in missing:
        progress.note(f"note: skipping {m.missing_message()}")
    ready = [m for m in chosen if m not in missing]
    if not ready:
        raise SpiderError(f"no member of zoo '{zoo.name}' is installed; see `llm-spider zoo list --zoo {zoo.name}`")
    return ready


def prepare_members(members, run, cache_dir: Path | None = None, progress: Progress = SILENT) -> dict:
    """Every member checked (weights, device, fit, server) before any runs, and where each runs said."""
    from llm_spider.zoo.weights import prepare

    out = {}
    with progress.bar("checking members", len(members)) as bar:
        for m in members:
            out[m.name] = p = prepare(m, run, cache_dir)
            bar.advance(1)
            where = "" if p.placement.device == "remote" else f" on {p.placement.device}" + (
                " (spread over the GPUs)" if p.placement.device_map else "")
            if m.kind != "pypi" or p.placement.device != "cpu":
                progress.note(f"{m.name}: {p.label}{where}" + (" — the generated answer's letter, not log-probabilities"
                                                               if p.label == "openai-generate" else ""))
    return out


def local_zoo_frame(zoo_name: str) -> tuple[pd.DataFrame, object]:
    """A local zoo's members: size, default or opt-in, installed, how to install; and the zoo."""
    from llm_spider.zoo.local import load_zoo

    zoo = load_zoo(zoo_name)
    df = pd.DataFrame([{"model": m.name, "params_b": m.params_b, "member": "default" if m.default else "opt-in (--large)",
                        "installed": m.installed, "install": "" if m.installed else m.missing_message(),
                        "title": m.title, "weights": m.origin, "base": m.base, "source": m.source} for m in zoo.models])
    if all(m.kind != "pypi" for m in zoo.models):  # sizes are read from the files when a member runs
        df = df.drop(columns=["params_b"])
    if not df["base"].astype(bool).any():  # a zoo without specialists: no empty columns
        df = df.drop(columns=["base", "source"])
    return df, zoo


def evaluate(zoo: str = "local", tasks: list[str] | None = None, task_set: bool = False, models: str | None = None,
             large: bool = False, backend: str | None = None, batch_size: int | None = None,
             threads: int | None = None, max_items: int | None = None, output: Path | None = None,
             restart: bool = False, reuse_shipped: bool = True, cache_dir: Path | None = None,
             progress: Progress = SILENT, executor: str = "local", ray_address: str | None = None,
             ray_actors: int = 1, ray_gpus: float = 0.0, dtype: str | None = None, device: str | None = None,
             trust_remote_code: bool = False, concurrency: int | None = None, task_files: list[Path] | None = None,
             scoring=None, sources=None) -> tuple[list[dict], Path]:
    """Measure each member's accuracy on whole tasks (resumable); returns the finished rows and the
    results directory. ``task_files``: the user's own tasks; ``scoring``: a tasks.scoring.Scoring
    (the mode and generation settings; default each task's own); ``sources``: a
    tasks.resolve.TaskSources (lm-eval task folders, dataset columns) for ``lm-eval:``/``hf:`` names.
    A ``KeyboardInterrupt`` becomes ``Interrupted`` once the finished batches are saved.
    ``executor="ray"``: each member is scored by ``ray_actors`` actors on the Ray cluster at
    ``ray_address`` (none: a cluster started in this process), each reserving ``ray_gpus`` GPUs,
    into the same run logs."""
    from functools import partial

    from llm_spider.paths import ZOO_DIR
    from llm_spider.zoo.evaluate import (
        LIVE_TASK_SET,
        SHIPPED_LOCAL_DIR,
        LocalStore,
        evaluate_run,
        expand_tasks,
        sample_cap,
    )
    from llm_spider.executors import EXECUTORS, open_scorer
    from llm_spider.zoo.local import load_backend, load_zoo

    run = run_options(backend, dtype, device, batch_size, threads, trust_remote_code, concurrency)
    if executor not in EXECUTORS:
        raise SpiderError(f"unknown executor '{executor}'; executors: {', '.join(EXECUTORS)}")
    if not tasks and not task_set and not task_files:
        raise SpiderError("say which tasks: --task NAME[,NAME...], --task-file PATH or --task-set")
    names = list(tasks or []) + (list(LIVE_TASK_SET) if task_set else [])
    todo = expand_tasks(resolve_tasks(names, task_files or [], sources or TaskSources()))
    modes = {t.name: run_scoring(t, scoring) for t in todo}  # refuses a task that cannot be scored, before any model loads
    z = load_zoo(zoo)
    members = pick_models(z, models, large, progress)
    preps = prepare_members(members, run, cache_dir, progress)
    store = LocalStore(output or user_local_zoo_dir(z.name))
    shipped = {m.name: m.sha256 for m in load_zoo("local").models}
    # a finished row counts only if it scored the same items (the whole task, or the same sample)
    caps = {t.name: sample_cap(t, max_items, *modes[t.name]) or 0 for t in todo}
    done = store.history_frame()
    for col in ("max_items", "scoring", "task_sha"):
        if col not in done:
            done[col] = None
    done["scoring"] = done["scoring"].fillna("letter")  # rows written before modes existed are letter-scored
    rows = []
    # A shipped zoo's own results (e.g. a 100-item sample) are reused by a bigger run of the same
    # members; a user's zoo directory is not, since its adapters may have been rebuilt since.
    own = z.results_dir if z.results_dir and ZOO_DIR.resolve() in Path(z.results_dir).resolve().parents else None
    for m in members:
        same_weights = not m.adapter and shipped.get(m.name) == m.sha256
        reuse = [LocalStore(SHIPPED_LOCAL_DIR)] if reuse_shipped and same_weights else []
        if reuse_shipped and own is not None and Path(own).resolve() != SHIPPED_LOCAL_DIR.resolve():
            reuse.append(LocalStore(own))
        pending = [t for t in todo if restart or done[(done["model"] == m.name) & (done["task"] == t.name)
                                                      & (done["max_items"].fillna(0) == caps[t.name])
                                                      & (done["scoring"] == modes[t.name][0])
                                                      & (t.builtin or done["task_sha"] == t.fingerprint)].empty]
        if not pending:
            progress.note(f"{m.name}: all {len(todo)} task(s) already evaluated in {store.root}")
            continue
        prep = preps[m.name]
        if executor == "local":
            b = load_backend(m, cache_dir=cache_dir, progress=progress, prepared=prep)
        else:  # each actor loads the member itself, where it runs
            b = open_scorer(executor, partial(load_backend, m, cache_dir=cache_dir, prepared=prep),
                            prep.label, ray_address, ray_actors, m.name, ray_gpus)
        for t in pending:
            try:
                with progress.bar(f"{m.name} · {t.name}") as bar:
                    row = evaluate_run(b, m, t, store, restart=restart, chunk=prep.chunk, max_items=max_items,
                                       reuse=reuse, progress=bar.advance, on_wait=progress.note, scoring=scoring,
                                       on_start=lambda total, have, bar=bar: bar.update(completed=have, total=total))
            except KeyboardInterrupt:
                raise Interrupted(f"every finished batch is saved in {store.root}; rerun the same command to resume") from None
            rows.append(row)
            reused = f", {row['reused_items']} reused" if row["reused_items"] else ""
            tokens = f", {row['prompt_tokens']:,} + {row['completion_tokens']:,} tokens" if "prompt_tokens" in row else ""
            how = "" if row["scoring"] == "letter" else f" ({row['scoring']})"
            progress.note(f"{m.name} · {t.name}: accuracy{how} {row['score']:.4f} on {row['n_items']} items "
                          f"({row['seconds']:.0f} s{reused}{tokens})")
        b.close()
    return rows, store.root


def compare(tasks: list[str], zoo: str = "local", models: str | None = None, large: bool = False, top_k: int = 2,
            probes: int = 16, backend: str | None = None, batch_size: int | None = None, threads: int | None = None,
            results: Path | None = None, seed: int = 0, cache_dir: Path | None = None,
            progress: Progress = SILENT, dtype: str | None = None, device: str | None = None,
            trust_remote_code: bool = False, concurrency: int | None = None, task_files: list[Path] | None = None,
            scoring=None, sources=None) -> tuple[list[dict], list, pd.DataFrame, list[str]]:
    """Every selection method on a live zoo for each target: returns (records, targets, items, members).
    ``task_files``, ``scoring`` and ``sources`` are as `evaluate` takes them."""
    from llm_spider.benchmark.live import compare as run_compare
    from llm_spider.zoo.local import load_backend

    run = run_options(backend, dtype, device, batch_size, threads, trust_remote_code, concurrency)
    targets = resolve_tasks(tasks, task_files or [], sources or TaskSources())
    if not targets:
        raise SpiderError("say which task: --task NAME or --task-file PATH")
    # a task the mode cannot score is refused here, before any member loads
    modes = [run_scoring(t, scoring)[0] for t in targets]
    from llm_spider.zoo.local import load_zoo

    members = pick_models(load_zoo(zoo), models, large, progress)
    preps = prepare_members(members, run, cache_dir, progress)  # every member checked before any work
    generated = [n for n, p in preps.items() if p.label == "openai-generate"]
    if generated and any(mode != "generate" for mode in modes):
        # its methods read option log-probabilities: refused now, not after the probes
        raise SpiderError(f"compare reads the members' option log-probabilities; {generated[0]} gives generated "
                          "answers only (its server returns none): use select or evaluate for it")
    z, history, items, _ = zoo_results(zoo, results, allow_empty=True)  # the truth is asked for by name below
    encoder = task_encoder(32, 0, cache_dir)
    records = run_compare(targets, members, history, items, encoder,
                          lambda m: load_backend(m, cache_dir=cache_dir, progress=progress, prepared=preps[m.name]),
                          top_k=top_k, n_probes=probes, seed=seed, log=progress.note,
                          encode=lambda ts: encode_tasks(ts, encoder, progress), progress=progress,
                          zoo="" if zoo == "local" else zoo, scoring=scoring)
    return records, targets, items, [m.name for m in members]


def zoo_results(zoo: str = "local", results: Path | None = None, allow_empty: bool = False):
    """A live zoo's measured results: (zoo, history, per-item table, members with results); with
    ``allow_empty`` a zoo never evaluated has an empty history (select's prior is then flat or mapped)."""
    from llm_spider.benchmark.live import local_results
    from llm_spider.zoo.local import load_zoo

    z = load_zoo(zoo)
    history, items = local_results(results or user_local_zoo_dir(z.name), z.results_dir, allow_empty)
    members = [m.name for m in z.models if m.name in set(history.scores["model"])]
    return z, history, items, members


def build_specialists(bases: list[str] | None = None, sources: list[str] | None = None, steps: int = 48,
                      batch_size: int = 4, rank: int = 8, lr: float = 1e-3, seed: int = 0, output: Path | None = None,
                      rebuild: bool = False, threads: int | None = None, cache_dir: Path | None = None,
                      progress: Progress = SILENT) -> list[dict]:
    """Fine-tune each base member of the local zoo on each training source with LoRA (see
    zoo/specialists.py); existing specialists are kept unless ``rebuild``. Returns their records."""
    from llm_spider.zoo.local import load_backend, load_zoo
    from llm_spider.zoo.sources import SOURCES
    from llm_spider.zoo.specialists import LoraRecipe
    from llm_spider.zoo.specialists import build_specialists as build

    chosen = load_zoo("local").select(bases)
    missing = [m for m in chosen if not m.installed]
    if missing:
        raise SpiderError(missing[0].missing_message())
    names = sources or list(SOURCES)
    unknown = [s for s in names if s not in SOURCES]
    if unknown:
        raise SpiderError(f"unknown source {unknown[0]!r}; sources: {', '.join(SOURCES)}")
    recipe = LoraRecipe(rank=rank, alpha=2 * rank, lr=lr, steps=steps, batch_size=batch_size, seed=seed)
    current = ["training"]
    with progress.bar("training", steps) as bar:

        def log(msg: str) -> None:
            progress.note(msg)
            current[0] = msg.split(":")[0]
            bar.update(completed=0, description=current[0])

        return build(chosen, names, recipe, output, rebuild,
                     load=lambda m: load_backend(m, cache_dir=cache_dir, batch_size=batch_size, threads=threads,
                                                 progress=progress),
                     log=log, progress=lambda step, loss: bar.update(completed=step,
                                                                       description=f"{current[0]} · loss {loss:.3f}"))
