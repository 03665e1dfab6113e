"""Named image tasks built from real, openly licensed image data installed from Debian.

A task is a list of classes; a class is a folder of one source (``openclipart/animals/birds``,
``tuxpaint/food/fruit``) or a Fashion-MNIST label (``fashion-mnist/sneaker``). Images are read
per class (padded to a square on white, 160 px, at most ``PER_CLASS`` sampled with a fixed
seed), so every task made of the same classes sees the very same images and feature caches are
shared between tasks.

Named tasks are what a user ranks (``vision rank --dataset clipart-food``) and the benchmark's
targets. ``history-NN`` tasks are seeded random 4-6-class draws: the historical tasks the vision
Spider learns from, as the LLM Spider learns from the leaderboard. The first 40 draw from the
clip-art and stamp classes (the original history, unchanged); the rest also from Fashion-MNIST's
ten, so grey 28-px classes appear in the history too.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from llm_spider.errors import SpiderError
from llm_spider.paths import image_source_root
from llm_spider.vision.images import IMAGE_SUFFIXES, ImageTooLarge, decodable, read_image, sample_files

PER_CLASS = 30
IMAGE_SIZE = 160
N_HISTORY = 200
FIRST_HISTORY = 40  # the original history: clip-art and stamp classes only
FASHION_LABELS = ("t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag",
                  "ankle-boot")

CLIPART = [f"openclipart/{c}" for c in (
    "animals/birds", "animals/bugs", "animals/fish", "animals/mammals", "buildings/homes", "computer/buttons",
    "computer/hardware", "computer/icons", "education/books", "electronics", "food/beverages",
    "food/breads_and_carbs", "food/desserts", "food/fruit", "food/meats_and_eggs", "geography", "office",
    "people/bodypart", "people/clothing", "people/smilies", "people/stickmen", "plants/flowers", "plants/trees",
    "recreation/games", "recreation/holiday", "recreation/music", "recreation/party", "recreation/religion",
    "recreation/sports", "recreation/toys", "science", "shapes/arrows", "shapes/callouts", "shapes/flowchart",
    "shapes/jigsaw", "shapes/stars", "signs_and_symbols/clocks", "signs_and_symbols/flags",
    "signs_and_symbols/led", "signs_and_symbols/map_symbols", "signs_and_symbols/weather", "special/gradients",
    "special/patterns", "tools/weapons", "transportation/aiga-symbols", "transportation/boating",
    "transportation/roadsigns", "transportation/vehicles")]
STAMPS = [f"tuxpaint/{c}" for c in (
    "animals/birds", "animals/insects", "animals/mammals", "clothes", "food/fruit", "food/vegetables", "household",
    "plants/flowers", "seasonal/christmas", "seasonal/halloween", "space", "symbols/alphabets", "symbols/math",
    "symbols/money", "town/houses", "town/roadsigns", "vehicles")]

NAMED: dict[str, tuple[str, list[str]]] = {
    "clipart-animals": ("clip-art animals by kind", [f"openclipart/animals/{c}" for c in
                                                      ("birds", "bugs", "fish", "mammals")]),
    "clipart-food": ("clip-art food and drink", [f"openclipart/food/{c}" for c in
                                                  ("beverages", "breads_and_carbs", "desserts", "fruit",
                                                   "meats_and_eggs")]),
    "clipart-people": ("clip-art people", [f"openclipart/people/{c}" for c in
                                           ("bodypart", "clothing", "smilies", "stickmen")]),
    "clipart-recreation": ("clip-art leisure", [f"openclipart/recreation/{c}" for c in
                                                ("games", "holiday", "music", "party", "sports", "toys")]),
    "clipart-signs": ("clip-art signs and symbols", [f"openclipart/signs_and_symbols/{c}" for c in
                                                     ("clocks", "flags", "led", "map_symbols", "weather")]),
    "clipart-transport": ("clip-art transport", [f"openclipart/transportation/{c}" for c in
                                                 ("aiga-symbols", "boating", "roadsigns", "vehicles")]),
    "stamps-nature": ("Tux Paint stamps: animals and plants", [f"tuxpaint/{c}" for c in
                                                               ("animals/birds", "animals/insects", "animals/mammals",
                                                                "plants/flowers", "food/fruit", "food/vegetables")]),
    "stamps-things": ("Tux Paint stamps: objects", [f"tuxpaint/{c}" for c in
                                                    ("clothes", "household", "town/houses", "town/roadsigns",
                                                     "vehicles", "symbols/money")]),
    "fashion-mnist": ("Fashion-MNIST, 10 classes (28 px grey: hard for these backbones)",
                      [f"fashion-mnist/{c}" for c in FASHION_LABELS]),
    "fashion-mnist-tops": ("Fashion-MNIST upper-body garments (the confusable four)",
                           [f"fashion-mnist/{c}" for c in ("t-shirt", "pullover", "coat", "shirt")]),
}
FASHION = [f"fashion-mnist/{c}" for c in FASHION_LABELS]
# What the CI-sized benchmark uses: two small tasks that ship with Debian clip-art.
SMALL_TARGETS = ("clipart-animals", "clipart-transport")


@dataclass(frozen=True)
class ImageTaskSpec:
    name: str
    description: str
    classes: tuple[str, ...]


def history_specs(n: int = N_HISTORY, seed: int = 0) -> list[ImageTaskSpec]:
    """Seeded random tasks of 4-6 classes (no two alike); one seeded sequence, so the first
    ``FIRST_HISTORY`` are the same whatever ``n``, and a longer history only adds tasks."""
    rng = np.random.default_rng(seed)
    out, seen = [], set()
    while len(out) < n:
        pool = CLIPART + STAMPS if len(out) < FIRST_HISTORY else CLIPART + STAMPS + FASHION
        k = int(rng.integers(4, 7))
        classes = tuple(sorted(pool[i] for i in rng.choice(len(pool), k, replace=False)))
        if classes not in seen:
            seen.add(classes)
            out.append(ImageTaskSpec(f"history-{len(out) + 1:02d}", "random classes (training history)", classes))
    return out


def all_specs() -> dict[str, ImageTaskSpec]:
    specs = {name: ImageTaskSpec(name, d, tuple(c)) for name, (d, c) in NAMED.items()}
    specs.update({s.name: s for s in history_specs()})
    return specs


def get_spec(name: str) -> ImageTaskSpec:
    specs = all_specs()
    if name not in specs:
        from llm_spider.errors import closest

        near = closest(name, NAMED)
        if near:
            raise SpiderError(f"unknown image task {name!r}. Did you mean: {', '.join(near)}?")
        raise SpiderError(f"unknown image task {name!r}; named tasks: {', '.join(NAMED)} "
                          f"(and history-01..history-{N_HISTORY:02d}), or give an image folder's path")
    return specs[name]


def spec_available(spec: ImageTaskSpec) -> bool:
    """Whether every source the task's classes come from is installed on this machine."""
    return all(image_source_root(c.split("/", 1)[0])[0].is_dir() for c in spec.classes)


def class_label(cls: str) -> str:
    return cls.split("/", 1)[1].replace("/", "-")


def _folder_files(source: str, rel: str) -> list[Path]:
    root, package = image_source_root(source)
    folder = root / rel
    if not root.is_dir():
        raise SpiderError(f"{root}: image source {source!r} is not installed: sudo apt-get install {package} "
                          f"(or point {source} at a copy; see `llm-spider vision tasks`)")
    files = sorted(f for f in folder.rglob("*") if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES)
    # A few clip-art posters are 170-megapixel PNGs: skipped, as PIL's decompression-bomb guard advises.
    files = [f for f in files if decodable(f)]
    if not files:
        raise SpiderError(f"{folder}: no images (is {package} complete?)")
    return files


@lru_cache(maxsize=4)
def _fashion(root: str) -> tuple[np.ndarray, np.ndarray]:
    """Fashion-MNIST's test split (10k) from its IDX files."""
    def read(name: str, offset: int) -> np.ndarray:
        path = Path(root) / name
        if not path.is_file():
            raise SpiderError(f"{path}: missing: sudo apt-get install dataset-fashion-mnist")
        with gzip.open(path, "rb") as f:
            return np.frombuffer(f.read(), dtype=np.uint8, offset=offset)

    images = read("t10k-images-idx3-ubyte.gz", 16).reshape(-1, 28, 28)
    return images, read("t10k-labels-idx1-ubyte.gz", 8)


def load_class(cls: str, per_class: int = PER_CLASS, image_size: int = IMAGE_SIZE, seed: int = 0) -> np.ndarray:
    """The images of one class, uint8 (n, s, s, 3): always the same sample for the same arguments."""
    source, rel = cls.split("/", 1)
    rng = np.random.default_rng([seed, *rel.encode()])
    if source == "fashion-mnist":
        images, labels = _fashion(str(image_source_root(source)[0]))
        if rel not in FASHION_LABELS:
            raise SpiderError(f"unknown Fashion-MNIST class {rel!r} (known: {', '.join(FASHION_LABELS)})")
        idx = np.flatnonzero(labels == FASHION_LABELS.index(rel))
        idx = np.sort(rng.choice(idx, min(per_class, len(idx)), replace=False))
        # Fashion-MNIST is light-on-black; shown as dark-on-white like the clip-art, in RGB.
        return np.repeat((255 - images[idx])[..., None], 3, axis=-1)
    if source not in ("openclipart", "tuxpaint"):
        raise SpiderError(f"unknown image source {source!r} in class {cls!r}")
    files = sample_files(_folder_files(source, rel), per_class, rng)
    # One clip-art road sign has so many pixels that PIL refuses it outright rather than warning,
    # which the header check in _folder_files lets through; no task's own sample draws it, a larger
    # one can: it is left out there. (Filtering it from the file list would change that class's
    # own sample, and with it the shipped ground truth.)
    images = []
    for f in files:
        try:
            images.append(read_image(f, image_size))
        except ImageTooLarge:
            continue
    return np.stack(images)
