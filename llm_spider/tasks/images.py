"""Image classification tasks from a folder: one sub-folder per class, images inside.

The layout is the one torchvision's ImageFolder and `datasets`' imagefolder read, so a user's
folder works as it is. Everything is checked before any model runs, because a feature-extraction
pass over a zoo is minutes of compute: at least two classes with images, every file readable as
an image, and one image size (or ``image_size`` given, to resize to). Errors name the file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from llm_spider.errors import SpiderError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")


@dataclass
class ImageTask:
    """Images as a uint8 array (n, height, width, 3), integer labels and the class names."""

    name: str
    images: np.ndarray
    labels: np.ndarray
    classes: list[str]

    def __len__(self) -> int:
        return len(self.labels)


def _class_files(root: Path) -> dict[str, list[Path]]:
    if not root.is_dir():
        raise SpiderError(f"{root}: no such folder (expected one sub-folder of images per class)")
    classes = {}
    for d in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        files = sorted(f for f in d.rglob("*") if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES)
        if files:
            classes[d.name] = files
    if len(classes) < 2:
        found = ", ".join(classes) or "none"
        raise SpiderError(f"{root}: an image task needs at least two class folders with images "
                          f"(found {len(classes)}: {found})")
    return classes


def load_image_folder(path: str | Path, image_size: int | None = None, max_per_class: int | None = None,
                      seed: int = 0) -> ImageTask:
    """Read an image folder into memory as RGB. Without ``image_size`` all images must share one
    size; with it, each is resized to a square of that side. ``max_per_class`` samples that many
    images per class (seeded), for quick tasks."""
    from PIL import Image, UnidentifiedImageError

    root = Path(path)
    classes = _class_files(root)
    rng = np.random.default_rng(seed)
    images, labels, size = [], [], None
    for k, (cls, files) in enumerate(classes.items()):
        if max_per_class and len(files) > max_per_class:
            files = [files[i] for i in sorted(rng.choice(len(files), max_per_class, replace=False))]
        for f in files:
            try:
                with Image.open(f) as im:
                    im = im.convert("RGBA") if im.mode in ("P", "LA") else im
                    if im.mode == "RGBA":  # transparent clip-art: composite on white, as it is seen
                        bg = Image.new("RGBA", im.size, (255, 255, 255, 255))
                        im = Image.alpha_composite(bg, im)
                    im = im.convert("RGB")
                    if image_size:
                        im = im.resize((image_size, image_size), Image.BILINEAR)
                    arr = np.asarray(im, dtype=np.uint8)
            except (UnidentifiedImageError, OSError, ValueError) as exc:
                raise SpiderError(f"{f}: cannot read as an image ({exc.__class__.__name__}: {exc})") from None
            if size is None:
                size = arr.shape
            elif arr.shape != size:
                raise SpiderError(f"{f}: image size {arr.shape[1]}x{arr.shape[0]} differs from the first image's "
                                  f"{size[1]}x{size[0]}; pass an image size to resize every image to")
            images.append(arr)
            labels.append(k)
    return ImageTask(root.name, np.stack(images), np.asarray(labels), list(classes))
