"""Specialists' training sources: disjoint from every evaluated question, recorded reproducibly."""

from __future__ import annotations

import pytest

from llm_spider.errors import SpiderError
from llm_spider.tasks import get_task
from llm_spider.zoo.evaluate import LIVE_TASK_SET, scoring_items, scoring_template
from llm_spider.zoo.sources import (
    SOURCES,
    check_disjoint,
    evaluated_hashes,
    question_hash,
    source_task,
    split_record,
)


@pytest.fixture(scope="module")
def evaluated():
    return evaluated_hashes([get_task(n) for n in LIVE_TASK_SET])


def test_no_source_question_is_ever_evaluated(evaluated):
    sizes = check_disjoint(SOURCES, evaluated)
    assert set(sizes) == set(SOURCES) and min(sizes.values()) > 300
    for name in SOURCES:
        assert not {question_hash(it.question) for it in source_task(name, evaluated).items} & evaluated


def test_mmlu_repeats_some_test_questions_in_validation_and_they_are_left_out(evaluated):
    record = split_record("mmlu-stem", evaluated)
    assert record["left_out_as_evaluated"] > 0  # measured: 8 STEM validation questions are test questions
    assert record["items"] + record["left_out_as_evaluated"] == len(source_task("mmlu-stem").items)
    assert split_record("mmlu-stem", evaluated) == record  # the recorded hash is stable


def test_sources_render_as_the_evaluated_tasks_do(evaluated):
    assert scoring_template(source_task("mmlu-stem")) == scoring_template(get_task("mmlu_college_physics"))
    assert scoring_template(source_task("medicine")) == scoring_template(get_task("arc_challenge"))
    items = scoring_items(source_task("medicine", evaluated))
    assert items and items[0].options[:2] == (" A", " B") and 0 <= items[0].answer < len(items[0].options)
    with pytest.raises(SpiderError, match="unknown source"):
        source_task("cooking")
