"""Which history a live zoo's prior comes from, decided before any member runs, and said.

A user's zoo often has no results of its own: its members were never evaluated here. Its prior then
comes from rows another history holds for them (``leaderboard_name``: a row of the Open LLM
Leaderboard, or of the recorded zoo the zoo file's ``history`` names), and is flat for the rest.
Why say it: a flat prior costs more items, and a mapped one is only as good as the mapping.
"""

from __future__ import annotations

import pandas as pd

from llm_spider.errors import SpiderError, closest
from llm_spider.progress import SILENT, Progress
from llm_spider.zoo.history import History

MIN_MEMBERS = 2  # a prior that knows one member says nothing about which member is better


def mapped_history(zoo, candidates: list[str]) -> tuple[History | None, dict[str, str]]:
    """The history the zoo file's ``history`` names, with the rows of each candidate's
    ``leaderboard_name`` copied under the candidate's name; None when no candidate has one."""
    names = {m.name: str(m.options["leaderboard_name"]) for m in zoo.models
             if m.name in candidates and m.options.get("leaderboard_name")}
    if not names:
        return None, {}
    if zoo.history == "leaderboard":
        source, what = History.from_leaderboard(), "the Open LLM Leaderboard"
    else:
        from llm_spider.zoo.recorded import load_recorded

        source, what = load_recorded(zoo.history).history(None), f"recorded zoo '{zoo.history}'"
    for member, row in names.items():
        if row not in source.models:
            near = closest(row, source.models)
            raise SpiderError(f"member '{member}': leaderboard_name {row!r} is not a model of {what}"
                              + (f"; did you mean {', '.join(near)}?" if near else ""))
    scores = source.scores
    copies = [scores[scores["model"] == row].assign(model=member) for member, row in names.items()]
    rest = scores[~scores["model"].isin(candidates)]
    return History(pd.concat([rest, *copies], ignore_index=True)), {m: f"{r} in {what}" for m, r in names.items()}


def live_prior(zoo, others: History, candidates: list[str], prior: str, task: str,
               progress: Progress = SILENT) -> tuple[History, str]:
    """(history, prior) for a live zoo: its own results where they cover at least two members on two
    tasks besides the target, else the mapped history (leaderboard estimate), else flat; each
    member's prior is said before any runs."""
    if prior == "flat":
        return others, prior
    covered = [m for m in candidates if m in others.models]
    if len(others.tasks) >= 2 and len(covered) >= MIN_MEMBERS:
        rest = [m for m in candidates if m not in covered]
        if rest:
            progress.note(f"prior: flat for {', '.join(rest)} (no results of theirs on this zoo's other tasks)")
        return others, prior
    mapped, where = mapped_history(zoo, candidates)
    if mapped is not None and len(where) >= MIN_MEMBERS:
        mapped = mapped.drop_tasks([task]) if task in mapped.tasks else mapped
        rest = [m for m in candidates if m not in where]
        progress.note("prior: leaderboard estimate from mapped rows: "
                      + "; ".join(f"{m} = {w}" for m, w in where.items())
                      + (f"; flat for {', '.join(rest)}" if rest else "")
                      + ("" if prior in ("auto", "leaderboard") else
                         f" ({prior} needs the zoo's own results: taking leaderboard)"))
        return mapped, "leaderboard"
    why = (f"only {len(covered)} member(s) have results on {len(others.tasks)} other task(s)" if covered
           else "no member has results on this zoo's other tasks")
    progress.note(f"prior: flat for every member ({why}; evaluate them on other tasks, or name at least two "
                  "members' leaderboard_name in the zoo file)")
    return others, "flat"
