"""What the classical codecs through Pillow and its plug-ins share: the base classes (a format
Pillow saves and opens itself, a codec whose plug-in is optional), the RGB checks and conversions,
the option helpers and the version probes.

The codecs, one module per family: ``jpeg`` (libjpeg-turbo) and ``jpegli``, ``webp`` (libwebp),
``avif`` (libavif with aom, SVT-AV1 or rav1e), ``jpeg2000`` (OpenJPEG), ``jxl`` (pillow-jxl-plugin)
and ``heif`` (pillow-heif, x265).

Choices made for all of them, from measurements on Kodak (see each class):

- Default sweeps span about 0.1-2 bpp on Kodak where the codec can (JPEG bottoms out near 0.2 bpp).
- Library defaults are kept where they are the common reference (JPEG: Pillow's 4:2:0 without
  Huffman optimisation, as in CompressAI's published JPEG curve; WebP method 4; AVIF speed 6).
- Encoders that can run several threads run one by default: the runner already runs one job per
  core, timings stay comparable with the single-threaded JPEG and WebP, and aom's output *depends*
  on its thread count (measured: 1 and 2 threads give different files), so for AVIF ``threads``
  is part of the codec's identity.
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from functools import lru_cache
from importlib import metadata
from types import ModuleType
from typing import Any, ClassVar

import numpy as np
import PIL
from PIL import Image, features

from .base import Availability, BadCodecInput, Codec, CodecUnavailable, Option

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}
#: Chroma subsamplings by their usual names, full chroma resolution last.
SUBSAMPLINGS = ("4:2:0", "4:2:2", "4:4:4")


# --- options ----------------------------------------------------------------------------------

def parse_bool(text: str) -> bool:
    """Option text to bool: 1/true/yes/on or 0/false/no/off (any case)."""
    value = str(text).strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f"not a yes/no value: {text!r}")


def yes_no_option(default: bool, help: str) -> Option:
    """An on/off option; on the command line 1/true/yes/on or 0/false/no/off."""
    return Option(default, help, choices=(False, True), parse=parse_bool)


def subsampling_option(choices: tuple[str, ...] = SUBSAMPLINGS) -> Option:
    """The chroma subsampling, 4:2:0 by default (the encoders' own default)."""
    return Option("4:2:0", "chroma subsampling", choices=choices)


# --- images -----------------------------------------------------------------------------------

def check_rgb(image: np.ndarray, codec: str) -> None:
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        got = f"{image.dtype}{image.shape}" if isinstance(image, np.ndarray) else type(image).__name__
        raise BadCodecInput(f"{codec}: expects an RGB uint8 array of shape (H, W, 3), got {got}")


def to_pil(image: np.ndarray, codec: str) -> Image.Image:
    check_rgb(image, codec)
    return Image.fromarray(image)


def to_array(im: Image.Image) -> np.ndarray:
    """Decoded image as RGB uint8 (H, W, 3) (read-only: it shares the decoder's buffer)."""
    if im.mode != "RGB":
        im = im.convert("RGB")
    return np.asarray(im)


def open_with_pillow(data: bytes, pil_format: str) -> np.ndarray:
    """The file's pixels, opened by Pillow as ``pil_format`` only, as RGB uint8 (H, W, 3)."""
    with Image.open(io.BytesIO(data), formats=[pil_format]) as im:
        return to_array(im)


# --- versions ---------------------------------------------------------------------------------

def pillow_version() -> dict[str, str]:
    return {"pillow": PIL.__version__}


def package_version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


# --- base classes -----------------------------------------------------------------------------

@dataclass(frozen=True)
class PillowFormat:
    """How Pillow provides a format."""

    #: Pillow's format name, e.g. "JPEG": what it saves and opens.
    name: str
    #: ``PIL.features`` name whose presence means Pillow can do this format.
    feature: str
    #: The library behind ``feature``, as versions() names it ("": the codec reports its versions itself).
    library: str = ""


class PillowCodec(Codec):
    """A codec that Pillow itself saves and opens: the format ``pillow``."""

    pillow: ClassVar[PillowFormat]

    @classmethod
    def availability(cls) -> Availability:
        if not features.check(cls.pillow.feature):
            return Availability(
                False,
                f"this Pillow {PIL.__version__} was built without {cls.pillow.name} support "
                f"(PIL.features.check({cls.pillow.feature!r}) is False); install the PyPI wheel: "
                "pip install --force-reinstall pillow==13.0.0",
            )
        return Availability(True)

    @classmethod
    def versions(cls) -> dict[str, str]:
        return {**pillow_version(), cls.pillow.library: features.version(cls.pillow.feature) or "unknown"}

    def save_params(self, quality: int | float) -> dict[str, Any]:
        raise NotImplementedError

    def encode(self, image: np.ndarray, quality: float) -> bytes:
        params = self.save_params(self.validate_quality(quality))
        im = to_pil(image, self.label)
        buf = io.BytesIO()
        im.save(buf, format=self.pillow.name, **params)
        return buf.getvalue()

    def decode(self, data: bytes) -> np.ndarray:
        return open_with_pillow(data, self.pillow.name)


@lru_cache(maxsize=None)
def _import_optional(module: str, package: str, extra: str) -> ModuleType | str:
    """The plug-in module, or why it is unavailable (with the install command)."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        if exc.name == module:
            return f"{package} is not installed; pip install 'elicbench[{extra}]'"
        return f"{package} cannot be imported ({exc}); pip install --force-reinstall 'elicbench[{extra}]'"


class PluginCodec(Codec):
    """A codec whose Pillow plug-in is an optional extra: unavailable (with the pip command) without it."""

    plugin_module: str = ""      # import name, e.g. "pillow_jxl"
    plugin_package: str = ""     # distribution name, e.g. "pillow-jxl-plugin"
    plugin_extra: str = ""       # elicbench extra that installs it, e.g. "jxl"

    @classmethod
    def _plugin(cls) -> ModuleType | str:
        return _import_optional(cls.plugin_module, cls.plugin_package, cls.plugin_extra)

    @classmethod
    def availability(cls) -> Availability:
        plugin = cls._plugin()
        return Availability(False, plugin) if isinstance(plugin, str) else Availability(True)

    @classmethod
    def versions(cls) -> dict[str, str]:
        """Pillow's version and the plug-in's (which identifies the library it bundles)."""
        return {**pillow_version(), cls.plugin_package: package_version(cls.plugin_package) or "not installed"}

    def _require(self) -> ModuleType:
        plugin = self._plugin()
        if isinstance(plugin, str):
            raise CodecUnavailable(f"{self.label}: {plugin}")
        return plugin

    def _encode_inputs(self, image: np.ndarray, quality: float) -> tuple[int | float, ModuleType]:
        """The checked quality and the plug-in, once ``image`` is known to be RGB uint8 (checked in
        this order, so a bad quality is reported first, then a missing plug-in, then the image)."""
        q = self.validate_quality(quality)
        plugin = self._require()
        check_rgb(image, self.label)
        return q, plugin
