"""Shared set-up of the benchmarks: where the datasets are, and images loaded from them.

Benchmarks are off by default (``--benchmark-disable`` in pyproject); run them with
``pytest benchmarks/ --benchmark-enable`` (a file at a time while other work shares the cores).
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

DATA = Path(os.environ.get("ELICBENCH_DATA", Path(__file__).resolve().parents[2] / "shared" / "datasets"))
os.environ.setdefault("ELICBENCH_DATA", str(DATA))


def data_image(relative: str) -> np.ndarray:
    """An image of the shared datasets as RGB uint8 (the test is skipped when it is missing)."""
    from elicbench.datasets import load_rgb

    path = DATA / relative
    if not path.is_file():
        pytest.skip(f"{relative} not found in {DATA} (set ELICBENCH_DATA)")
    return load_rgb(path)[0]


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return DATA


@pytest.fixture(scope="session")
def kodak_image():
    """kodak_image(23) -> kodim23 as RGB uint8."""
    return lambda number: data_image(f"kodak/kodim{number:02d}.png")


@pytest.fixture(scope="session")
def kodak():
    """The Kodak dataset as elicbench resolves it."""
    from elicbench.datasets import resolve_dataset

    data_image("kodak/kodim01.png")  # skip early when absent
    return resolve_dataset("kodak", download=False)
