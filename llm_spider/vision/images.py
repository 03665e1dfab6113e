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


class ImageTooLarge(SpiderError):
    """An image PIL refuses to decode: more pixels than its decompression-bomb guard allows."""


def read_image(path: Path, image_size: int | None = None) -> np.ndarray:
    """One file as uint8 RGB; transparency composited on white (clip-art is seen on white). With
    ``image_size`` it is padded to a square with white (keeping its shape) and resized."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            im = im.convert("RGBA") if im.mode in ("P", "LA") else im
            if im.mode == "RGBA":
                bg = Image.new("RGBA", im.size, (255, 255, 255, 255))
                im = Image.alpha_composite(bg, im)
            im = im.convert("RGB")
            if image_size:
                side = max(im.size)
                square = Image.new("RGB", (side, side), (255, 255, 255))
                square.paste(im, ((side - im.size[0]) // 2, (side - im.size[1]) // 2))
                im = square.resize((image_size, image_size), Image.BILINEAR)
            return np.asarray(im, dtype=np.uint8)
    except Image.DecompressionBombError as exc:
        raise ImageTooLarge(f"{path}: refused, too many pixels to decode safely ({exc})") from None
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise SpiderError(f"{path}: cannot read as an image ({exc.__class__.__name__}: {exc})") from None


def decodable(path: Path) -> bool:
    """Whether PIL will decode ``path`` without its decompression-bomb guard tripping (header only)."""
    import warnings

    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                return Image.MAX_IMAGE_PIXELS is None or im.size[0] * im.size[1] <= Image.MAX_IMAGE_PIXELS
    except Exception:  # unreadable files are reported by read_image, with their name
        return True


def sample_files(files: list[Path], max_per_class: int | None, rng: np.random.Generator) -> list[Path]:
    if max_per_class and len(files) > max_per_class:
        return [files[i] for i in sorted(rng.choice(len(files), max_per_class, replace=False))]
    return files


def load_image_classes(name: str, classes: dict[str, list[Path]], image_size: int | None = None,
                       max_per_class: int | None = None, seed: int = 0) -> ImageTask:
    """An image task from class → files. Without ``image_size`` all images must share one size."""
    rng = np.random.default_rng(seed)
    images, labels, size = [], [], None
    for k, files in enumerate(classes.values()):
        for f in sample_files(files, max_per_class, rng):
            arr = read_image(f, image_size)
            if size is None:
                size = arr.shape
            elif arr.shape != size:
                raise SpiderError(f"{f}: image size {arr.shape[1]}x{arr.shape[0]} differs from the first image's "
                                  f"{size[1]}x{size[0]}; pass an image size to resize every image to")
            images.append(arr)
            labels.append(k)
    return ImageTask(name, np.stack(images), np.asarray(labels), list(classes))


def load_image_folder(path: str | Path, image_size: int | None = None, max_per_class: int | None = None,
                      seed: int = 0) -> ImageTask:
    """Read an image folder into memory as RGB. Without ``image_size`` all images must share one
    size; with it, each is padded to a square and resized to that side. ``max_per_class`` samples
    that many images per class (seeded), for quick tasks."""
    root = Path(path)
    return load_image_classes(root.name, _class_files(root), image_size, max_per_class, seed)
