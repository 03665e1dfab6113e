"""Other tools' results as library calls: `zoo import` (lm-evaluation-harness, OpenCompass) and
how an imported history is found again by name, with its tasks' prompts."""

from __future__ import annotations

from pathlib import Path

from llm_spider.errors import SpiderError


def imported_history(path: Path) -> Path:
    """``path`` itself, or, when it names an import (`zoo import --name NAME`), that import's history."""
    from llm_spider.zoo.importers import HISTORY_FILE
    from llm_spider.zoo.recorded import recorded_dir

    from llm_spider.paths import is_plain_name

    path = Path(path)
    if not path.exists() and is_plain_name(str(path)) and (recorded_dir(str(path)) / HISTORY_FILE).is_file():
        return recorded_dir(str(path)) / HISTORY_FILE
    return path


def import_runs(paths: list[Path], name: str) -> tuple:
    """Read lm-evaluation-harness / OpenCompass outputs under ``paths`` and write them as the
    history ``name`` (and, where items were logged, the recorded zoo ``name``), all or nothing.
    Returns (history table, whether a recorded zoo was written, where, what was read)."""
    from llm_spider.zoo.importers import read_paths, write
    from llm_spider.paths import check_store_name
    from llm_spider.zoo.recorded import BUILTIN, recorded_dir

    if name in BUILTIN:
        raise SpiderError(f"'{name}' is a built-in recorded zoo; choose another --name")
    check_store_name(name, "an import")
    data = read_paths([Path(p) for p in paths])
    root = recorded_dir(name)
    history, zoo = write(data, root, name)
    return history, zoo, root, data


def imported_tasks(history) -> dict:
    """The tasks of the imports ``history`` came from (`zoo import`), each over its logged
    questions, so that they have prompts to compare like built-in tasks."""
    from dataclasses import replace

    from llm_spider.zoo.recorded import load_recorded

    names = sorted({str(s)[len("import:"):] for s in history.scores["source"].unique() if str(s).startswith("import:")})
    out = {}
    for name in names:
        try:
            zoo = load_recorded(name)
        except SpiderError:  # an import of scores only: no questions
            continue
        for t in zoo.as_tasks():
            out.setdefault(t.name, replace(t, components={t.name: 1.0}))
    return out
