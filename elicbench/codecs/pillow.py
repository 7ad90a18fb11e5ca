"""Classical codecs through Pillow and its plug-ins.

``jpeg`` (libjpeg-turbo), ``webp`` (libwebp), ``avif`` (Pillow's own libavif with the aom
encoder), ``avif-svt`` / ``avif-rav1e`` (the same libavif with SVT-AV1 / rav1e, from
pillow-avif-plugin), ``jpeg2000`` (OpenJPEG), and, when their optional plug-ins are installed,
``jxl`` (pillow-jxl-plugin) and ``heif`` (pillow-heif, x265).

Choices made here, from measurements on Kodak (see each class):

- Default sweeps span about 0.1-2 bpp on Kodak where the codec can (JPEG bottoms out near 0.2 bpp).
- Library defaults are kept where they are the common reference (JPEG: Pillow's 4:2:0 without
  Huffman optimisation, as in CompressAI's published JPEG curve; WebP method 4; AVIF speed 6).
- Encoders that can run several threads run one by default: the runner already runs one job per
  core, timings stay comparable with the single-threaded JPEG and WebP, and aom's output *depends*
  on its thread count (measured: 1 and 2 threads give different files), so for AVIF ``threads``
  is part of the codec's identity.

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
from importlib import metadata
from types import ModuleType
from typing import Any

import numpy as np
import PIL
from PIL import Image, features

from .catalog import register_codec
from .base import Availability, BadCodecInput, Codec, CodecError, CodecUnavailable, Option, QualityScale

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def parse_bool(text: str) -> bool:
    """Option text to bool: 1/true/yes/on or 0/false/no/off (any case)."""
    value = str(text).strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f"not a yes/no value: {text!r}")


def _threads(text: str) -> int:
    n = int(text)
    if n < 1:
        raise ValueError("threads must be at least 1")
    return n


def _check_rgb(image: np.ndarray, codec: str) -> None:
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        got = f"{image.dtype}{image.shape}" if isinstance(image, np.ndarray) else type(image).__name__
        raise BadCodecInput(f"{codec}: expects an RGB uint8 array of shape (H, W, 3), got {got}")


def _to_pil(image: np.ndarray, codec: str) -> Image.Image:
    _check_rgb(image, codec)
    return Image.fromarray(image)


def _to_array(im: Image.Image) -> np.ndarray:
    """Decoded image as RGB uint8 (H, W, 3) (read-only: it shares the decoder's buffer)."""
    if im.mode != "RGB":
        im = im.convert("RGB")
    return np.asarray(im)


def _pillow_version() -> dict[str, str]:
    return {"pillow": PIL.__version__}


def _package_version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


class PillowCodec(Codec):
    """A codec that Pillow itself saves and opens under the format name ``pil_format``."""

    pil_format: str = ""
    #: ``PIL.features`` name whose presence means Pillow can do this format.
    feature: str = ""

    @classmethod
    def availability(cls) -> Availability:
        if not features.check(cls.feature):
            return Availability(
                False,
                f"this Pillow {PIL.__version__} was built without {cls.pil_format} support "
                f"(PIL.features.check({cls.feature!r}) is False); install the PyPI wheel: "
                "pip install --force-reinstall pillow==13.0.0",
            )
        return Availability(True)

    def save_params(self, quality: int | float) -> dict[str, Any]:
        raise NotImplementedError

    def encode(self, image: np.ndarray, quality: float) -> bytes:
        params = self.save_params(self.validate_quality(quality))
        im = _to_pil(image, self.label)
        buf = io.BytesIO()
        im.save(buf, format=self.pil_format, **params)
        return buf.getvalue()

    def decode(self, data: bytes) -> np.ndarray:
        with Image.open(io.BytesIO(data), formats=[self.pil_format]) as im:
            return _to_array(im)


@register_codec("jpeg")
class Jpeg(PillowCodec):
    """Baseline JPEG through Pillow's libjpeg-turbo.

    Kodak (24 images, 4:2:0): q=5 -> 0.22 bpp, q=50 -> 0.91, q=90 -> 2.35 (mean bpp); below q=5
    JPEG spends most of its bits on headers and block artefacts, so the sweep starts there.
    Defaults are Pillow's (4:2:0, no Huffman optimisation, sequential) so results line up with
    published Pillow JPEG curves; ``optimize=true`` gives identical pixels in files 1-3 % smaller
    at q >= 50 and up to ~17 % smaller at q=10 (4 Kodak images).
    """
    plot_colour = "#1f77b4"

    extension = "jpg"
    pil_format = "JPEG"
    feature = "jpg"
    quality_scale = QualityScale("quality", 1, 100)
    default_qualities = (5, 10, 20, 30, 40, 50, 60, 75, 85, 90)
    options = {
        "subsampling": Option("4:2:0", "chroma subsampling", choices=("4:2:0", "4:2:2", "4:4:4")),
        "optimize": Option(False, "optimised Huffman tables (smaller file, same pixels)",
                           choices=(False, True), parse=parse_bool),
        "progressive": Option(False, "progressive scan order", choices=(False, True), parse=parse_bool),
    }
    summary = "JPEG (libjpeg-turbo via Pillow), quality 1-100, 4:2:0 by default"

    @classmethod
    def versions(cls) -> dict[str, str]:
        out = _pillow_version()
        turbo = features.version("libjpeg_turbo")
        if turbo:
            out["libjpeg-turbo"] = turbo
        # features.version("jpg") is the libjpeg API level (6.2 for turbo's default build).
        out["libjpeg-api"] = features.version("jpg") or "unknown"
        return out

    def save_params(self, quality: int | float) -> dict[str, Any]:
        s = self.settings
        return {"quality": quality, "subsampling": s["subsampling"],
                "optimize": s["optimize"], "progressive": s["progressive"]}


@register_codec("webp")
class WebP(PillowCodec):
    """Lossy WebP through Pillow's libwebp.

    ``method`` 4 is the default of libwebp's cwebp and of Pillow; method 6 took ~1.5-2x the time
    for ~5 % fewer bytes and ~0.1-0.2 dB less PSNR on Kodak, about the same RD curve.
    Kodak (4 images): q=0 -> 0.10 bpp, q=90 -> 1.7 bpp.
    """
    plot_colour = "#2ca02c"

    extension = "webp"
    pil_format = "WEBP"
    feature = "webp"
    quality_scale = QualityScale("quality", 0, 100)
    default_qualities = (0, 5, 10, 20, 30, 40, 50, 60, 75, 90)
    options = {
        "method": Option(4, "speed/effort trade-off, 0 (fast) - 6 (slowest, smallest)",
                         choices=tuple(range(7)), parse=int),
    }
    summary = "WebP lossy (libwebp via Pillow), quality 0-100, method 4"

    @classmethod
    def versions(cls) -> dict[str, str]:
        return {**_pillow_version(), "libwebp": features.version("webp") or "unknown"}

    def save_params(self, quality: int | float) -> dict[str, Any]:
        return {"quality": quality, "method": self.settings["method"], "lossless": False}


@register_codec("jpeg2000")
class Jpeg2000(PillowCodec):
    """JPEG 2000 (JP2 file) through Pillow's OpenJPEG.

    The rate knob is OpenJPEG's compression ratio (``quality_mode="rates"``): the file holds about
    24/ratio bits per pixel for 8-bit RGB, so a sweep lands on exact rates (ratio 240 -> 0.10 bpp,
    12 -> 2.0 bpp); higher ratio = fewer bits. (The "dB" mode spreads one setting over 0.04-0.8 bpp
    across Kodak images.) Pillow's defaults (reversible 5/3 wavelet, no colour transform) give
    32.0 dB at 1.2 bpp on Kodak (24 images) against 37.1 dB for the usual lossy choice, the
    irreversible 9/7 wavelet with the YCbCr colour transform, which is the default here.
    """
    plot_colour = "#8c564b"

    extension = "jp2"
    pil_format = "JPEG2000"
    feature = "jpg_2000"
    quality_scale = QualityScale("compression ratio", 1, 1000, integer=False, higher_means_more_bits=False)
    default_qualities = (240, 192, 128, 96, 64, 48, 32, 24, 16, 12)
    options = {
        "irreversible": Option(True, "irreversible 9/7 wavelet (false: reversible 5/3)",
                               choices=(False, True), parse=parse_bool),
        "mct": Option(True, "RGB -> YCbCr multiple-component transform", choices=(False, True), parse=parse_bool),
    }
    summary = "JPEG 2000 (OpenJPEG via Pillow), compression ratio 1-1000, 9/7 wavelet + YCbCr"

    @classmethod
    def versions(cls) -> dict[str, str]:
        return {**_pillow_version(), "openjpeg": features.version("jpg_2000") or "unknown"}

    def save_params(self, quality: int | float) -> dict[str, Any]:
        return {"quality_mode": "rates", "quality_layers": [quality],
                "irreversible": self.settings["irreversible"], "mct": int(self.settings["mct"])}


# --- AVIF -------------------------------------------------------------------------------------

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


class Avif(Codec):
    """AVIF through libavif with one AV1 encoder; decoded with Pillow's libavif + dav1d."""

    extension = "avif"
    quality_scale = QualityScale("quality", 0, 100)
    default_qualities = (10, 20, 30, 40, 50, 60, 70, 80, 90)
    #: "builtin" (Pillow's libavif) or "plugin" (pillow-avif-plugin's).
    source = "builtin"
    encoder = "aom"
    #: The encoder's name in versions().
    encoder_label = "aom"

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
        out = _pillow_version()
        module = _avif_module(cls.source)
        if cls.source == "plugin":
            out["pillow-avif-plugin"] = _package_version("pillow-avif-plugin") or "not installed"
        if module is not None:
            out["libavif"] = module._avif.libavif_version
            out[cls.encoder_label] = _codec_version(module, cls.encoder) or "missing"
        out["dav1d"] = _codec_version(_builtin_avif(), "dav1d") or "missing"
        return out

    def encode(self, image: np.ndarray, quality: float) -> bytes:
        q = self.validate_quality(quality)
        im = _to_pil(image, self.label)
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
            return _to_array(im)


def _avif_options(subsamplings: tuple[str, ...], speed_help: str) -> dict[str, Option]:
    return {
        "speed": Option(6, speed_help, choices=tuple(range(11)), parse=int),
        "subsampling": Option("4:2:0", "chroma subsampling", choices=subsamplings),
        "threads": Option(1, "encoder/decoder threads; aom's output changes with it", parse=_threads),
    }


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
    options = _avif_options(("4:2:0", "4:2:2", "4:4:4"), "aom speed, 0 (slowest, smallest) - 10")
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
    encoder_label = "rav1e"
    options = _avif_options(("4:2:0", "4:2:2", "4:4:4"), "rav1e speed, 0 (slowest) - 10")
    summary = "AVIF with rav1e (pillow-avif-plugin), quality 0-100, speed 6, 4:2:0"


# --- optional plug-ins ------------------------------------------------------------------------

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

    def _require(self) -> ModuleType:
        plugin = self._plugin()
        if isinstance(plugin, str):
            raise CodecUnavailable(f"{self.label}: {plugin}")
        return plugin


@register_codec("jxl")
class JpegXL(PluginCodec):
    """JPEG XL (libjxl inside pillow-jxl-plugin), lossy, one thread.

    Effort 7 is libjxl's default. Kodak (4 images): q=0 -> 0.14 bpp, q=90 -> 1.7 bpp.
    The plug-in does not report its libjxl version (its wheel 1.3.8 bundles libjxl 0.12 through
    jpegxl-rs 0.15); the plug-in version identifies it.
    """
    plot_colour = "#17becf"

    extension = "jxl"
    quality_scale = QualityScale("quality", 0, 99)
    default_qualities = (0, 10, 20, 30, 40, 50, 60, 70, 80, 90)
    options = {
        "effort": Option(7, "encoder effort, 1 (fastest) - 9", choices=tuple(range(1, 10)), parse=int),
    }
    summary = "JPEG XL (pillow-jxl-plugin), quality 0-99, effort 7"
    plugin_module, plugin_package, plugin_extra = "pillow_jxl", "pillow-jxl-plugin", "jxl"

    @classmethod
    def versions(cls) -> dict[str, str]:
        out = _pillow_version()
        out["pillow-jxl-plugin"] = _package_version("pillow-jxl-plugin") or "not installed"
        return out

    def encode(self, image: np.ndarray, quality: float) -> bytes:
        q = self.validate_quality(quality)
        self._require()   # importing the plug-in registers Pillow's "JXL" format
        im = _to_pil(image, self.label)
        buf = io.BytesIO()
        # quality 100 would be lossless; the scale stops at 99. No EXIF/XMP: the fresh image has none.
        im.save(buf, format="JXL", quality=q, effort=self.settings["effort"], lossless=False, num_threads=1)
        return buf.getvalue()

    def decode(self, data: bytes) -> np.ndarray:
        plugin = self._require()
        is_jpeg, info, pixels, _icc, _boxes = plugin.Decoder(num_threads=1)(data)
        if is_jpeg or info.mode != "RGB":
            raise CodecError(f"{self.label}: expected an RGB JPEG XL image, got mode {info.mode}"
                             + (" (a reconstructed JPEG)" if is_jpeg else ""))
        return np.frombuffer(pixels, np.uint8).reshape(info.height, info.width, 3)


@register_codec("heif")
class Heif(PluginCodec):
    """HEIF/HEIC (libheif + x265 inside pillow-heif); decoded with libde265.

    x265 runs with libheif's defaults (its preset and thread pool). Kodak (4 images): q=10 ->
    0.08 bpp, q=60 -> 1.7 bpp; above ~q=70 4:2:0 caps PSNR near 43 dB while bits keep growing.
    """
    plot_colour = "#bcbd22"

    extension = "heic"
    quality_scale = QualityScale("quality", 0, 100)
    default_qualities = (10, 15, 20, 25, 30, 35, 40, 45, 50, 60)
    options = {
        "subsampling": Option("4:2:0", "chroma subsampling", choices=("4:2:0", "4:2:2", "4:4:4")),
    }
    summary = "HEIF/HEVC (pillow-heif, x265), quality 0-100, 4:2:0"

    plugin_module, plugin_package, plugin_extra = "pillow_heif", "pillow-heif", "heif"
    _CHROMA = {"4:2:0": 420, "4:2:2": 422, "4:4:4": 444}

    @classmethod
    def availability(cls) -> Availability:
        plain = super().availability()
        if not plain:
            return plain
        info = cls._plugin().libheif_info()
        if not info.get("HEIF"):
            return Availability(False, f"pillow-heif's libheif {info.get('libheif')} has no HEVC encoder")
        return Availability(True)

    @classmethod
    def versions(cls) -> dict[str, str]:
        out = {"pillow-heif": _package_version("pillow-heif") or "not installed"}
        plugin = cls._plugin()
        if not isinstance(plugin, str):
            info = plugin.libheif_info()
            out["libheif"] = info.get("libheif", "unknown")
            out["encoder"] = info.get("HEIF", "") or "missing"
            out["decoders"] = "; ".join(info.get("decoders", {}).values())
        return out

    def encode(self, image: np.ndarray, quality: float) -> bytes:
        q = self.validate_quality(quality)
        plugin = self._require()
        _check_rgb(image, self.label)
        h, w = image.shape[:2]
        buf = io.BytesIO()
        plugin.encode("RGB", (w, h), image.tobytes(), buf, quality=q,
                      chroma=self._CHROMA[self.settings["subsampling"]])
        return buf.getvalue()

    def decode(self, data: bytes) -> np.ndarray:
        plugin = self._require()
        heif = plugin.open_heif(io.BytesIO(data), convert_hdr_to_8bit=True)
        if heif.mode != "RGB":
            return _to_array(heif.to_pillow())
        return np.asarray(heif)
