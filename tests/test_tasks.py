import json

import pytest

from llm_spider.errors import TaskFileError, UnknownNameError
from llm_spider.tasks import MMLU_SUBSET, REGISTRY, get_task, load_task_file, to_dataset
from llm_spider.tasks.catalog import MMLU_CATEGORY, parse_bbh_example


def test_registry_has_every_family():
    names = REGISTRY.names()
    assert sum(n.startswith("mmlu_") and n != "mmlu_subset" for n in names) == 57
    assert sum(n.startswith("bbh_") for n in names) == 27
    assert {"mmlu", "mmlu_subset", "arc_easy", "arc_challenge", "winogrande", "truthfulqa_mc1",
            "piqa", "socialiqa", "commonsenseqa", "openbookqa", "medqa_usmle"} <= set(names)


def test_mmlu_subject_items_are_complete_questions():
    task = get_task("mmlu_anatomy")
    assert len(task.items) == 135
    item = task.items[0]
    assert len(item.choices) == 4 and item.answer in range(4)


def test_mmlu_subset_spans_all_categories_and_is_question_weighted():
    task = get_task("mmlu_subset")
    assert 8 <= len(MMLU_SUBSET) <= 12
    assert {MMLU_CATEGORY[s] for s in MMLU_SUBSET} == {"stem", "humanities", "social_sciences", "other"}
    assert set(task.components) == {f"mmlu_{s}" for s in MMLU_SUBSET}
    assert sum(task.components.values()) == len(task.items)


def test_render_lists_choices_but_never_the_answer():
    task = get_task("mmlu_anatomy")
    item = task.items[0]
    text = task.render(item)
    assert item.question in text and "A. " in text and "D. " in text
    assert text.rstrip().endswith("Answer:")
    assert "anatomy" in text


def test_composite_prompts_name_each_items_subject():
    task = get_task("mmlu_subset")
    assert "college physics" in task.render(task.items[0])


def test_bbh_options_are_parsed():
    item = parse_bbh_example("x", "Q?\nOptions:\n(A) red\n(B) blue", "(B)")
    assert item.choices == ("red", "blue") and item.answer == 1
    item = parse_bbh_example("navigate", "Q?\nOptions:\n- Yes\n- No", "No")
    assert item.choices == ("Yes", "No") and item.answer == 1
    item = parse_bbh_example("boolean_expressions", "not True is", "False")
    assert item.choices == ("True", "False") and item.answer == 1
    item = parse_bbh_example("word_sorting", "Sort: b a", "a b")
    assert item.choices == () and item.answer == "a b"


def test_every_multiple_choice_bbh_answer_is_an_index():
    for name in ("bbh_date_understanding", "bbh_navigate", "bbh_formal_fallacies", "bbh_web_of_lies"):
        assert all(isinstance(i.answer, int) for i in get_task(name).items)


def test_unknown_task_suggests_closest_names():
    with pytest.raises(UnknownNameError) as err:
        get_task("mmlu_anatomyy")
    assert "mmlu_anatomy" in err.value.suggestions
    assert "mmlu_anatomy" in str(err.value)


def test_task_file_jsonl(tmp_path):
    path = tmp_path / "mine.jsonl"
    rows = [{"question": "2+2?", "choices": ["3", "4"], "answer": 1},
            {"question": "Capital of France?", "choices": ["Paris", "Rome"], "answer": "Paris"},
            {"question": "Colour of the sky?", "choices": ["blue", "green"], "answer": "A"},
            {"question": "Unlabelled?", "choices": ["x", "y"]}]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n\n")
    task = load_task_file(path)
    assert task.name == "mine" and len(task.items) == 4
    assert [i.answer for i in task.items] == [1, 0, 0, None]
    ds = to_dataset(task)
    assert ds.num_rows == 4 and ds[0]["choices"] == ["3", "4"]


def test_task_file_csv_with_pipe_choices(tmp_path):
    path = tmp_path / "mine.csv"
    path.write_text('question,choices,answer\n"Which is a fruit?","apple | chair",apple\n'
                    '"Which is a tool?","[""hammer"", ""pear""]",0\n')
    task = load_task_file(path)
    assert [i.choices for i in task.items] == [("apple", "chair"), ("hammer", "pear")]
    assert [i.answer for i in task.items] == [0, 0]


def test_task_file_fingerprint_follows_content(tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_text('{"question": "a?"}\n')
    first = load_task_file(path).fingerprint
    path.write_text('{"question": "b?"}\n')
    assert load_task_file(path).fingerprint != first


@pytest.mark.parametrize("content, line, fragment", [
    ('{"question": "ok?"}\n{"question": "broken"\n', 2, "invalid JSON"),
    ('{"question": "ok?"}\n\n{"choices": ["a", "b"]}\n', 3, "question"),
    ('{"question": "q?", "choices": ["a", "b"], "answer": 5}\n', 1, "out of range"),
    ('{"question": "q?", "choices": ["only"]}\n', 1, "at least two"),
    ('{"question": "q?", "choices": ["a", "b"], "answer": "zzz"}\n', 1, "answer"),
])
def test_malformed_task_file_names_file_and_line(tmp_path, content, line, fragment):
    path = tmp_path / "bad.jsonl"
    path.write_text(content)
    with pytest.raises(TaskFileError) as err:
        load_task_file(path)
    assert f"{path}:{line}" in str(err.value) and fragment in str(err.value)


def test_empty_task_file(tmp_path):
    path = tmp_path / "empty.jsonl"
    path.write_text("\n\n")
    with pytest.raises(TaskFileError, match="no items"):
        load_task_file(path)


def test_csv_without_question_column(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("prompt,answer\nhello,1\n")
    with pytest.raises(TaskFileError, match=r"bad.csv:1: .*'question'"):
        load_task_file(path)


def test_unsupported_suffix(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text("hello")
    with pytest.raises(TaskFileError, match="unsupported"):
        load_task_file(path)


def test_unknown_name_with_nothing_close_lists_a_short_vocabulary():
    err = UnknownNameError("family", "foo", ["mmlu", "bbh", "mc"])
    assert err.suggestions == [] and "Known: mmlu, bbh, mc." in str(err)


# --- issue 21, cases 5 and 6: task files that crashed or were read wrongly --------------------------
def test_a_task_file_not_in_utf8_is_one_line_naming_its_line(tmp_path):
    path = tmp_path / "latin1.jsonl"
    path.write_bytes(b'{"question":"ok","choices":["a","b"],"answer":0}\n{"question":"caf\xe9","choices":["a","b"],"answer":0}\n')
    with pytest.raises(TaskFileError, match=r"latin1.jsonl:2: not UTF-8"):
        load_task_file(path)


def test_an_answer_given_as_an_options_numeric_text_is_that_option(tmp_path):
    path = tmp_path / "numbers.jsonl"
    path.write_text('{"question":"7*8?","choices":["54","56","64","48"],"answer":"56"}\n')
    assert load_task_file(path).items[0].answer == 1
    # a string that is both an option's text and another option's index is refused, not guessed
    path.write_text('{"question":"1+1?","choices":["1","2","3"],"answer":"2"}\n')
    with pytest.raises(TaskFileError, match="both"):
        load_task_file(path)


def test_errors_in_a_json_array_name_the_item_not_a_line(tmp_path):
    path = tmp_path / "array.json"
    path.write_text('[\n{"question":"a","choices":["x","y"],"answer":0},\n{"question":"b","choices":["x","y"],"answer":5}\n]')
    with pytest.raises(TaskFileError, match=r"array.json: item 2: 'answer' 5 is out of range"):
        load_task_file(path)
