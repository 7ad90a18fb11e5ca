"""Codecs: what a codec is (``base``), the registry (``catalog``) and the built-in codecs, which
register on import: one module per classical family (``jpeg``, ``jpegli``, ``webp``, ``avif``,
``jpeg2000``, ``jxl``, ``heif``; what they share through Pillow is in ``pillow_common``) and ``elic``,
the learned codec, which imports TensorFlow only when a model is used. Third-party codecs register
through the ``elicbench.codecs`` entry-point group, e.g. in their pyproject.toml::

    [project.entry-points."elicbench.codecs"]
    mycodec = "mypkg.codec:MyCodec"
"""
from __future__ import annotations

from ..registry import UnknownNameError
from . import avif, elic, heif, jpeg, jpeg2000, jpegli, jxl, webp  # noqa: F401  (register the built-in codecs)
from .base import (
    Availability,
    BadCodecInput,
    Codec,
    CodecError,
    CodecUnavailable,
    Option,
    QualityScale,
    format_quality,
)
from .catalog import CODECS, codec_names, get_codec, register_codec

__all__ = [
    "Availability", "BadCodecInput", "CODECS", "Codec", "CodecError", "CodecUnavailable",
    "Option", "QualityScale", "UnknownNameError", "codec_names", "format_quality", "get_codec",
    "register_codec",
]
