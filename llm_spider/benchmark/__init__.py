"""Benchmarks: protocols over a score history and the runner that scores every method on them."""

from llm_spider.benchmark.protocols import (
           DEFAULT_PROTOCOLS,
           PROTOCOLS,
           Fold,
           Protocol,
           get_protocol,
)
from llm_spider.benchmark.runner import (
           RECORD_FIELDS,
           BenchmarkResult,
           run_benchmark,
           run_protocol,
)

__all__ = ["PROTOCOLS", "DEFAULT_PROTOCOLS", "Fold", "Protocol", "get_protocol", "RECORD_FIELDS",
           "BenchmarkResult", "run_benchmark", "run_protocol"]
