"""The command line interface (Typer + rich)."""

from llm_spider.cli import data, live, specialists, vision  # noqa: F401  (register their commands on the app)
from llm_spider.cli.app import app, main

__all__ = ["app", "main"]
