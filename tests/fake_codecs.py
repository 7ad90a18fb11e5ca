"""Codecs that misbehave on purpose, registered for the runner tests (imported in workers too)."""
from __future__ import annotations

import io
import os

import numpy as np
from PIL import Image

from elicbench.codecs import CODECS, Codec, CodecError, QualityScale, register_codec


class _PNGish(Codec):
    extension = "png"
    quality_scale = QualityScale("quality", 1, 100)
    default_qualities = (50,)
    summary = "test codec"

    def encode(self, image, quality):
        buf = io.BytesIO()
        Image.fromarray(image).save(buf, format="PNG", compress_level=1)
        return buf.getvalue()

    def decode(self, data):
        with Image.open(io.BytesIO(data)) as im:
            return np.asarray(im.convert("RGB"))


if "test-crash" not in CODECS:
    @register_codec("test-crash")
    class CrashOnPortrait(_PNGish):
        """Kills its worker process on images that are not landscape (Kodak's kodim04, scikit-image's
        astronaut): the runner must survive that."""

        def encode(self, image, quality):
            if image.shape[0] >= image.shape[1]:
                os._exit(3)
            return super().encode(image, quality)

    @register_codec("test-fail")
    class FailAtQuality(_PNGish):
        """Raises a CodecError at quality 13: one error row, the run goes on."""

        def encode(self, image, quality):
            if quality == 13:
                raise CodecError("refusing quality 13 on purpose")
            return super().encode(image, quality)

    @register_codec("test-slow")
    class SlowEncode(_PNGish):
        """Sleeps (without using the CPU) before encoding: keeps workers busy for process tests."""

        def encode(self, image, quality):
            import time

            time.sleep(float(os.environ.get("ELICBENCH_TEST_SLOW_S", "30")))
            return super().encode(image, quality)
