"""Fixtures of the classical codecs' tests."""
from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(scope="module")
def crop(photo) -> np.ndarray:
    """A 256x384 detailed crop of kodim23 (both sides multiples of 16 and not): fast to code."""
    return np.ascontiguousarray(photo(23)[100:356, 200:584])
