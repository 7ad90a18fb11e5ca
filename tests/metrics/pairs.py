"""Real image pairs for the metric tests: photographs (Kodak, or the `photo` fallback) through JPEG."""
from __future__ import annotations

import io

import numpy as np
from PIL import Image


def jpeg_round_trip(image: np.ndarray, quality: int) -> np.ndarray:
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="JPEG", quality=quality)
    return np.asarray(Image.open(buf).convert("RGB"))


#: (photo number, JPEG quality): from heavy artefacts to nearly transparent.
PAIRS = {"01-q5": (1, 5), "13-q20": (13, 20), "15-q50": (15, 50), "23-q90": (23, 90)}


def real_pairs(photo) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    return {key: (photo(n), jpeg_round_trip(photo(n), q)) for key, (n, q) in PAIRS.items()}
