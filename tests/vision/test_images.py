"""Image folders: what loads, and the clear errors for the folders that cannot."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from llm_spider.errors import SpiderError
from llm_spider.vision.images import load_image_folder


def _write(path, size=(16, 12), color=(200, 10, 10), mode="RGB"):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size, color if mode == "RGB" else color + (128,)).save(path)


def test_folder_loads_as_rgb_arrays_with_labels(tmp_path):
    for i in range(3):
        _write(tmp_path / "cats" / f"{i}.png")
        _write(tmp_path / "dogs" / f"{i}.png", color=(10, 10, 200), mode="RGBA")
    task = load_image_folder(tmp_path)
    assert task.images.shape == (6, 12, 16, 3) and task.images.dtype == np.uint8
    assert task.classes == ["cats", "dogs"] and list(task.labels) == [0, 0, 0, 1, 1, 1]
    # a half-transparent blue stamp is seen on white
    assert tuple(task.images[3, 0, 0]) == pytest.approx((132, 132, 227), abs=2)
    small = load_image_folder(tmp_path, image_size=8, max_per_class=2)
    assert small.images.shape == (4, 8, 8, 3)


def test_one_class_is_refused(tmp_path):
    _write(tmp_path / "only" / "a.png")
    (tmp_path / "empty").mkdir()
    with pytest.raises(SpiderError, match="at least two class folders.*found 1: only"):
        load_image_folder(tmp_path)


def test_unreadable_image_is_named(tmp_path):
    _write(tmp_path / "a" / "ok.png")
    _write(tmp_path / "b" / "ok.png")
    (tmp_path / "b" / "broken.png").write_bytes(b"this is not a png")
    with pytest.raises(SpiderError, match="broken.png: cannot read as an image"):
        load_image_folder(tmp_path)


def test_mismatched_size_is_named_and_resizing_fixes_it(tmp_path):
    _write(tmp_path / "a" / "1.png", size=(16, 12))
    _write(tmp_path / "b" / "2.png", size=(20, 20))
    with pytest.raises(SpiderError, match="2.png: image size 20x20 differs from the first image's 16x12"):
        load_image_folder(tmp_path)
    assert load_image_folder(tmp_path, image_size=10).images.shape == (2, 10, 10, 3)


def test_missing_folder(tmp_path):
    with pytest.raises(SpiderError, match="no such folder"):
        load_image_folder(tmp_path / "nope")


def test_image_size_pads_to_a_square_keeping_the_shape(tmp_path):
    _write(tmp_path / "a" / "wide.png", size=(40, 10), color=(0, 0, 0))
    _write(tmp_path / "b" / "tall.png", size=(10, 40), color=(0, 0, 0))
    task = load_image_folder(tmp_path, image_size=20)
    wide = task.images[0]
    assert wide.shape == (20, 20, 3)
    assert wide[0, 10].tolist() == [255, 255, 255] and wide[10, 10].tolist() == [0, 0, 0]  # white bands, black middle


def test_a_decompression_bomb_is_refused_by_name(tmp_path, monkeypatch):
    from PIL import Image

    _write(tmp_path / "a" / "0.png", size=(64, 64))
    _write(tmp_path / "b" / "0.png", size=(64, 64))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # 64x64 > 2x the limit: PIL raises
    with pytest.raises(SpiderError, match="too many pixels"):
        load_image_folder(tmp_path)


def test_a_class_sample_leaves_out_an_image_too_large_to_decode(tmp_path, monkeypatch):
    """PIL refuses (rather than warns about) an image of over twice its pixel limit; a class sample
    that draws one goes on without it."""
    from PIL import Image

    from llm_spider.vision.tasks import load_class

    folder = tmp_path / "signs" / "road"
    folder.mkdir(parents=True)
    for i in range(3):
        Image.new("RGB", (20, 20), (i * 40, 0, 0)).save(folder / f"small{i}.png")
    Image.new("RGB", (100, 100)).save(folder / "poster.png")
    monkeypatch.setenv("LLM_SPIDER_OPENCLIPART", str(tmp_path))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 2000)  # the poster's 10,000 pixels are over twice that
    assert load_class("openclipart/signs/road", per_class=10, image_size=16).shape == (3, 16, 16, 3)


def test_a_longer_history_only_adds_tasks_and_brings_in_fashion_mnist():
    from llm_spider.vision.tasks import FIRST_HISTORY, history_specs

    first, longer = history_specs(FIRST_HISTORY), history_specs()
    assert longer[:FIRST_HISTORY] == first  # the original history (and its shipped truth) unchanged
    assert not any(c.startswith("fashion-mnist/") for s in first for c in s.classes)
    assert any(c.startswith("fashion-mnist/") for s in longer[FIRST_HISTORY:] for c in s.classes)
    assert len({s.classes for s in longer}) == len(longer)
