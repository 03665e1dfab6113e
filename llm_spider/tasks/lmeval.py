"""lm-evaluation-harness's tasks by name (``--task lm-eval:<name>``), built by lm-eval's own task
manager, so that a user's task YAMLs work unchanged.

Why through lm-eval's requests and not its YAML read here: ``doc_to_text``, ``doc_to_choice``,
``doc_to_target``, few-shot contexts, descriptions and ``process_docs`` are lm-eval's to interpret;
the contexts and continuations it builds for its own models are the prompts scored here, so the
log-likelihoods are the ones lm-eval would compute (tests check them against its samples). The
choice lengths ``continuation-norm`` divides by are lm-eval's too (``len`` of each choice text).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import warnings
from collections import defaultdict
from collections.abc import Sequence
from contextlib import contextmanager
from pathlib import Path

from llm_spider.errors import SpiderError, UnknownNameError
from llm_spider.tasks.base import Item, Task
from llm_spider.tasks.scoring import Generation

PREFIX = "lm-eval:"
MISSING = "--task lm-eval:NAME needs lm-evaluation-harness: pip install 'llm-spider[harness]'"


def task_manager(include: Sequence[Path] = ()):
    """lm-eval's task index, with the user's task folders first."""
    try:
        from lm_eval.tasks import TaskManager
    except ImportError:
        raise SpiderError(MISSING) from None
    for d in include:
        if not Path(d).is_dir():
            raise SpiderError(f"{d}: --lm-eval-include needs a folder of lm-eval task YAMLs")
    logging.getLogger("lm_eval").setLevel(logging.ERROR)
    return TaskManager(include_path=[str(d) for d in include] or None)


@contextmanager
def quiet():
    """lm-eval's and datasets' own bars and notes off stderr: the command's progress says what runs."""
    with contextlib.redirect_stderr(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def load_lm_eval_task(name: str, include: Sequence[Path] = ()) -> Task:
    """The lm-eval task ``name`` as a Task whose items are lm-eval's rendered requests."""
    tm = task_manager(include)
    if name not in tm.all_tasks:
        raise UnknownNameError("lm-eval task", name, tm.all_tasks)
    try:
        with quiet():
            loaded = tm.load([name])
    except Exception as exc:  # lm-eval's own message: a dataset it cannot read offline, a bad YAML
        raise SpiderError(f"lm-eval could not build task '{name}': {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None
    if name in loaded.get("groups", {}) or name not in loaded.get("tasks", {}):
        raise SpiderError(f"'{name}' is an lm-eval group or tag; give one of its tasks: "
                          f"{', '.join(sorted(loaded.get('tasks', {}))[:8])}")
    task = loaded["tasks"][name]
    kind = task.OUTPUT_TYPE
    if kind not in ("multiple_choice", "generate_until"):
        raise SpiderError(f"lm-eval task '{name}' is scored by {kind}; llm-spider scores multiple_choice and "
                          "generate_until tasks")
    with quiet():
        task.build_all_requests(limit=None, rank=0, world_size=1)
    requests = defaultdict(list)
    for inst in task.instances:
        requests[inst.doc_id].append(inst)
    docs = dict(enumerate(task.eval_docs))
    items, digest = [], hashlib.sha256()
    generation = None
    delimiter = task.config.target_delimiter if task.config.target_delimiter is not None else " "
    for doc_id in sorted(requests):
        insts = sorted(requests[doc_id], key=lambda x: x.idx)
        doc = docs[doc_id]
        context = insts[0].args[0]
        if kind == "multiple_choice":
            choices = tuple(str(c) for c in task.doc_to_choice(doc))
            if [i.args[1] for i in insts] != [delimiter + c for c in choices]:
                raise SpiderError(f"lm-eval task '{name}': its continuations are not the target delimiter plus "
                                  "each choice (a multiple-input task); llm-spider cannot score it")
            item = Item(context, choices, _gold(task.doc_to_target(doc), choices))
        else:
            target = task.doc_to_target(doc)
            accepted = tuple(str(t) for t in target) if isinstance(target, list) else (str(target),)
            item = Item(context, (), accepted)
            if generation is None:
                generation = _generation(task, insts[0].args[1])
        items.append(item)
        digest.update(f"{context}|{item.choices}|{item.answer}\n".encode())
    if not items:
        raise SpiderError(f"lm-eval task '{name}' has no evaluation documents")
    return Task(PREFIX + name, "lm-eval", f"lm-eval task {name} ({len(items)} items)", "lm-eval", lambda: items, {},
                category="lm-eval", topic=name.replace("_", " "), version=digest.hexdigest()[:16],
                scoring="continuation" if kind == "multiple_choice" else "generate", rendered=True,
                target_delimiter=delimiter, generation=generation, builtin=False)


def _gold(target, choices: tuple[str, ...]) -> int | None:
    """lm-eval's gold: an index, or a choice's text; several golds are not scored (None)."""
    if isinstance(target, int) and 0 <= target < len(choices):
        return target
    if isinstance(target, str):
        if target in choices:
            return choices.index(target)
        if target.strip().isdigit() and int(target) < len(choices):
            return int(target)
    return None


def _generation(task, kwargs: dict) -> Generation:
    """lm-eval's generation settings (``until``, ``max_gen_toks``) and its first filter's regex, if any."""
    until = kwargs.get("until") or []
    extract = None
    for pipeline in task.config.filter_list or []:
        steps = pipeline.get("filter", []) if isinstance(pipeline, dict) else []
        regex = [s for s in steps if s.get("function") == "regex" and s.get("regex_pattern")]
        if regex:
            extract = "regex:" + regex[0]["regex_pattern"]
            break
    return Generation(max_new_tokens=int(kwargs.get("max_gen_toks") or 256),
                      stop=tuple(until if isinstance(until, list) else [until]), extract=extract)
