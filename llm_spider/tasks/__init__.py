"""Tasks: the built-in registry (MMLU, BIG-Bench-Hard, nine multiple-choice sets) and task files."""

from llm_spider.tasks.base import Item, Task, render_template
from llm_spider.tasks.catalog import MMLU_SUBSET, REGISTRY, TaskRegistry, get_task
from llm_spider.tasks.files import file_notes, load_task_file, to_dataset

__all__ = ["Item", "Task", "TaskRegistry", "REGISTRY", "MMLU_SUBSET", "get_task", "load_task_file", "file_notes",
           "render_template", "to_dataset"]
