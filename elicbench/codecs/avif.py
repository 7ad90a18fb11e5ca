"""``avif`` (Pillow's own libavif with the aom encoder) and ``avif-svt`` / ``avif-rav1e`` (the same
libavif with SVT-AV1 / rav1e, from pillow-avif-plugin).

AVIF and the plug-in: ``import pillow_avif`` re-registers Pillow's "AVIF" format with the plug-in's
own handler. So the format name does not say which library encodes. We call each library's save
driver explicitly (registered under private format names), so ``avif`` always runs Pillow's
built-in libavif and ``avif-svt`` / ``avif-rav1e`` the plug-in's, whatever was imported first.
(With pillow 13.0.0 and pillow-avif-plugin 1.6.0 both bundle libavif 1.4.2 and aom 3.14.1, and
aom files come out byte-identical through either.) All AVIF files decode with Pillow's built-in
dav1d, so the three encoders are compared through the same decoder.
"""
from __future__ import annotations

import io
import os
from functools import lru_cache
from types import ModuleType

import numpy as np
import PIL
from PIL import Image

from .base import Availability, Codec, CodecUnavailable, Option, QualityScale
from .catalog import register_codec
from .pillow_common import SUBSAMPLINGS, package_version, pillow_version, subsampling_option, to_array, to_pil

_AVIF_FORMATS = {"builtin": "ELICBENCH-AVIF-PILLOW", "plugin": "ELICBENCH-AVIF-PLUGIN"}


def _builtin_avif() -> ModuleType | None:
    from PIL import AvifImagePlugin

    return AvifImagePlugin if AvifImagePlugin.SUPPORTED else None


@lru_cache(maxsize=None)
def _plugin_avif() -> ModuleType | str:
    """pillow-avif-plugin's handler module, or the reason it cannot be imported."""
    os.environ.setdefault("SVT_LOG", "1")   # SVT-AV1 prints banners and per-frame info otherwise
    try:
        from pillow_avif import AvifImagePlugin
    except ImportError as exc:
        return f"pillow-avif-plugin cannot be imported ({exc}); pip install pillow-avif-plugin==1.6.0"
    return AvifImagePlugin


def _avif_module(source: str) -> ModuleType | None:
    if source == "builtin":
        return _builtin_avif()
    module = _plugin_avif()
    return None if isinstance(module, str) else module


@lru_cache(maxsize=None)
def _avif_format(source: str) -> str:
    """A Pillow format name bound to one library's AVIF save driver (see the module docstring)."""
    module = _avif_module(source)
    if module is None:
        reason = _plugin_avif() if source == "plugin" else "this Pillow was built without AVIF support"
        raise CodecUnavailable(str(reason))
    Image.register_save(_AVIF_FORMATS[source], module._save)
    return _AVIF_FORMATS[source]


def _codec_version(module: ModuleType | None, name: str) -> str | None:
    return module.get_codec_version(name) if module is not None else None


def _threads(text: str) -> int:
    n = int(text)
    if n < 1:
        raise ValueError("threads must be at least 1")
    return n


def _avif_options(subsamplings: tuple[str, ...], speed_help: str) -> dict[str, Option]:
    return {
        "speed": Option(6, speed_help, choices=tuple(range(11)), parse=int),
        "subsampling": subsampling_option(subsamplings),
        "threads": Option(1, "encoder/decoder threads; aom's output changes with it", parse=_threads),
    }


class Avif(Codec):
    """AVIF through libavif with one AV1 encoder; decoded with Pillow's libavif + dav1d."""

    extension = "avif"
    quality_scale = QualityScale("quality", 0, 100)
    default_qualities = (10, 20, 30, 40, 50, 60, 70, 80, 90)
    #: "builtin" (Pillow's libavif) or "plugin" (pillow-avif-plugin's).
    source = "builtin"
    #: libavif's name of the AV1 encoder.
    encoder = "aom"
    #: The encoder's name in versions(), when it is not ``encoder``.
    encoder_label = ""

    @classmethod
    def availability(cls) -> Availability:
        if cls.source == "plugin":
            module = _plugin_avif()
            if isinstance(module, str):
                return Availability(False, module)
        else:
            module = _builtin_avif()
            if module is None:
                return Availability(False, f"this Pillow {PIL.__version__} was built without AVIF support; "
                                           "pip install --force-reinstall pillow==13.0.0")
        if not module._avif.encoder_codec_available(cls.encoder):
            where = "pillow-avif-plugin" if cls.source == "plugin" else f"Pillow {PIL.__version__}"
            return Availability(False, f"the libavif in {where} has no {cls.encoder} encoder "
                                       f"(it has: {module._avif.codec_versions()})")
        if _builtin_avif() is None:
            return Availability(False, "decoding needs Pillow's built-in AVIF support; pip install pillow==13.0.0")
        return Availability(True)

    @classmethod
    def versions(cls) -> dict[str, str]:
        out = pillow_version()
        module = _avif_module(cls.source)
        if cls.source == "plugin":
            out["pillow-avif-plugin"] = package_version("pillow-avif-plugin") or "not installed"
        if module is not None:
            out["libavif"] = module._avif.libavif_version
            out[cls.encoder_label or cls.encoder] = _codec_version(module, cls.encoder) or "missing"
        out["dav1d"] = _codec_version(_builtin_avif(), "dav1d") or "missing"
        return out

    def encode(self, image: np.ndarray, quality: float) -> bytes:
        q = self.validate_quality(quality)
        im = to_pil(image, self.label)
        s = self.settings
        buf = io.BytesIO()
        im.save(buf, format=_avif_format(self.source), quality=q, speed=s["speed"],
                subsampling=s["subsampling"], codec=self.encoder, max_threads=s["threads"])
        return buf.getvalue()

    def decode(self, data: bytes) -> np.ndarray:
        module = _builtin_avif()
        # The decoder thread count is a module global in Pillow ("until there is a way to pass
        # parameters to Image.open", says its source).
        module.DEFAULT_MAX_THREADS = self.settings["threads"]
        with module.AvifImageFile(io.BytesIO(data)) as im:
            return to_array(im)


@register_codec("avif")
class AvifAom(Avif):
    """AVIF with aom (Pillow's built-in libavif).

    Speed 6 (libavif's and Pillow's default): ~0.45 s per Kodak image on one thread. Measured on
    kodim07/23 at q 40/70: speed 4 took 5.9x longer for 2-5 % fewer bits and +0.1-0.3 dB; speed 8
    was 3x faster for 3-13 % more bits and -0.2-0.5 dB. Kodak (4 images): q=10 -> 0.10 bpp,
    q=90 -> 2.2 bpp.
    """
    plot_colour = "#d62728"

    source = "builtin"
    encoder = "aom"
    options = _avif_options(SUBSAMPLINGS, "aom speed, 0 (slowest, smallest) - 10")
    summary = "AVIF with aom (Pillow's libavif), quality 0-100, speed 6, 4:2:0, 1 thread"


@register_codec("avif-svt")
class AvifSvt(Avif):
    """AVIF with SVT-AV1 (pillow-avif-plugin). SVT-AV1 encodes 4:2:0 only.

    Speed 6: ~0.13 s per Kodak image (one thread); speed 4 was 3.5x slower for 6-9 % fewer bits.
    """
    plot_colour = "#ff7f0e"

    source = "plugin"
    encoder = "svt"
    encoder_label = "svt-av1"
    options = _avif_options(("4:2:0",), "SVT-AV1 speed, 0 (slowest) - 10")
    summary = "AVIF with SVT-AV1 (pillow-avif-plugin), quality 0-100, speed 6, 4:2:0 only"


@register_codec("avif-rav1e")
class AvifRav1e(Avif):
    """AVIF with rav1e (pillow-avif-plugin). Speed 6: ~0.8 s per Kodak image on one thread."""
    plot_colour = "#e377c2"

    source = "plugin"
    encoder = "rav1e"
    options = _avif_options(SUBSAMPLINGS, "rav1e speed, 0 (slowest) - 10")
    summary = "AVIF with rav1e (pillow-avif-plugin), quality 0-100, speed 6, 4:2:0"
