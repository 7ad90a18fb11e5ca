"""SavedModels with the signature of the public TF2 ELIC (Nikolai10/ELIC, docs/elic-design.md §5).

That implementation exports two functions:

- ``compress(uint8[None, None, 3])`` -> 14 tensors: x_shape, y_shape, z_shape (int32[2]),
  z_string, 5 anchor strings, 5 non-anchor strings (string[1] each);
- ``decompress(x_shape, y_shape, z_shape, 11 strings)`` -> uint8[H, W, 3].

It does not pad (H and W must be multiples of 64) and its files name no model. ``ReferenceRunner``
pads by edge replication, keeps the original size in our container (``container``) and crops
after decoding; the model id is a hash of the SavedModel files. Such a model directory can carry
an ``elic.json`` of kind "reference" (``write_reference_info``) giving its λ, so that the ``elic``
codec can use it as a rate point.

``export_reference_savedmodel`` writes one of our models with exactly that signature (used to
test this loader, and to hand our models to tools written for the reference).
"""
from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from ..base import CodecUnavailable
from .config import SIZE_MULTIPLE
from .runner import ELICRunner, padded_size

#: Shapes (3) + strings (1 + 2 x 5 groups) in the reference's decompress signature.
REFERENCE_NUM_SHAPES = 3


def savedmodel_id(path: Path) -> bytes:
    """16-byte id of a SavedModel: SHA-256 over its graph and variable files."""
    h = hashlib.sha256(b"elicbench-reference-savedmodel\0")
    files = [path / "saved_model.pb"] + sorted((path / "variables").glob("*"))
    for f in files:
        if f.is_file():
            h.update(f.relative_to(path).as_posix().encode() + b"\0")
            with open(f, "rb") as fh:
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    h.update(chunk)
    return h.digest()[:16]


class ReferenceRunner(ELICRunner):
    kind = "reference"

    def __init__(self, path: Path, loaded, model_id: bytes, info: dict[str, Any]):
        super().__init__(path, model_id, {"kind": "reference", **info})
        from ...tfenv import import_tf

        self._tf = import_tf()
        self.loaded = loaded
        self._num_strings = self._count_strings(loaded)

    @staticmethod
    def _count_strings(loaded) -> int:
        decompress = loaded.decompress
        concrete = list(getattr(decompress, "concrete_functions", []) or [])
        if concrete:
            args = concrete[0].structured_input_signature[0]
            n = len(args) - REFERENCE_NUM_SHAPES
        else:
            n = 11
        if n < 3 or n % 2 != 1:
            raise CodecUnavailable(f"reference SavedModel: decompress takes {n + REFERENCE_NUM_SHAPES} "
                                   "arguments, expected 3 shapes + 1 + 2 x groups strings")
        return n

    @property
    def num_strings(self) -> int:
        return self._num_strings

    def latent_elements(self, padded_h: int, padded_w: int) -> int:
        groups = (self._num_strings - 1) // 2  # at least one channel per group
        return (padded_h // 16) * (padded_w // 16) * groups + (padded_h // 64) * (padded_w // 64)

    def encode_strings(self, image: np.ndarray, tile: int) -> list[bytes]:
        h, w = image.shape[:2]
        padded = np.pad(image, ((0, padded_size(h) - h), (0, padded_size(w) - w), (0, 0)), mode="edge")
        out = self.loaded.compress(self._tf.constant(padded))
        if len(out) != REFERENCE_NUM_SHAPES + self._num_strings:
            raise CodecUnavailable(f"reference SavedModel: compress returned {len(out)} tensors, "
                                   f"expected {REFERENCE_NUM_SHAPES + self._num_strings}")
        return [bytes(t.numpy().reshape(-1)[0]) for t in out[REFERENCE_NUM_SHAPES:]]

    def decode_strings(self, height: int, width: int, strings: tuple[bytes, ...], tile: int) -> np.ndarray:
        tf = self._tf
        ph, pw = padded_size(height), padded_size(width)
        shapes = [tf.constant([ph, pw], tf.int32), tf.constant([ph // 16, pw // 16], tf.int32),
                  tf.constant([ph // SIZE_MULTIPLE, pw // SIZE_MULTIPLE], tf.int32)]
        image = self.loaded.decompress(*shapes, *[tf.constant([s]) for s in strings]).numpy()
        return np.ascontiguousarray(image[:height, :width])


def load_reference_model(path: str | Path, info: dict[str, Any]) -> ReferenceRunner:
    from ...tfenv import import_tf

    tf = import_tf()  # also registers tensorflow-compression's range-coding ops
    path = Path(path)
    try:
        loaded = tf.saved_model.load(str(path))
    except (OSError, ValueError, tf.errors.OpError) as exc:
        raise CodecUnavailable(f"cannot load SavedModel {path}: {str(exc).splitlines()[0]}") from None
    if not (hasattr(loaded, "compress") and hasattr(loaded, "decompress")):
        raise CodecUnavailable(f"SavedModel {path} has no compress/decompress functions "
                               "(expected the Nikolai10/ELIC export)")
    return ReferenceRunner(path, loaded, savedmodel_id(path), info)


def write_reference_info(path: str | Path, lmbda: float, **extra: Any) -> Path:
    """Write the ``elic.json`` that lets the ``elic`` codec use a reference SavedModel at rate λ."""
    from .modelfiles import MODEL_FORMAT, MODEL_FORMAT_VERSION, MODEL_JSON

    path = Path(path)
    if not (path / "saved_model.pb").exists():
        raise FileNotFoundError(f"{path} holds no saved_model.pb")
    info = {
        "format": MODEL_FORMAT,
        "format_version": MODEL_FORMAT_VERSION,
        "kind": "reference",
        "model_id": savedmodel_id(path).hex(),
        "lambda": float(lmbda),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        **extra,
    }
    (path / MODEL_JSON).write_text(json.dumps(info, indent=2) + "\n")
    return path / MODEL_JSON


def export_reference_savedmodel(model, path: str | Path) -> Path:
    """Save ``model`` as a SavedModel with the reference's 14-tensor / 3+(1+2G)-argument signature."""
    from ...tfenv import import_tf

    tf = import_tf()
    model.prepare_for_coding()
    groups = model.config.num_groups

    class ReferenceSignature(tf.Module):
        def __init__(self):
            super().__init__(name="elic_reference_signature")
            self.weights = list(model.model_weights())
            self.coding = [model.coder.z_coder, model.coder.y_coder, model.coder.exact_path]

        @tf.function(input_signature=[tf.TensorSpec([None, None, 3], tf.uint8)])
        def compress(self, x):
            x_shape = tf.shape(x, out_type=tf.int32)[:2]
            tf.debugging.assert_equal(x_shape % SIZE_MULTIPLE, 0, message="H and W must be multiples of 64")
            _, y, z = model.coder.analyse(x)
            z_string, anchors, non_anchors, _ = model.coder.encode_latents(y, z)
            y_shape = tf.shape(y, out_type=tf.int32)[1:3]
            z_shape = tf.shape(z, out_type=tf.int32)[1:3]
            return (x_shape, y_shape, z_shape, z_string, *anchors, *non_anchors)

        @tf.function(input_signature=[tf.TensorSpec([2], tf.int32)] * REFERENCE_NUM_SHAPES
                     + [tf.TensorSpec([1], tf.string)] * (1 + 2 * groups))
        def decompress(self, x_shape, y_shape, z_shape, z_string, *strings):
            del y_shape, z_shape  # implied by x_shape, kept for the signature
            y_hat = model.coder.decode_latents(x_shape, z_string, list(strings[:groups]), list(strings[groups:]))
            return model.coder.synthesize(y_hat, x_shape)

    module = ReferenceSignature()
    tf.saved_model.save(module, str(path), signatures={
        "compress": module.compress.get_concrete_function(),
        "decompress": module.decompress.get_concrete_function(),
    })
    return Path(path)
