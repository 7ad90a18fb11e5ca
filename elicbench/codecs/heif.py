"""``heif``: HEIF/HEIC (HEVC intra) through pillow-heif (libheif with x265 and libde265)."""
from __future__ import annotations

import io

import numpy as np

from .base import Availability, QualityScale
from .catalog import register_codec
from .pillow_common import PluginCodec, package_version, subsampling_option, to_array


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
        "subsampling": subsampling_option(),
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
        out = {"pillow-heif": package_version("pillow-heif") or "not installed"}
        plugin = cls._plugin()
        if not isinstance(plugin, str):
            info = plugin.libheif_info()
            out["libheif"] = info.get("libheif", "unknown")
            out["encoder"] = info.get("HEIF", "") or "missing"
            out["decoders"] = "; ".join(info.get("decoders", {}).values())
        return out

    def encode(self, image: np.ndarray, quality: float) -> bytes:
        q, plugin = self._encode_inputs(image, quality)
        h, w = image.shape[:2]
        buf = io.BytesIO()
        plugin.encode("RGB", (w, h), image.tobytes(), buf, quality=q,
                      chroma=self._CHROMA[self.settings["subsampling"]])
        return buf.getvalue()

    def decode(self, data: bytes) -> np.ndarray:
        plugin = self._require()
        heif = plugin.open_heif(io.BytesIO(data), convert_hdr_to_8bit=True)
        if heif.mode != "RGB":
            return to_array(heif.to_pillow())
        return np.asarray(heif)
