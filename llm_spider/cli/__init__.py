"""The command line interface (Typer + rich)."""

from llm_spider.cli import live  # noqa: F401  (registers evaluate and compare on the app)
from llm_spider.cli.app import app, main

__all__ = ["app", "main"]
