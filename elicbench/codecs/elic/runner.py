"""Loaded ELIC models behind one interface: image <-> complete ELIC file (``container``).

``ELICRunner`` does everything around the model: input checks, the container, the model-id
and numerics checks, turning TensorFlow errors on corrupt data into ``CodecError``. Subclasses
only turn an image into range-coded strings and back: ``NativeRunner`` for models exported by
``export.export_model``, ``reference.ReferenceRunner`` for SavedModels with the signature of the
public TF2 implementation (Nikolai10/ELIC).
"""
from __future__ import annotations

import math
import re
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

import numpy as np

from ..base import CodecError
from . import container, tiling
from .config import SIZE_MULTIPLE, ELICConfig

# A range-coded symbol costs at least -log2(4095/4096) bits with 12-bit tables, so a file that
# is much shorter than this bound per latent element cannot be valid; checking it keeps a
# corrupt header from starting a huge decode.
MIN_BITS_PER_ELEMENT = -math.log2(1 - 2.0 ** -12)


def current_profile() -> int:
    """The numerics profile byte of this process (see ``container``)."""
    from ...tfenv import import_tf, onednn_enabled

    tf = import_tf()
    profile = 0
    if tf.config.list_logical_devices("GPU"):
        profile |= container.PROFILE_GPU
    if onednn_enabled():
        profile |= container.PROFILE_ONEDNN
    return profile


def summarize_tf_error(exc: BaseException) -> str:
    """One informative line of a TF error (whose text starts with 'Graph execution error:' and a trace)."""
    text = str(exc)
    found = re.search(r"assertion failed: \[([^\]]*)\]", text)
    if found:
        return found.group(1)
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith(("Graph execution error", "Detected at node", "File ", "[[")):
            return line[:200]
    return type(exc).__name__


def padded_size(n: int) -> int:
    return -(-n // SIZE_MULTIPLE) * SIZE_MULTIPLE


def check_image(image: Any) -> np.ndarray:
    image = np.asarray(image)
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise CodecError(f"ELIC encodes RGB uint8 images of shape (H, W, 3), got {image.dtype} {image.shape}")
    h, w = image.shape[:2]
    if not (1 <= h <= container.MAX_SIDE and 1 <= w <= container.MAX_SIDE) or h * w > container.MAX_PIXELS:
        raise CodecError(f"image size {w}x{h} is not supported (1..{container.MAX_SIDE} per side, "
                         f"at most {container.MAX_PIXELS} pixels)")
    return np.ascontiguousarray(image)


class ELICRunner(ABC):
    """A loaded model: ``compress(image) -> bytes``, ``decompress(bytes) -> image``."""

    #: 'native' or 'reference'
    kind: str = "?"
    #: Whether the transforms can run in tiles (``tiling``); others always code the whole image.
    supports_tiling: bool = False

    def __init__(self, path: Path, model_id: bytes, info: dict[str, Any]):
        if len(model_id) != container.MODEL_ID_BYTES:
            raise ValueError("model id must be 16 bytes")
        self.path = Path(path)
        self.model_id_bytes = model_id
        self.info = dict(info)
        self.profile = current_profile()

    # --- facts ------------------------------------------------------------------------------
    @property
    def model_id(self) -> str:
        return self.model_id_bytes.hex()

    @property
    def lmbda(self) -> float | None:
        return self.info.get("lambda")

    @property
    def config(self) -> ELICConfig | None:
        return None

    @property
    @abstractmethod
    def num_strings(self) -> int:
        """Strings per file (1 + 2 x groups)."""

    @abstractmethod
    def latent_elements(self, padded_h: int, padded_w: int) -> int:
        """A lower bound on the number of range-coded symbols for this padded size."""

    # --- subclass work ----------------------------------------------------------------------
    @abstractmethod
    def encode_strings(self, image: np.ndarray, tile: int) -> list[bytes]:
        """uint8 (H, W, 3) -> the range-coded strings (z first), transforms in tiles of ``tile`` pixels."""

    @abstractmethod
    def decode_strings(self, height: int, width: int, strings: tuple[bytes, ...], tile: int) -> np.ndarray:
        """Strings -> uint8 (height, width, 3)."""

    def estimate_bits(self, image: np.ndarray) -> float:
        raise CodecError(f"{self.kind} ELIC models cannot estimate rates from likelihoods")

    # --- the container around it ------------------------------------------------------------
    def effective_tile(self, height: int, width: int, tile: int) -> int:
        """The tile a file records: 0 when the padded image is one tile anyway (or tiling is unsupported)."""
        tile = tiling.check_tile(tile)
        if not self.supports_tiling or (padded_size(height) <= tile and padded_size(width) <= tile):
            return 0
        return tile

    def compress(self, image: np.ndarray, tile: int = 0) -> bytes:
        """uint8 (H, W, 3) -> ELIC file. ``tile`` (pixels, multiple of 64; 0 = whole image) bounds
        the memory of the transforms; the decoder uses the tile recorded in the file."""
        image = check_image(image)
        h, w = image.shape[:2]
        tile = self.effective_tile(h, w, tile)
        strings = self.encode_strings(image, tile)
        if len(strings) != self.num_strings:
            raise CodecError(f"model produced {len(strings)} strings, expected {self.num_strings}")
        return container.pack(container.ELICStream(
            profile=self.profile, model_id=self.model_id_bytes, height=h, width=w, strings=tuple(strings),
            tile=tile))

    def check_stream(self, stream: container.ELICStream, strict_profile: bool = True) -> None:
        if stream.model_id != self.model_id_bytes:
            raise CodecError(
                f"this ELIC file was encoded with model {stream.model_id.hex()}, but the loaded model is "
                f"{self.model_id} ({self.path}); decode it with the model that encoded it")
        if strict_profile and stream.profile != self.profile:
            raise CodecError(
                f"this ELIC file was encoded with numerics profile '{container.describe_profile(stream.profile)}', "
                f"this process runs '{container.describe_profile(self.profile)}'. The latents decode exactly "
                "either way (exact entropy parameters), but pixels may differ by one level; set "
                "TF_ENABLE_ONEDNN_OPTS / the device to match, or decode with strict_profile=False")
        if stream.tile and not self.supports_tiling:
            raise CodecError(f"this ELIC file was coded in tiles of {stream.tile} pixels; {self.kind} models "
                             "cannot decode tiled files")
        if len(stream.strings) != self.num_strings:
            raise CodecError(f"ELIC file has {len(stream.strings)} strings, model "
                             f"{self.model_id} needs {self.num_strings}")
        elements = self.latent_elements(padded_size(stream.height), padded_size(stream.width))
        have_bits = 8 * sum(len(s) for s in stream.strings)
        if have_bits + 64 < elements * MIN_BITS_PER_ELEMENT:
            raise CodecError(f"ELIC file corrupt: {have_bits} bits cannot code a "
                             f"{stream.width}x{stream.height} image")

    def decompress(self, data: bytes, strict_profile: bool = True) -> np.ndarray:
        from ...tfenv import import_tf

        tf = import_tf()
        stream = container.unpack(data)
        self.check_stream(stream, strict_profile)
        try:
            image = self.decode_strings(stream.height, stream.width, stream.strings, stream.tile)
        except (tf.errors.OpError, ValueError) as exc:
            raise CodecError("ELIC decoding failed, the data is corrupt or not for this model: "
                             f"{summarize_tf_error(exc)}") from None
        if image.shape != (stream.height, stream.width, 3) or image.dtype != np.uint8:
            raise CodecError(f"ELIC decoder returned {image.dtype} {image.shape}, "
                             f"expected uint8 {(stream.height, stream.width, 3)}")
        return image


class NativeRunner(ELICRunner):
    """A model directory written by ``export.export_model`` (config + weights + coding tables)."""

    kind = "native"
    supports_tiling = True

    def __init__(self, path: Path, model, model_id: bytes, info: dict[str, Any]):
        super().__init__(path, model_id, info)
        from ...tfenv import import_tf

        self._tf = import_tf()
        self.model = model
        model.prepare_for_coding()

    @property
    def config(self) -> ELICConfig:
        return self.model.config

    @property
    def num_strings(self) -> int:
        return 1 + 2 * self.model.config.num_groups

    def latent_elements(self, padded_h: int, padded_w: int) -> int:
        cfg = self.model.config
        return (padded_h // 16) * (padded_w // 16) * cfg.M + (padded_h // 64) * (padded_w // 64) * cfg.hyper_channels

    def encode_strings(self, image: np.ndarray, tile: int) -> list[bytes]:
        return self.model.compress_tiled(image, tile)

    def decode_strings(self, height: int, width: int, strings: tuple[bytes, ...], tile: int) -> np.ndarray:
        return self.model.decompress_tiled(height, width, strings, tile)

    def estimate_bits(self, image: np.ndarray) -> float:
        """Bits of the whole padded image from the discrete likelihoods (no range coding)."""
        return float(self.model.estimate_bits(self._tf.constant(check_image(image))))
