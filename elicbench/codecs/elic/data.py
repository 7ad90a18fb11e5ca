"""Training data for ELIC: which files, a fingerprint of them, and the tf.data pipelines.

The training set is small (tens of photographs of 0.5-1.5 Mpx), so every image is decoded once
and kept in memory (``Dataset.cache``); each step then only cuts random crops. Decoding the
PNGs afresh would cost more CPU per step than a tiny model's forward/backward pass.
"""
from __future__ import annotations

import hashlib
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from elicbench.datasets.base import DatasetError
from elicbench.tfenv import import_tf

# What tf.io.decode_image reads (it also reads GIF/BMP, which photo sets do not use).
TRAINING_SUFFIXES = (".png", ".jpg", ".jpeg")
_KODAK_NAME = re.compile(r"^kodim\d\d$", re.IGNORECASE)


class TrainingDataError(DatasetError):
    """The training (or validation) directory cannot be used; the message says why and what to do."""


@dataclass(frozen=True)
class TrainingImage:
    path: Path
    width: int
    height: int


@dataclass(frozen=True)
class TrainingSet:
    """The usable images of a directory plus a fingerprint recorded in the exported model."""

    root: Path
    images: tuple[TrainingImage, ...]
    skipped: tuple[str, ...]       # "name (W x H)" of images smaller than the patch
    sha256: str                    # over the sorted "sha256  name" lines of the usable files

    @property
    def paths(self) -> list[str]:
        return [str(im.path) for im in self.images]


def list_training_files(data_dir: str | os.PathLike) -> list[Path]:
    root = Path(data_dir).expanduser()
    if not root.is_dir():
        raise TrainingDataError(f"training data directory {str(root)!r} does not exist or is not a directory")
    files = sorted(p for p in root.iterdir() if p.is_file() and p.suffix.lower() in TRAINING_SUFFIXES)
    if not files:
        raise TrainingDataError(
            f"no PNG or JPEG images in {str(root)!r}; pass a directory of training photographs"
        )
    return files


def _known_kodak_hashes() -> set[str]:
    """SHA-256 of the Kodak files, from every SHA256SUMS we can find (none is fine)."""
    candidates = []
    if os.environ.get("ELICBENCH_DATA"):
        candidates.append(Path(os.environ["ELICBENCH_DATA"]) / "kodak" / "SHA256SUMS")
    package_data = Path(__file__).resolve().parents[2] / "data"
    candidates += sorted(package_data.glob("**/kodak*/SHA256SUMS")) + sorted(package_data.glob("**/kodak*SHA256SUMS"))
    hashes: set[str] = set()
    for sums in candidates:
        if sums.is_file():
            for line in sums.read_text().splitlines():
                parts = line.split()
                if len(parts) >= 2 and re.fullmatch(r"[0-9a-fA-F]{64}", parts[0]):
                    hashes.add(parts[0].lower())
    return hashes


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def refuse_kodak(files: list[Path], file_hashes: dict[Path, str]) -> None:
    """Kodak is the evaluation set: a model trained on it would make every Kodak result meaningless."""
    by_name = [p.name for p in files if _KODAK_NAME.match(p.stem)]
    kodak_hashes = _known_kodak_hashes()
    by_content = [p.name for p in files if file_hashes[p] in kodak_hashes]
    found = sorted(set(by_name) | set(by_content))
    if found:
        shown = ", ".join(found[:5]) + (" ..." if len(found) > 5 else "")
        raise TrainingDataError(
            f"refusing to train on Kodak images ({len(found)} found in {str(files[0].parent)!r}: {shown}). "
            "Kodak is the evaluation set; training on it would make every Kodak result meaningless. "
            "Train on other photographs (e.g. $ELICBENCH_DATA/train, DIV2K, CLIC train)."
        )


def scan_training_set(data_dir: str | os.PathLike, patch_size: int, *, purpose: str = "training",
                      warn=None) -> TrainingSet:
    """List, fingerprint and check a directory; images smaller than ``patch_size`` are skipped with a message."""
    warn = warn or (lambda msg: print(msg, file=sys.stderr))
    files = list_training_files(data_dir)
    hashes = {p: _sha256(p) for p in files}
    refuse_kodak(files, hashes)
    usable, skipped = [], []
    for p in files:
        try:
            with Image.open(p) as im:   # reads the header only
                width, height = im.size
        except Exception as exc:
            raise TrainingDataError(f"cannot read {purpose} image {str(p)!r}: {exc}") from exc
        if width < patch_size or height < patch_size:
            skipped.append(f"{p.name} ({width}x{height})")
        else:
            usable.append(TrainingImage(p, width, height))
    if skipped:
        warn(f"elicbench train: skipping {len(skipped)} {purpose} image(s) smaller than the "
             f"{patch_size}x{patch_size} patch: {', '.join(skipped[:5])}{' ...' if len(skipped) > 5 else ''}")
    if not usable:
        raise TrainingDataError(
            f"no {purpose} image in {str(Path(data_dir))!r} is at least {patch_size}x{patch_size} pixels; "
            "use larger images or a smaller --patch-size"
        )
    digest = hashlib.sha256("".join(f"{hashes[im.path]}  {im.path.name}\n" for im in usable).encode()).hexdigest()
    return TrainingSet(Path(data_dir).expanduser().resolve(), tuple(usable), tuple(skipped), digest)


def _decode(path):
    tf = import_tf()
    image = tf.io.decode_image(tf.io.read_file(path), channels=3, dtype=tf.uint8, expand_animations=False)
    image.set_shape([None, None, 3])
    return image


def decoded_images(training_set: TrainingSet):
    """A tf.data.Dataset of the decoded uint8 images, decoded once and then served from memory."""
    tf = import_tf()
    return (tf.data.Dataset.from_tensor_slices(training_set.paths)
            .map(_decode, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
            .cache())


def training_batches(training_set: TrainingSet, *, batch_size: int, patch_size: int, seed: int, start_step: int = 0):
    """Endless batches of random crops (float32 0..255, [B, P, P, 3]) with random horizontal flips.

    Crops and flips use stateless random ops seeded by (seed, running crop number), and the
    crop numbering starts at ``start_step * batch_size``: a resumed run continues with new crops
    instead of replaying the ones it already trained on. Only horizontal flips: an upside-down
    photograph is not a natural image.
    """
    tf = import_tf()
    n = len(training_set.images)
    images = decoded_images(training_set).repeat().shuffle(n, seed=seed + start_step, reshuffle_each_iteration=True)
    counter = tf.data.Dataset.counter(start=start_step * batch_size)

    def crop(image, number):
        crop_seed = tf.stack([tf.cast(seed, tf.int64), number])
        flip_seed = tf.stack([tf.cast(seed, tf.int64) + 1, number])
        patch = tf.image.stateless_random_crop(image, [patch_size, patch_size, 3], seed=crop_seed)
        patch = tf.image.stateless_random_flip_left_right(patch, seed=flip_seed)
        return tf.cast(patch, tf.float32)

    return (tf.data.Dataset.zip((images, counter))
            .map(crop, num_parallel_calls=tf.data.AUTOTUNE)
            .batch(batch_size, drop_remainder=True)
            .prefetch(tf.data.AUTOTUNE))


def validation_batch(training_set: TrainingSet, *, patch_size: int, count: int = 8):
    """Fixed centre crops of the first ``count`` images (spread over the set): float32 [count, P, P, 3]."""
    tf = import_tf()
    import numpy as np

    images = training_set.images
    step = max(1, len(images) // count)
    chosen = images[::step][:count]
    crops = []
    for im in chosen:
        with Image.open(im.path) as pil:
            array = np.asarray(pil.convert("RGB"))
        top = (im.height - patch_size) // 2
        left = (im.width - patch_size) // 2
        crops.append(array[top:top + patch_size, left:left + patch_size])
    return tf.constant(np.stack(crops).astype(np.float32))
