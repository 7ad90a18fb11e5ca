"""Helpers of the classical codecs' tests (tests/codecs/test_*.py)."""
from __future__ import annotations

import pytest

from elicbench.codecs import get_codec


def make(name: str, **settings):
    cls = get_codec(name)
    available = cls.availability()
    if not available:
        pytest.skip(f"{name} not available here: {available.reason}")
    return cls(**settings)


def low_high(codec) -> tuple[float, float]:
    """The lowest- and highest-rate qualities of the default sweep."""
    qs = sorted(codec.qualities(), reverse=not codec.quality_scale.higher_means_more_bits)
    return qs[0], qs[-1]
