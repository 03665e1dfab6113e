"""`zoo create`, `zoo add-member`, `zoo remove-member`, `zoo show`: zoos of your own candidates."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from llm_spider.api import zoos as api
from llm_spider.cli.common import user_errors, zoo_app
from llm_spider.output import stderr

MemberOpt = Annotated[Optional[list[str]], typer.Option(
    "--member", "-m", help="A member as key=value pairs split by commas: the fields of a zoo file's member "
    "(docs/zoos.md), e.g. name=ft,path=/models/ft or name=q,hf=Org/Model or name=t,gguf=/w/t.gguf or "
    "name=ft+law,base=ft,adapter=/a/law or name=s,endpoint=URL,model=M (with api_key_env=VAR); plus options "
    "such as dtype=bfloat16, device=cuda:1, chat_template=true, leaderboard_name=NAME. Repeat for each member.")]
NameArg = Annotated[str, typer.Argument(help="The zoo's name (letters, digits and . _ + = -).")]


def _written(zoo, path, verb: str) -> None:
    stderr.print(f"zoo '{zoo.name}' {verb}: {len(zoo.models)} member(s) in {path}; use it with --zoo {zoo.name}",
                 highlight=False, soft_wrap=True)


@zoo_app.command("create")
@user_errors
def zoo_create(name: NameArg, member: MemberOpt = None,
               description: Annotated[str, typer.Option("--description", help="One line on what the zoo is for.")] = "",
               history: Annotated[Optional[str], typer.Option(
                   "--history", help="Where members' leaderboard_name points: leaderboard (default, the Open LLM "
                   "Leaderboard) or a recorded zoo (`zoo import`).")] = None):
    """Make a zoo of your own models, kept in your data folder (~/.local/share/llm-spider/zoos/NAME/zoo.yaml).

    Every field is checked before the file is written; the weights are checked when a command runs
    the zoo (evaluate, compare, select --zoo NAME).

    Example:

      llm-spider zoo create mine -m name=ft,path=~/models/ft -m name=qwen,hf=Qwen/Qwen2.5-0.5B-Instruct
    """
    zoo, path = api.create_zoo(name, member or [], description, history)
    _written(zoo, path, "created")


@zoo_app.command("add-member")
@user_errors
def zoo_add_member(name: NameArg, member: MemberOpt = None):
    """Add members to a zoo of yours (the same --member syntax as `zoo create`)."""
    zoo, path = api.add_member(name, member or [])
    _written(zoo, path, "updated")


@zoo_app.command("remove-member")
@user_errors
def zoo_remove_member(name: NameArg, member: Annotated[list[str], typer.Argument(help="Member names to remove.")]):
    """Remove members from a zoo of yours (their results stay in the zoo's results folder)."""
    zoo, path = api.remove_member(name, member)
    _written(zoo, path, "updated")


@zoo_app.command("show")
@user_errors
def zoo_show(name: Annotated[str, typer.Argument(help="A zoo's name (shipped or yours) or a zoo file.")]):
    """Print a zoo's file as YAML, in the schema of docs/zoos.md (a shipped zoo too: copy it to start yours)."""
    print(api.show_zoo(name), end="")
