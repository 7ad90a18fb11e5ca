"""Codec registry. ``@register_codec("name")`` on a :class:`Codec` subclass adds it;
third-party packages add theirs through the ``elicbench.codecs`` entry-point group, e.g.
in their pyproject.toml::

    [project.entry-points."elicbench.codecs"]
    mycodec = "mypkg.codec:MyCodec"
"""
from __future__ import annotations

from ..registry import Registry, UnknownNameError
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

CODECS: Registry[type[Codec]] = Registry("codec", entry_point_group="elicbench.codecs")
register_codec = CODECS.register


def get_codec(name: str) -> type[Codec]:
    return CODECS.get(name)


def codec_names() -> list[str]:
    return CODECS.names()


# Built-ins register on import. The ELIC module imports TensorFlow only when a model is used.
from . import pillow  # noqa: E402,F401
from . import elic  # noqa: E402,F401

__all__ = [
    "Availability", "BadCodecInput", "CODECS", "Codec", "CodecError", "CodecUnavailable",
    "Option", "QualityScale", "UnknownNameError", "codec_names", "format_quality", "get_codec",
    "register_codec",
]
