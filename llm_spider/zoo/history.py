"""The history: a model × task score table, the ground truth that rankers learn from.

Kept in long form (one row per model, task and score) with provenance columns, because rows from
different sources (the public leaderboard, a user's table, our own evaluations) must stay
traceable after they are merged. ``wide()`` gives the model × task matrix the rankers work on.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from llm_spider import datasets
from llm_spider.errors import SpiderError, UnknownNameError

LEADERBOARD_SOURCE = "open-llm-leaderboard (sloth data_v2.csv @6dc6bb3, MIT)"
MODEL_INFO_COLUMNS = {
    "Family": "family", "Instruct": "instruct", "date": "date", "#Params (B)": "params_b",
    "Pretraining Data Size (T)": "tokens_t", "FLOPs (1E21)": "flops_1e21", "Family2": "family2",
}
# Columns on other scales than [0, 1] and with 4 models each: a mean over tasks would be theirs alone.
LEADERBOARD_DROPPED = ("Arena-Elo", "MTBench")
# Leaderboard columns that measure a registry task under another name.
TASK_ALIASES = {"ARC": "arc_challenge", "Winogrande": "winogrande"}
LONG_COLUMNS = ("model", "task", "score")


def canonical_task_name(name: str) -> str:
    """Map a history's column name onto the registry's name for the same task, when one exists."""
    name = str(name).strip()
    if name.startswith("hendrycksTest-"):
        return "mmlu_" + name[len("hendrycksTest-"):]
    return TASK_ALIASES.get(name, name)


def read_table(path: Path, what: str) -> pd.DataFrame:
    """A CSV or parquet file as a frame; a missing, unreadable or empty file is a user error."""
    if not path.is_file():
        raise SpiderError(f"{path}: no such {what} file")
    kind = "parquet" if path.suffix.lower() == ".parquet" else "CSV"
    try:
        df = pd.read_parquet(path) if kind == "parquet" else pd.read_csv(path)
    except Exception as exc:  # pandas raises many types for unreadable files
        raise SpiderError(f"{path}: cannot read as {kind}: {exc}") from None
    if df.empty:
        raise SpiderError(f"{path}: the {what} table is empty")
    return df


def check_numbers(scores: pd.Series, path: Path) -> None:
    """Refuse a score that is present but not a number, naming its file line (``scores`` keeps the
    row numbers of the file as read: header = line 1, row 0 = line 2)."""
    bad = pd.to_numeric(scores, errors="coerce").isna() & scores.notna()
    if bad.any():
        row = bad[bad].index[0]
        raise SpiderError(f"{path}:{int(row) + 2}: score {scores[row]!r} is not a number")


def model_scores_from_file(path: str | Path, model: str) -> dict[str, float]:
    """One model's scores, task → score, from a table with columns task,score (or model,task,score,
    then only ``model``'s rows); task names are canonicalised like a history's."""
    path = Path(path)
    df = read_table(path, "scores")
    cols = {c.lower(): c for c in df.columns}
    if "task" not in cols or "score" not in cols:
        raise SpiderError(f"{path}: needs columns task,score (found: {', '.join(map(str, df.columns))})")
    if "model" in cols:
        df = df[df[cols["model"]].astype(str) == model]
        if df.empty:
            raise SpiderError(f"{path}: no rows for model '{model}'")
    scores = df[cols["score"]]
    _check_finite(path, scores, cols["score"])
    tasks = df[cols["task"]].astype(str).map(canonical_task_name)
    if tasks.duplicated().any():
        raise SpiderError(f"{path}: task '{tasks[tasks.duplicated()].iloc[0]}' appears twice")
    return dict(zip(tasks, pd.to_numeric(scores).astype(float)))


def _check_finite(path: Path, scores: pd.Series, column: str) -> None:
    """Each score a finite number, or one line naming its file line and what it holds (read as
    written: pandas would read an empty cell and 'NaN' alike)."""
    import math

    raw = scores.astype(object)
    if path.suffix.lower() != ".parquet":
        raw = pd.read_csv(path, dtype=str, keep_default_na=False)[column].reindex(scores.index)
    for row, value in raw.items():
        text = "" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value).strip()
        where = f"{path}:{int(row) + 2}"
        if not text:
            raise SpiderError(f"{where}: the score is empty")
        try:
            number = float(text)
        except ValueError:
            raise SpiderError(f"{where}: score {text!r} is not a number") from None
        if not math.isfinite(number):
            raise SpiderError(f"{where}: score {text!r} is not a finite number")


class History:
    """Scores of models on tasks, with provenance; cheap to subset for cross-validation folds."""

    def __init__(self, scores: pd.DataFrame, model_info: pd.DataFrame | None = None):
        missing = [c for c in LONG_COLUMNS if c not in scores.columns]
        if missing:
            raise SpiderError(f"history table lacks column(s): {', '.join(missing)}")
        scores = scores.copy()
        for col, default in (("source", "user"), ("source_task", None)):
            if col not in scores.columns:
                scores[col] = scores["task"] if default is None else default
        scores["model"] = scores["model"].astype(str)
        scores["task"] = scores["task"].astype(str)
        scores["score"] = pd.to_numeric(scores["score"], errors="coerce")
        scores = scores.dropna(subset=["score"]).reset_index(drop=True)
        dup = scores.duplicated(["model", "task"])
        if dup.any():
            first = scores[dup].iloc[0]
            raise SpiderError(f"history has {int(dup.sum())} duplicate (model, task) rows, "
                              f"e.g. {first['model']!r} on {first['task']!r}")
        self.scores = scores
        self.model_info = model_info if model_info is not None else pd.DataFrame(index=pd.Index([], name="model"))
        self._wide: pd.DataFrame | None = None

    # --- construction -------------------------------------------------------------------------
    @classmethod
    def from_wide(cls, wide: pd.DataFrame, source: str, model_info: pd.DataFrame | None = None) -> History:
        """From a models × tasks matrix (index = model names); column names are canonicalised."""
        long = wide.rename_axis(index="model", columns="source_task").stack().rename("score").reset_index()
        long["task"] = long["source_task"].map(canonical_task_name)
        long["source"] = source
        return cls(long[["model", "task", "score", "source", "source_task"]], model_info)

    @classmethod
    def from_leaderboard(cls) -> History:
        """The Open LLM Leaderboard table from the data layer (the data folder's: 188 LLMs × 108
        tasks once Arena-Elo and MT-Bench are dropped; see docs/data.md)."""
        df = datasets.load("leaderboard").set_index("Model")
        info = df[[c for c in MODEL_INFO_COLUMNS if c in df.columns]].rename(columns=MODEL_INFO_COLUMNS)
        tasks = df.drop(columns=[c for c in (*MODEL_INFO_COLUMNS, *LEADERBOARD_DROPPED) if c in df.columns])
        meta = datasets.info("leaderboard")
        source = LEADERBOARD_SOURCE if meta["source"] == "folder" else f"open-llm-leaderboard (Hub: {meta['hub_id']})"
        return cls.from_wide(tasks.astype(float), source, info.rename_axis("model"))

    @classmethod
    def from_file(cls, path: str | Path) -> History:
        """A user's CSV or parquet table, long (model, task, score[, ...]) or wide (model + tasks)."""
        path = Path(path)
        df = read_table(path, "history")
        lower = {c.lower(): c for c in df.columns}
        source = f"file:{path.name}"
        if all(c in lower for c in LONG_COLUMNS):
            long = df.rename(columns={lower[c]: c for c in LONG_COLUMNS})
            check_numbers(long["score"], path)
            long["source_task"] = long["task"]
            long["task"] = long["task"].map(canonical_task_name)
            long["source"] = long["source"] if "source" in long.columns else source
            return cls(long)
        model_col = lower.get("model") or df.columns[0]
        wide = df.set_index(model_col)
        wide.index = wide.index.astype(str)
        numeric = wide.select_dtypes(include="number")
        if numeric.shape[1] == 0:
            raise SpiderError(f"{path}: no numeric task columns found; expected a long table with "
                              "columns model, task, score or a wide one with a model column and one column per task")
        info = wide.drop(columns=numeric.columns).rename_axis("model")
        return cls.from_wide(numeric, source, info)

    def scale_note(self) -> str | None:
        """A warning when scores lie outside [0, 1]: every method compares scores across tasks as
        given, so a table mixing percentages with fractions ranks by scale, not by ability."""
        s = self.scores
        out = s[(s["score"] < 0) | (s["score"] > 1)]
        if out.empty:
            return None
        first = out.iloc[0]
        hint = ("; if they are percentages, divide them by 100" if (out["score"] <= 100).all() and
                (out["score"] >= 0).all() else "")
        return (f"{len(out)} of {len(s)} scores lie outside [0, 1] (e.g. {first['score']:g} for "
                f"'{first['model']}' on '{first['task']}'): the methods compare them as given across "
                f"{out['task'].nunique()} of {s['task'].nunique()} tasks{hint}")

    # --- views ---------------------------------------------------------------------------------
    def wide(self) -> pd.DataFrame:
        """models × tasks matrix of scores (NaN where a model has no score)."""
        if self._wide is None:
            self._wide = self.scores.pivot(index="model", columns="task", values="score")
        return self._wide

    @property
    def models(self) -> list[str]:
        return list(self.wide().index)

    @property
    def tasks(self) -> list[str]:
        return list(self.wide().columns)

    def __len__(self) -> int:
        return len(self.scores)

    def __repr__(self) -> str:
        return f"History({len(self.models)} models × {len(self.tasks)} tasks, {len(self)} scores)"

    def subset(self, models: Iterable[str] | None = None, tasks: Iterable[str] | None = None) -> History:
        rows = self.scores
        if models is not None:
            rows = rows[rows["model"].isin(set(models))]
        if tasks is not None:
            rows = rows[rows["task"].isin(set(tasks))]
        return History(rows, self.model_info)

    def drop_tasks(self, tasks: Iterable[str]) -> History:
        return self.subset(tasks=[t for t in self.tasks if t not in set(tasks)])

    def complete_models(self, tasks: Iterable[str]) -> list[str]:
        """Models with a score on every one of ``tasks``."""
        tasks = list(tasks)
        return list(self.wide()[tasks].dropna().index) if tasks else self.models

    def task_scores(self, components: Mapping[str, float]) -> pd.Series:
        """Each model's score on a (possibly composite) task: the weighted mean of its components.

        A model missing any component gets NaN, since a partial mean would not be the same task.
        """
        names = [c for c in components if c in self.wide().columns]
        if len(names) < len(components):
            return pd.Series(np.nan, index=self.wide().index, dtype=float)
        weights = np.array([components[c] for c in names], dtype=float)
        values = self.wide()[names].to_numpy()
        return pd.Series(values @ weights / weights.sum(), index=self.wide().index, name="score")

    def check_models(self, models: Iterable[str]) -> list[str]:
        """Validate user-given model names; unknown names raise with the closest known ones."""
        known = set(self.models)
        out = []
        for m in models:
            if m not in known:
                raise UnknownNameError("model", m, self.models)
            out.append(m)
        return out

    def summary(self) -> pd.DataFrame:
        """One row per model: number of tasks scored, mean score, and the model's metadata."""
        wide = self.wide()
        out = pd.DataFrame({"tasks_scored": wide.notna().sum(axis=1), "mean_score": wide.mean(axis=1)})
        if not self.model_info.empty:
            out = out.join(self.model_info, how="left")
        out["source"] = self.scores.groupby("model")["source"].first()
        return out.rename_axis("model").reset_index()

