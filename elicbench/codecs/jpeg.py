"""``jpeg``: baseline JPEG through Pillow's libjpeg-turbo (``jpegli``, the other JPEG encoder, is in
its own module and shares this one's quality scale and sweep)."""
from __future__ import annotations

from typing import Any

from PIL import features

from .base import QualityScale
from .catalog import register_codec
from .pillow_common import PillowCodec, PillowFormat, pillow_version, subsampling_option, yes_no_option


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
    pillow = PillowFormat("JPEG", feature="jpg")
    quality_scale = QualityScale("quality", 1, 100)
    default_qualities = (5, 10, 20, 30, 40, 50, 60, 75, 85, 90)
    options = {
        "subsampling": subsampling_option(),
        "optimize": yes_no_option(False, "optimised Huffman tables (smaller file, same pixels)"),
        "progressive": yes_no_option(False, "progressive scan order"),
    }
    summary = "JPEG (libjpeg-turbo via Pillow), quality 1-100, 4:2:0 by default"

    @classmethod
    def versions(cls) -> dict[str, str]:
        out = pillow_version()
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
