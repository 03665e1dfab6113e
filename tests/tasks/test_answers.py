"""Reading generated answers: extractions and metrics on the edge cases a model's text has."""

from __future__ import annotations

import pytest

from llm_spider.errors import SpiderError
from llm_spider.tasks.answers import as_number, check_extraction, check_metric, cut_at_stop, extract, matches, normalise


@pytest.mark.parametrize("how", ["first-line", "last-number", "letter", r"regex:answer is (\d+)"])
def test_an_empty_generation_extracts_nothing_and_is_never_right(how):
    assert extract("", how) == ""
    assert extract("   \n \n", how) == ""
    for metric in ("exact_match", "contains", "numeric"):
        assert not matches("", ["", "0"], metric)


def test_first_line_skips_blank_lines_and_strips():
    assert extract("\n\n  42 apples \nthen more", "first-line") == "42 apples"


def test_last_number_takes_the_last_of_several():
    text = "Tom has 3 bags of 4 marbles, so 3 × 4 = 12.\nThe answer is 12 marbles; not 13? No: 12."
    assert extract(text, "last-number") == "12"
    assert extract("from -5 to 1,250.5 units", "last-number") == "1250.5"
    assert extract("the result is −7", "last-number") == "-7"  # a unicode minus


def test_numbers_in_unicode_digits_and_full_width_forms():
    assert as_number("４２") == 42.0  # full-width digits, NFKC-normalised
    assert matches("答えは４２です", ["42"], "numeric")
    assert not matches("forty-two", ["42"], "numeric")


def test_numeric_tolerance_is_absolute():
    assert matches("3.14159", ["3.1416"], "numeric", tolerance=1e-3)
    assert not matches("3.2", ["3.1416"], "numeric", tolerance=1e-3)
    assert matches("1,000", ["1000"], "numeric")
    assert not matches("1001", ["1000"], "numeric")


def test_exact_match_normalises_case_space_unicode_and_a_final_stop():
    assert normalise("  Paris. ") == "paris"
    assert matches("PARIS.", ["paris"], "exact_match")
    assert matches("Ｐａｒｉｓ", ["Paris"], "exact_match")  # full-width letters (NFKC)
    assert matches("Straße", ["STRASSE"], "exact_match")  # case folding, not lower()
    assert matches("new   york", ["New York"], "exact_match")
    assert not matches("Paris, France", ["Paris"], "exact_match")
    assert matches("Paris, France", ["Paris"], "contains")
    assert matches("it is b", ["a", "B"], "contains")


def test_several_accepted_answers():
    assert matches("colour", ["color", "colour"], "exact_match")
    assert not matches("colr", ["color", "colour"], "exact_match")


def test_letter_finds_a_standalone_option_letter_only():
    assert extract("The answer is (B).", "letter", 4) == "B"
    assert extract("B", "letter", 4) == "B"
    assert extract("Because of it, C", "letter", 4) == "C"  # the B of "Because" is no letter
    assert extract("E", "letter", 4) == ""  # not an option of a 4-option item


def test_regex_takes_its_first_group_or_the_match():
    assert extract("so the answer is 17.", r"regex:answer is (\d+)") == "17"
    assert extract("#### 17", r"regex:#### \d+") == "#### 17"
    assert extract("no number here", r"regex:answer is (\d+)") == ""


def test_a_stop_sequence_at_once_leaves_nothing():
    assert cut_at_stop("\n\nQuestion: next", ["\n\n"]) == ""
    assert extract(cut_at_stop("\n\nQuestion: next", ["\n\n"]), "first-line") == ""
    assert cut_at_stop("12\nQuestion:", ["Question:", "\n"]) == "12"  # the earliest stop wins
    assert cut_at_stop("12", []) == "12"


@pytest.mark.parametrize("bad, message", [
    ("middle-line", "unknown extraction 'middle-line'"),
    ("regex:(unclosed", "does not compile"),
    ("regex:", "needs a pattern"),
])
def test_bad_extractions_are_one_line(bad, message):
    with pytest.raises(SpiderError, match=message.replace("(", r"\(")):
        check_extraction(bad)


def test_bad_metric_names_the_known_ones():
    with pytest.raises(SpiderError, match="unknown metric 'f1'; metrics: exact_match, contains, numeric"):
        check_metric("f1")
