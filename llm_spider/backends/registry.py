"""The inference backends by name, as lazy strings: listing them imports neither torch nor vLLM.
A new backend is one module with ``@register_backend("name")`` on a ``Backend`` subclass, plus its
"module:Class" line here (backends are heavy imports, so they are not discovered by importing)."""

from __future__ import annotations

from llm_spider.backends.base import Backend
from llm_spider.registry import Registry

BACKENDS: Registry[type[Backend]] = Registry(
    "backend",
    builtins={
        "transformers": "llm_spider.backends.hf:TransformersBackend",
        "vllm": "llm_spider.backends.vllm:VLLMBackend",
        "openai": "llm_spider.backends.openai:OpenAIBackend",  # endpoint members only (zoo/local.load_backend)
    },
    name_attr="name",
)
register_backend = BACKENDS.register
