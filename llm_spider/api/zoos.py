"""Zoos of the user's own members as library calls: create, add and remove members, show, list."""

from __future__ import annotations

import pandas as pd

from llm_spider.errors import SpiderError
from llm_spider.zoo.zoofile import (
    as_yaml,
    member_spec,
    read_raw,
    shipped_names,
    user_zoo_file,
    user_zoo_names,
    write_zoo,
    zoo_path,
)


def create_zoo(name: str, members: list[str], description: str = "", history: str | None = None):
    """A new zoo of yours (``members``: ``--member`` specs, key=value pairs): checked whole, then written."""
    path = user_zoo_file(name, must_exist=False)
    if not members:
        raise SpiderError("a zoo needs at least one member: --member name=NAME,path=FOLDER (or hf=, gguf=, "
                          "endpoint=, base= with adapter=)")
    raw = {"name": name, "description": description, **({"history": history} if history else {}),
           "members": [member_spec(m) for m in members]}
    return write_zoo(path, raw), path


def add_member(name: str, members: list[str]):
    path = user_zoo_file(name, must_exist=True)
    raw = read_raw(path)
    raw["members"] = [*raw.get("members", []), *(member_spec(m) for m in members)]
    return write_zoo(path, raw), path


def remove_member(name: str, members: list[str]):
    path = user_zoo_file(name, must_exist=True)
    raw = read_raw(path)
    names = [m.get("name") for m in raw.get("members", [])]
    unknown = [m for m in members if m not in names]
    if unknown:
        from llm_spider.errors import UnknownNameError

        raise UnknownNameError(f"member of zoo '{name}'", unknown[0], names)
    keep = [m for m in raw["members"] if m.get("name") not in members]
    users = [m["name"] for m in keep if m.get("base") in members]
    if users:
        raise SpiderError(f"member {users[0]!r} is an adapter on {members[0]!r}: remove it too, or first")
    if not keep:
        raise SpiderError(f"zoo {name!r} would have no member left")
    raw["members"] = keep
    return write_zoo(path, raw), path


def show_zoo(name: str) -> str:
    """The zoo's file as YAML (a shipped JSON zoo in the same schema)."""
    return as_yaml(name)


def zoos_frame() -> pd.DataFrame:
    """Every zoo a command can name: shipped and yours (runnable), and recorded ones (for select)."""
    from llm_spider.zoo.recorded import BUILTIN, recorded_dir, recorded_names
    from llm_spider.zoo.zoofile import load_any

    rows = []
    for kind, names in (("shipped", shipped_names()), ("yours", user_zoo_names())):
        for n in names:
            try:
                z = load_any(n)
                rows.append({"zoo": n, "kind": kind, "members": str(len(z.models)), "runs": "live",
                             "where": str(zoo_path(n)), "description": z.description})
            except SpiderError as exc:  # a broken file of yours is listed with why, not hidden
                rows.append({"zoo": n, "kind": kind, "members": "", "runs": "broken", "where": str(zoo_path(n)),
                             "description": str(exc)})
    rows += [{"zoo": n, "kind": "recorded", "members": "", "runs": "recorded (select)",
              "where": "data folder" if n in BUILTIN else str(recorded_dir(n)), "description": ""} for n in recorded_names()]
    return pd.DataFrame(rows)
