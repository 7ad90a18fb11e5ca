"""Codecs: what a codec is (``base``), the registry (``catalog``) and the built-in codecs, which
register on import (``pillow``: JPEG, WebP, AVIF, JPEG 2000, JPEG XL, HEIF; ``elic``: the learned
codec, which imports TensorFlow only when a model is used). Third-party codecs register through the
``elicbench.codecs`` entry-point group, e.g. in their pyproject.toml::

    [project.entry-points."elicbench.codecs"]
    mycodec = "mypkg.codec:MyCodec"
"""
from __future__ import annotations

from ..registry import UnknownNameError
from . import elic, jpegli, pillow  # noqa: F401  (register the built-in codecs)
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
