"""The command line interface (Typer + rich): parses, calls llm_spider.api, prints."""

from llm_spider.cli import data, live, llm, recorded, report, select, specialists, vision, zoos  # noqa: F401  (each registers its commands)
from llm_spider.cli.common import app, reflow_all

reflow_all(app)


def main() -> None:
    app()


__all__ = ["app", "main"]
