"""The registry of codecs. ``@register_codec("name")`` on a :class:`Codec` subclass adds it;
third-party packages add theirs through the ``elicbench.codecs`` entry-point group, e.g. in their
pyproject.toml::

    [project.entry-points."elicbench.codecs"]
    mycodec = "mypkg.codec:MyCodec"

The built-in codec modules (``jpeg``, ``webp``, ``avif`` ..., ``elic``) register theirs when
``elicbench.codecs`` is imported.
"""
from __future__ import annotations

from ..registry import Registry
from .base import Codec

CODECS: Registry[type[Codec]] = Registry("codec", entry_point_group="elicbench.codecs")
register_codec = CODECS.register


def get_codec(name: str) -> type[Codec]:
    return CODECS.get(name)


def codec_names() -> list[str]:
    return CODECS.names()
