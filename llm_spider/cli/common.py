"""What every command shares: the Typer apps, the common options, error mapping and progress bars."""

from __future__ import annotations

import functools
import inspect
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.text import Text

from llm_spider.api.live import Interrupted
from llm_spider.errors import SpiderError, SpiderWarning, cannot_write
from llm_spider.output import Format, RichProgress, stderr

class OneLineErrors(typer.core.TyperGroup):
    """Click's own usage errors (a value out of range, an unknown option) as the one line every
    other mistake is: ``error: ...``, exit 2, instead of a boxed usage panel."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        import sys

        try:  # Typer ≥ 0.2x carries its own copy of click
            from typer._click import exceptions as click
        except ImportError:  # pragma: no cover - older Typer on click itself
            from click import exceptions as click

        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.NoArgsIsHelpError as exc:  # a group without a command: its help
            exc.show()
            sys.exit(exc.exit_code)
        except click.ClickException as exc:
            where = f" (see: {exc.ctx.command_path} --help)" if getattr(exc, "ctx", None) else ""
            message = " ".join(exc.format_message().split())
            stderr.print(Text.assemble(("error:", "bold red"), f" {message}{where}"), highlight=False, soft_wrap=True)
            sys.exit(2)
        except typer.Abort:
            stderr.print("aborted")
            sys.exit(1)
        sys.exit(rv if isinstance(rv, int) else 0)


app = typer.Typer(
    cls=OneLineErrors,
    help="Rank the pre-trained models in a zoo for a task without running them all (Model Spider).\n\n"
         "Start with:  llm-spider rank --task mmlu_subset",
    no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
)
tasks_app = typer.Typer(help="Browse the built-in tasks.", no_args_is_help=True)
zoo_app = typer.Typer(help="Browse the model zoo and its score history.", no_args_is_help=True)
benchmark_app = typer.Typer(help="Measure how well each ranking method works on historical tasks.",
                            no_args_is_help=True)
app.add_typer(tasks_app, name="tasks")
app.add_typer(zoo_app, name="zoo")
app.add_typer(benchmark_app, name="benchmark")

FormatOpt = Annotated[Format, typer.Option("--format", "-f", help="Output format.", case_sensitive=False)]
HistoryOpt = Annotated[Optional[Path], typer.Option(
    "--history", help="Your own score table (CSV or parquet; long: model,task,score or wide: model + one "
                      "column per task). Default: the Open LLM Leaderboard table of the data folder.")]
DataDirOpt = Annotated[Optional[Path], typer.Option(
    "--data-dir", help="The data folder holding the public data sets (leaderboard/, mmlu/, bbh/, mc/, ...; "
                       "default: $LLM_SPIDER_DATA, else their Hugging Face Hub copies). See docs/data.md.")]
PromptsOpt = Annotated[int, typer.Option("--prompts", min=1, help="Prompts sampled per task for its representation.")]
CheckpointOpt = Annotated[Optional[Path], typer.Option(
    "--checkpoint", help="A Spider checkpoint directory (default: yours from `llm-spider train` / `zoo add-model` "
                         "if you have one, else the one shipped with the package).")]
PromptSeedOpt = Annotated[int, typer.Option("--prompt-seed", help="Seed for sampling the prompts.")]
CacheOpt = Annotated[Optional[Path], typer.Option("--cache-dir", help="Where task vectors are cached "
                                                                     "(default: llm-spider in your cache folder, ~/.cache).")]


def user_errors(fn: Callable) -> Callable:
    """Print a user's mistake as one clear line and exit 2 (an interrupted run: exit 130), not a traceback."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            with warnings.catch_warnings():  # the library's notes (SpiderWarning) as note lines
                warnings.simplefilter("always", SpiderWarning)
                warnings.showwarning = _note
                return fn(*args, **kwargs)
        except (SpiderError, OSError) as exc:
            if isinstance(exc, OSError) and exc.filename is None:
                raise  # not about a path the user gave or can fix: a bug, with its traceback
            text = str(exc) if isinstance(exc, SpiderError) else cannot_write(exc)
            stderr.print(Text.assemble(("error:", "bold red"), f" {text}"), highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None
        except Interrupted as exc:
            stderr.print(Text.assemble(("interrupted", "yellow"), f": {exc}"), highlight=False, soft_wrap=True)
            raise typer.Exit(130) from None

    wrapper.maps_user_errors = True  # tests check every command has it
    return wrapper


def _note(message, category, *args, **kwargs) -> None:
    if issubclass(category, SpiderWarning):
        stderr.print(f"note: {message}", highlight=False)
    else:
        _show_warning(message, category, *args, **kwargs)


_show_warning = warnings.showwarning


def reads_data(fn: Callable) -> Callable:
    """Give a command that reads the public data sets a ``--data-dir`` option (one definition for all
    of them), and point the data layer at it before the command runs."""
    from llm_spider import datasets

    sig = inspect.signature(fn, eval_str=True)  # Typer reads a given signature as is: no string annotations
    option = inspect.Parameter("data_dir", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=DataDirOpt)

    @functools.wraps(fn)
    def wrapper(*args, data_dir: Path | None = None, **kwargs):
        datasets.set_data_dir(data_dir)
        return fn(*args, **kwargs)

    wrapper.__signature__ = sig.replace(parameters=[*sig.parameters.values(), option])
    wrapper.__annotations__ = {**fn.__annotations__, "data_dir": DataDirOpt}
    return wrapper


PROGRESS = RichProgress()


def reflow(doc: str | None) -> str | None:
    """A command's docstring with each prose paragraph on one line, so that the help wraps it to the
    terminal once. Typer keeps a docstring's own line breaks after its first paragraph, and on a
    narrower terminal each source line then wraps again: a sentence broken in two places. A
    paragraph with an indented line (a command to type) keeps its lines."""
    if not doc:
        return doc
    paragraphs = inspect.cleandoc(doc).split("\n\n")
    return "\n\n".join(p if any(line.startswith(" ") for line in p.splitlines()) else " ".join(p.split())
                       for p in paragraphs)


def escape_brackets(text: str | None) -> str | None:
    """``text`` with every ``[`` escaped for rich (idempotent), so that help shows ``[ray]`` as
    written: Typer renders help as rich markup, which reads ``[ray]`` as a style and drops it."""
    import re

    return text if not text else re.sub(r"(?<!\\)\[", r"\\[", text)


def reflow_all(root: typer.Typer) -> None:
    """Reflow the docstring of every command under ``root`` (see ``reflow``) and escape the square
    brackets of it and of every option's help (``escape_brackets``)."""
    from typing import get_args

    for info in root.registered_commands:
        if info.callback is not None:
            info.callback.__doc__ = escape_brackets(reflow(info.callback.__doc__))
            for param in inspect.signature(info.callback, eval_str=True).parameters.values():
                for meta in get_args(param.annotation)[1:]:
                    if isinstance(meta, typer.models.ParameterInfo):
                        meta.help = escape_brackets(meta.help)
    for group in root.registered_groups:
        reflow_all(group.typer_instance)

