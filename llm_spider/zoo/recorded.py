"""Recorded zoos: models' per-item results on a question set, kept so that no model has to run again.

A recorded zoo is a question set (each question tagged with one or more task fields, e.g. MMLU-Pro's
``category`` and ``src``) and a results table (model × question → correct, and the chosen option or
option log-probabilities where known). The per-task accuracy table derived from it is a history
like any other; the per-item results let selection methods evaluate a model "on an item" without
running it (the recorded backend).

Why members with partial coverage are kept: a model that lacks some tasks (MMLU-Pro's
DeepSeek-Coder-V2 has no chemistry and no engineering results) is still a candidate on the tasks it
has. A (model, task) pair scores when the model has results on at least ``min_coverage`` (95 %) of
the task's items, as its accuracy on those; pairs with fewer are left out of the history; every pair
with some but not all items is listed by ``partial``, so callers can say so.

Formats (``import_items``): questions as JSONL (``.jsonl`` or ``.jsonl.gz``), one object a line with
``question_id``, the task field(s), ``question``, and where it has them ``options`` (a list) and
``answer`` (a letter, an index or the option's text). An item without options is free-form (a
number, a short answer) and an answer that is not one option (several correct ones, a number) is
kept as none: the results' ``correct`` column is the truth selection reads. Results as CSV with ``model, question_id, correct`` (1/0, true/false)
and optionally ``pred`` and ``logprobs`` (a JSON list). A bad row is refused with file:line and
nothing is written.
"""

from __future__ import annotations

import json
import string
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from llm_spider.errors import SpiderError, UnknownNameError
from llm_spider.paths import check_store_name, file_name, user_data_dir
from llm_spider.zoo.history import History

QUESTION_FIELDS = ("question_id", "question")  # options and answer are optional: a free-form item has neither
RESULT_FIELDS = ("model", "question_id", "correct")
DEFAULT_MIN_ITEMS = 50
BUILTIN = {"mmlu-pro": {"levels": ("category", "src"), "min_items": {"category": DEFAULT_MIN_ITEMS, "src": 100}}}
CONFIG_FILE, QUESTIONS_FILE, ITEMS_FILE = "recorded.json", "questions.parquet", "items.parquet"


def recorded_names() -> list[str]:
    """Every recorded zoo: the built-in ones, then the user's imports."""
    return [*BUILTIN, *sorted(p.name for p in recorded_dir("").glob("[!.]*") if (p / CONFIG_FILE).is_file())]


def recorded_dir(name: str) -> Path:
    """Where ``import_items`` keeps a user's recorded zoo (any name maps inside that folder)."""
    return user_data_dir() / "recorded" / file_name(name) if name else user_data_dir() / "recorded"


@dataclass
class RecordedZoo:
    """``questions``: question_id + the task fields (+ text); ``results``: model, question_id, correct
    (0/1) [, pred, logprobs]; ``levels``: the task fields; ``min_items``: per level, the fewest items
    a task needs to count as one."""

    name: str
    questions: pd.DataFrame
    results: pd.DataFrame
    levels: tuple[str, ...]
    min_items: dict[str, int] = field(default_factory=dict)
    source: str = ""
    min_coverage: float = 0.95

    def __post_init__(self) -> None:
        self._correct = self.results.pivot(index="question_id", columns="model", values="correct")

    @property
    def members(self) -> list[str]:
        return sorted(self._correct.columns)

    def _level(self, level: str | None) -> str:
        level = level or self.levels[0]
        if level not in self.levels:
            raise UnknownNameError("level", level, self.levels)
        return level

    def tasks(self, level: str | None = None) -> dict[str, np.ndarray]:
        """Task → its question ids, for tasks with at least ``min_items`` questions."""
        level = self._level(level)
        floor = self.min_items.get(level, DEFAULT_MIN_ITEMS)
        groups = self.questions.groupby(level)["question_id"]
        return {str(t): ids.to_numpy() for t, ids in groups if len(ids) >= floor}

    def coverage(self, level: str | None = None) -> pd.DataFrame:
        """Tasks × members: the share of each task's questions the member has a result on."""
        tasks = self.tasks(level)
        have = self._correct.notna()
        return pd.DataFrame({t: have.reindex(ids).mean() for t, ids in tasks.items()}).T[self.members]

    def partial(self, level: str | None = None) -> list[tuple[str, str, float]]:
        """(member, task, coverage) for the pairs with some but not all of the task's items."""
        cov = self.coverage(level)
        return [(m, t, float(cov.loc[t, m])) for t in cov.index for m in cov.columns if 0 < cov.loc[t, m] < 1]

    def history(self, level: str | None = None) -> History:
        """Per-task accuracy of every member with results on at least ``min_coverage`` of its items."""
        level = self._level(level)
        rows = []
        for t, ids in self.tasks(level).items():
            block = self._correct.reindex(ids)
            enough = block.notna().mean() >= self.min_coverage
            acc = block.loc[:, enough].mean()
            rows += [{"model": m, "task": t, "score": float(a), "n_items": len(ids)} for m, a in acc.items()]
        return History(pd.DataFrame(rows).assign(source=f"recorded:{self.name}:{level}"))

    def questions_key(self, level: str | None = None) -> str:
        """A hash of the questions' ids, tasks and text at ``level``: what the general tokens of its
        tasks are computed from (the key, with the history, of a cached prior)."""
        import hashlib

        cols = ["question_id", self._level(level), *(["question"] if "question" in self.questions.columns else [])]
        digest = pd.util.hash_pandas_object(self.questions[cols].astype(str), index=False).to_numpy().tobytes()
        return f"recorded:{self._level(level)}:" + hashlib.sha256(digest).hexdigest()

    def as_tasks(self, level: str | None = None) -> list:
        """Each task as a ``tasks.Task`` over its questions (text and options, no answers), so the
        sentence encoder can give it general tokens like any other task; versioned by content, so
        another zoo's task of the same name is encoded afresh."""
        import hashlib

        from llm_spider.tasks.base import Item, Task

        if "question" not in self.questions.columns:
            raise SpiderError(f"recorded zoo '{self.name}' has no question text to encode")
        level, out = self._level(level), []
        by_id = self.questions.set_index("question_id")
        for t, ids in self.tasks(level).items():
            rows = by_id.loc[ids]
            items = [Item(str(q), tuple(str(o) for o in (opts if opts is not None else ())))
                     for q, opts in zip(rows["question"], rows.get("options", [None] * len(rows)))]
            digest = hashlib.sha256("\x1f".join(i.question for i in items).encode()).hexdigest()[:12]
            out.append(Task(t, f"recorded:{self.name}", f"{self.name} {level} {t}", "mc.jinja",
                            (lambda items=items: items), version=digest))
        return out

    def correct_frame(self, level: str | None = None) -> pd.DataFrame:
        """model, task, item, correct: what zoo/reliability.py reads to say how far a task's items
        settle the order of its members."""
        level = self._level(level)
        df = self.results.merge(self.questions[["question_id", level]], on="question_id")
        return pd.DataFrame({"model": df["model"], "task": df[level], "item": df["question_id"], "correct": df["correct"]})

    def items_frame(self) -> pd.DataFrame:
        """Per-item results as `evaluate` writes them (model, task, item, answer, logprobs, mass), so
        that stored per-option log-likelihoods (e.g. imported from lm-eval's samples) become probe
        features (ranking/probes.py) like the local zoo's own runs. Needs a ``logprobs`` column; items
        are numbered by the position of their question within its task."""
        if "logprobs" not in self.results.columns:
            raise SpiderError(f"recorded zoo '{self.name}' has no per-option log-probabilities")
        level = self.levels[0]
        q = self.questions[["question_id", level, "answer_index"]].copy()
        q["item"] = q.groupby(level).cumcount()
        df = self.results.merge(q[q["answer_index"] >= 0], on="question_id")  # option scores need a gold option
        return pd.DataFrame({"model": df["model"], "task": df[level], "item": df["item"], "answer": df["answer_index"],
                             "logprobs": df["logprobs"], "mass": np.nan})

    @cached_property
    def _correct_values(self) -> np.ndarray:
        return self._correct.to_numpy(dtype=np.float64)

    @cached_property
    def _chosen(self) -> pd.DataFrame:
        return self.results.pivot(index="question_id", columns="model", values="pred")

    def answers(self, model: str, ids: Sequence) -> np.ndarray:
        """The option each question was answered with (None where there is none): what label-free
        selection compares members on."""
        if "pred" not in self.results.columns:
            raise SpiderError(f"recorded zoo '{self.name}' has no 'pred' column: label-free selection needs the "
                              "option each model chose")
        if model not in self._correct.columns:
            raise UnknownNameError("model", model, self.members)
        out = self._chosen[model].reindex(list(ids)).to_numpy(dtype=object)
        return np.array([None if v is None or v != v or str(v) == "" else str(v) for v in out], dtype=object)

    def outcomes(self, model: str, ids: Sequence) -> np.ndarray:
        """1.0 / 0.0 per question id (NaN where the model has no result): what "running" gives."""
        if model not in self._correct.columns:
            raise UnknownNameError("model", model, self.members)
        rows = self._correct.index.get_indexer(list(ids))
        out = self._correct_values[np.maximum(rows, 0), self._correct.columns.get_loc(model)]
        return np.where(rows >= 0, out, np.nan)


def load_recorded(name: str) -> RecordedZoo:
    """A built-in recorded zoo (``mmlu-pro``, from the data layer) or one made by ``import_items``."""
    if name in BUILTIN:
        from llm_spider import datasets

        meta = BUILTIN[name]
        questions = datasets.load("mmlu_pro/questions")
        results = datasets.load("mmlu_pro/results")[["model", "question_id", "pred", "correct"]]
        return RecordedZoo(name, questions, results, meta["levels"], dict(meta["min_items"]), "data:mmlu_pro")
    root = recorded_dir(name)
    if not (root / CONFIG_FILE).is_file():
        raise UnknownNameError("recorded zoo", name, recorded_names())
    config = json.loads((root / CONFIG_FILE).read_text())
    return RecordedZoo(name, pd.read_parquet(root / QUESTIONS_FILE), pd.read_parquet(root / ITEMS_FILE),
                       tuple(config["levels"]), dict(config["min_items"]), config.get("source", ""))


# --- import ---------------------------------------------------------------------------------------
def _answer_index(answer, options: list, where: str) -> int:
    """The gold option's index; -1 where there is no one option (no options, no answer, several
    correct options, a number that is none of them): the results' ``correct`` says what was right."""
    if isinstance(answer, bool):
        raise SpiderError(f"{where}: answer must be a letter, an index or an option's text")
    if not options or answer is None or answer == "" or isinstance(answer, (list, dict)):
        return -1
    if isinstance(answer, int) and 0 <= answer < len(options):
        return answer
    text = str(answer).strip()
    if len(text) == 1 and text.upper() in string.ascii_uppercase[:len(options)]:
        return string.ascii_uppercase.index(text.upper())
    if text in [str(o) for o in options]:
        return [str(o) for o in options].index(text)
    return -1


def read_questions(path: Path, levels: Sequence[str]) -> pd.DataFrame:
    """Validated questions from JSONL (optionally gzipped); the first bad line raises with file:line."""
    from llm_spider.zoo.importers.base import jsonl

    rows, seen = [], set()
    for where, obj in jsonl(path):
        if not isinstance(obj, dict):
            raise SpiderError(f"{where}: expected a JSON object")
        missing = [k for k in (*QUESTION_FIELDS, *levels) if k not in obj or obj[k] in (None, "")]
        if missing:
            raise SpiderError(f"{where}: missing field(s) {', '.join(missing)}")
        options = obj.get("options")
        if options in (None, "", []):
            options = []
        elif not isinstance(options, list) or len(options) < 2:
            raise SpiderError(f"{where}: options must be a list of at least two, or left out for a free-form item")
        qid = str(obj["question_id"])
        if qid in seen:
            raise SpiderError(f"{where}: question_id {qid!r} appears twice")
        seen.add(qid)
        rows.append({"question_id": qid, **{lv: str(obj[lv]) for lv in levels},
                     "question": str(obj["question"]), "options": [str(o) for o in options],
                     "answer_index": _answer_index(obj.get("answer"), options, where)})
    if not rows:
        raise SpiderError(f"{path}: no questions")
    return pd.DataFrame(rows)


def read_results(path: Path, question_ids: set[str]) -> pd.DataFrame:
    """Validated per-item results from CSV; the first bad row raises with file:line (header = line 1)."""
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError:
        raise SpiderError(f"{path}: empty file; expected a header ({', '.join(RESULT_FIELDS)}) and a row a "
                          "result") from None
    except (OSError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise SpiderError(f"{path}: cannot read as CSV ({str(exc).splitlines()[0]})") from None
    missing = [c for c in RESULT_FIELDS if c not in df.columns]
    if missing:
        raise SpiderError(f"{path}: needs columns {', '.join(RESULT_FIELDS)} (missing: {', '.join(missing)})")
    truth = {"1": 1, "0": 0, "true": 1, "false": 0, "1.0": 1, "0.0": 0}
    correct = df["correct"].str.strip().str.lower().map(truth)
    checks = [(df["model"].str.strip() == "", "empty model"),
              (~df["question_id"].isin(question_ids), "question_id not in the questions file"),
              (correct.isna(), "correct must be 1/0 or true/false"),
              (df.duplicated(["model", "question_id"]), "a second result for this model and question")]
    for bad, why in checks:
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise SpiderError(f"{path}:{i + 2}: {why} ({df.iloc[i]['model']!r}, {df.iloc[i]['question_id']!r})")
    if df.empty:
        raise SpiderError(f"{path}: a header but no results")
    out = pd.DataFrame({"model": df["model"].str.strip(), "question_id": df["question_id"], "correct": correct.astype(int)})
    if "pred" in df:
        out["pred"] = df["pred"]
    if "logprobs" in df:
        lp = []
        for i, text in enumerate(df["logprobs"]):
            try:
                lp.append([float(x) for x in json.loads(text)] if text else None)
            except (json.JSONDecodeError, TypeError, ValueError):
                raise SpiderError(f"{path}:{i + 2}: logprobs must be a JSON list of numbers") from None
        out["logprobs"] = lp
    return out


def import_items(questions: Path, results: Path, name: str, levels: Sequence[str] = ("task",),
                 min_items: int = DEFAULT_MIN_ITEMS, root: Path | None = None) -> RecordedZoo:
    """Validate both files, then write the recorded zoo ``name`` (replacing one of that name);
    a bad file writes nothing."""
    from llm_spider.writing import replaced_dir

    if name in BUILTIN:
        raise SpiderError(f"'{name}' is a built-in recorded zoo; choose another --name")
    check_store_name(name, "a recorded zoo")
    q = read_questions(Path(questions), levels)
    r = read_results(Path(results), set(q["question_id"]))
    zoo = RecordedZoo(name, q, r, tuple(levels), {lv: min_items for lv in levels}, f"import:{Path(questions).name}")
    with replaced_dir(root or recorded_dir(name)) as tmp:  # all or nothing: the old zoo stays until this is whole
        q.to_parquet(tmp / QUESTIONS_FILE, index=False)
        r.to_parquet(tmp / ITEMS_FILE, index=False)
        (tmp / CONFIG_FILE).write_text(json.dumps({"name": name, "levels": list(levels), "min_items": zoo.min_items,
                                                   "source": zoo.source}, indent=1) + "\n")
    return zoo


def summary(zoo: RecordedZoo) -> pd.DataFrame:
    """Per level: tasks, members scored on every task, members with partial coverage, items."""
    rows = []
    for level in zoo.levels:
        tasks = zoo.tasks(level)
        wide = zoo.history(level).wide() if tasks else pd.DataFrame()
        partial = zoo.partial(level)
        q = zoo.questions
        free = int(sum(len(o) == 0 for o in q["options"])) if "options" in q else 0
        rows.append({"level": level, "tasks": len(tasks), "items": int(sum(len(i) for i in tasks.values())),
                     "free_form_items": free, "answer_not_one_option": int((q["answer_index"] < 0).sum()) - free
                     if "answer_index" in q else 0,
                     "members": len(zoo.members), "members_on_every_task": int(wide.notna().all(axis=1).sum()),
                     "pairs_left_out": int(wide.isna().sum().sum()), "pairs_partial": len(partial)})
    return pd.DataFrame(rows)
