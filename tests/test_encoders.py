"""The real sentence encoder (all-MiniLM-L6-v2 from its PyPI package), on a few prompts."""

import json

import numpy as np
import pytest

from llm_spider.encoders import SentenceEncoder, TaskEncoder
from llm_spider.tasks import get_task, load_task_file


@pytest.fixture(scope="module")
def sentence_encoder():
    return SentenceEncoder()


def test_sampling_is_seeded_and_bounded():
    task = get_task("mmlu_anatomy")
    enc = TaskEncoder(encoder=object.__new__(SentenceEncoder), n_prompts=5, seed=3)
    first, again = enc.sample_prompts(task), enc.sample_prompts(task)
    assert first == again and len(first) == 5
    other = TaskEncoder(encoder=object.__new__(SentenceEncoder), n_prompts=5, seed=4).sample_prompts(task)
    assert other != first


def test_encode_shapes_and_normalisation(sentence_encoder, cache_dir):
    enc = TaskEncoder(sentence_encoder, n_prompts=4, seed=0, cache_dir=cache_dir)
    tokens = enc.encode(get_task("mmlu_anatomy"))
    assert tokens.shape == (4, 384) and tokens.dtype == np.float32
    assert np.allclose(np.linalg.norm(tokens, axis=1), 1.0, atol=1e-4)


def test_similar_tasks_are_closer_than_unrelated_ones(sentence_encoder, cache_dir):
    enc = TaskEncoder(sentence_encoder, n_prompts=8, seed=0, cache_dir=cache_dir)
    centroid = {n: enc.encode(get_task(n)).mean(0) for n in
                ("mmlu_high_school_mathematics", "mmlu_college_mathematics", "mmlu_world_religions")}
    cos = lambda a, b: a @ b / np.linalg.norm(a) / np.linalg.norm(b)  # noqa: E731
    hs, col, rel = (centroid[n] for n in centroid)
    assert cos(hs, col) > cos(hs, rel)


def test_cache_hit_skips_the_model_and_key_covers_n_and_seed(sentence_encoder, cache_dir, monkeypatch):
    task = get_task("mmlu_virology")
    enc = TaskEncoder(sentence_encoder, n_prompts=3, seed=1, cache_dir=cache_dir)
    assert not enc.is_cached(task)
    tokens = enc.encode(task)
    assert enc.is_cached(task) and enc.cache_path(task).suffix == ".safetensors"

    def boom(*args, **kwargs):
        raise AssertionError("a cached task must not be re-encoded")

    monkeypatch.setattr(sentence_encoder, "encode", boom)
    assert np.array_equal(enc.encode(task), tokens)
    for other in (TaskEncoder(sentence_encoder, n_prompts=4, seed=1, cache_dir=cache_dir),
                  TaskEncoder(sentence_encoder, n_prompts=3, seed=2, cache_dir=cache_dir)):
        assert other.cache_path(task) != enc.cache_path(task) and not other.is_cached(task)


def test_cache_key_follows_a_task_files_content(sentence_encoder, cache_dir, tmp_path):
    path = tmp_path / "mine.jsonl"
    path.write_text(json.dumps({"question": "What is 2+2?", "choices": ["3", "4"]}) + "\n")
    enc = TaskEncoder(sentence_encoder, n_prompts=2, cache_dir=cache_dir)
    first = enc.encode(load_task_file(path))
    path.write_text(json.dumps({"question": "Who wrote Hamlet?", "choices": ["Shakespeare", "Marlowe"]}) + "\n")
    second = enc.encode(load_task_file(path))
    assert not np.allclose(first, second)


def test_no_cache_writes_nothing(sentence_encoder, cache_dir):
    enc = TaskEncoder(sentence_encoder, n_prompts=2, cache_dir=cache_dir, use_cache=False)
    enc.encode(get_task("mmlu_marketing"))
    assert not cache_dir.exists()


def test_a_cache_entry_without_its_encoding_seconds_is_encoded_again_once(tmp_path):
    """Entries written before entries recorded their seconds would make compare's `enc s` unknown."""
    import numpy as np
    from safetensors.numpy import load_file, save_file

    from llm_spider.encoders import TaskEncoder
    from llm_spider.tasks import get_task

    task = get_task("bbh_snarks")
    enc = TaskEncoder(n_prompts=4, cache_dir=tmp_path)
    tokens = enc.encode(task)
    path = enc.cache_path(task)
    save_file({"tokens": load_file(str(path))["tokens"]}, str(path), metadata={"task": task.name})  # an old entry
    again = TaskEncoder(n_prompts=4, cache_dir=tmp_path)
    assert not again.is_cached(task)
    np.testing.assert_allclose(again.encode(task), tokens, atol=1e-6)
    assert again.seconds_["bbh_snarks"] > 0 and again.is_cached(task)
