"""The command line interface (Typer + rich)."""

from llm_spider.cli.app import app, main

__all__ = ["app", "main"]
