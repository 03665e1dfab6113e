"""Tasks named by the user, from wherever they come: a built-in name, a task file, an lm-eval task
(``lm-eval:<name>``) or a Hugging Face dataset (``hf:<path>[:<config>]:<split>``). Each one read is
added to the registry for this process, so the commands that look tasks up by name find it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from llm_spider.errors import SpiderError
from llm_spider.tasks.base import Task
from llm_spider.tasks.catalog import REGISTRY
from llm_spider.tasks.files import SUFFIXES, load_task_file
from llm_spider.tasks.hfdata import Fields


@dataclass(frozen=True)
class TaskSources:
    """Where named tasks are looked for beyond the built-ins: lm-eval task folders, dataset columns."""

    include: tuple[Path, ...] = ()
    fields: Fields = field(default_factory=Fields)


def resolve_task(spec: str, sources: TaskSources = TaskSources()) -> Task:
    if spec.startswith("lm-eval:"):
        from llm_spider.tasks.lmeval import load_lm_eval_task

        return REGISTRY.add(load_lm_eval_task(spec[len("lm-eval:"):], sources.include))
    if spec.startswith("hf:"):
        from llm_spider.tasks.hfdata import load_hf_task

        return REGISTRY.add(load_hf_task(spec, sources.fields))
    if spec not in REGISTRY and Path(spec).suffix.lower() in SUFFIXES and Path(spec).exists():
        return task_from_file(Path(spec))  # a file given as a name: what was meant is plain
    return REGISTRY.get(spec)


def task_from_file(path: Path) -> Task:
    """A user's task file, under its file name (without suffix), which must not be a built-in's."""
    task = load_task_file(path)
    try:
        clash = task.name in REGISTRY._tasks  # the built-ins (needs the data folder; without it, none clash)
    except SpiderError:
        clash = False
    if clash:
        raise SpiderError(f"{path}: the task would be named '{task.name}', a built-in task's name; rename the file")
    return REGISTRY.add(task)


def resolve_tasks(names: Sequence[str] = (), files: Sequence[Path] = (), sources: TaskSources = TaskSources()
                  ) -> list[Task]:
    """Every task named or given as a file, in order; two of one name are refused."""
    tasks = [resolve_task(n, sources) for n in names] + [task_from_file(Path(f)) for f in files]
    seen: set[str] = set()
    for t in tasks:
        if t.name in seen:
            raise SpiderError(f"two tasks are named '{t.name}'; rename one of the files")
        seen.add(t.name)
    return tasks
