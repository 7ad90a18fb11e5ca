"""ELIC model directories: their format, and reading them without TensorFlow.

A model directory holds::

    elic.json        what the model is: format, preset + config, λ, training facts, model id ...
    weights.npz      the learned weights (float32 or float16) in ``ELICModel.model_weights()``
                     order as w0000, w0001, ..., plus the z range-coding tables z_cdf,
                     z_cdf_offset (int32), computed once at export so that every process
                     decodes with identical tables
    saved_model/     optional TF SavedModel with ``compress`` / ``decompress`` signatures
                     (for use without elicbench; elicbench itself loads weights.npz)

The model id is the first 16 bytes of a SHA-256 over the config, the weights as loaded
(float32) and the coding tables: every ELIC file names the model that wrote it.

Writing a model directory is ``export.export_model`` (native models) and
``reference.write_reference_info`` (SavedModels of the public TF2 implementation); loading one to
code with is ``export.load_model``.
"""
from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from ..base import CodecUnavailable
from .config import ELICConfig

MODEL_FORMAT = "elicbench-elic-model"
MODEL_FORMAT_VERSION = 1
MODEL_JSON = "elic.json"
WEIGHTS_FILE = "weights.npz"
SAVED_MODEL_DIR = "saved_model"
WEIGHT_DTYPES = ("float32", "float16")


def model_id(config: ELICConfig, weights: list[np.ndarray], tables: dict[str, np.ndarray]) -> bytes:
    """16-byte identity of a model as it codes: config, float32 weights, coding tables."""
    h = hashlib.sha256()
    h.update(f"{MODEL_FORMAT}/{MODEL_FORMAT_VERSION}\0".encode())
    h.update(json.dumps(config.to_dict(), sort_keys=True).encode())
    for w in weights:
        w = np.ascontiguousarray(w, dtype="<f4")
        h.update(repr(w.shape).encode())
        h.update(w.tobytes())
    for key in ("z_cdf", "z_cdf_offset"):
        h.update(key.encode())
        h.update(np.ascontiguousarray(tables[key], dtype="<i4").tobytes())
    return h.digest()[:16]


def read_model_info(path: str | Path) -> dict[str, Any]:
    """``elic.json`` of a model directory (no TensorFlow). Raises CodecUnavailable if unusable."""
    path = Path(path)
    meta_path = path / MODEL_JSON
    try:
        info = json.loads(meta_path.read_text())
    except FileNotFoundError:
        raise CodecUnavailable(f"{path} is not an ELIC model directory (no {MODEL_JSON})") from None
    except (OSError, ValueError) as exc:
        raise CodecUnavailable(f"cannot read {meta_path}: {exc}") from None
    if not isinstance(info, dict) or info.get("format") != MODEL_FORMAT:
        raise CodecUnavailable(f"{meta_path} is not an elicbench ELIC model description "
                               f"(expected \"format\": \"{MODEL_FORMAT}\")")
    if int(info.get("format_version", 0)) > MODEL_FORMAT_VERSION:
        raise CodecUnavailable(f"{meta_path} has model format version {info.get('format_version')}; "
                               f"this elicbench reads up to {MODEL_FORMAT_VERSION}: upgrade elicbench")
    lmbda = info.get("lambda")
    # bool is an int in Python: "lambda": true must not run as λ = 1.
    if lmbda is not None and (isinstance(lmbda, bool) or not isinstance(lmbda, (int, float))
                              or not (0 < lmbda < float("inf"))):
        raise CodecUnavailable(f"{meta_path}: lambda must be a positive number, got {json.dumps(lmbda)}")
    return info


def read_weights(path: Path, info: dict[str, Any]) -> tuple[ELICConfig, list[np.ndarray], dict[str, np.ndarray]]:
    """(config, float32 weight arrays, coding tables) of a native model directory, checked against
    its ``elic.json`` (no TensorFlow)."""
    try:
        config = ELICConfig.from_dict(info["config"])
        spec = info["weights"]
        count = int(spec["count"])
    except (KeyError, TypeError, ValueError) as exc:
        raise CodecUnavailable(f"{path / MODEL_JSON}: bad model description ({exc})") from None
    import zlib

    weights_path = path / spec.get("file", WEIGHTS_FILE)
    try:
        with np.load(weights_path) as npz:
            arrays = [npz[f"w{i:04d}"].astype(np.float32) for i in range(count)]
            tables = {key: npz[key] for key in ("z_cdf", "z_cdf_offset")}
    except (OSError, KeyError, ValueError, zipfile.BadZipFile, EOFError, zlib.error) as exc:
        raise CodecUnavailable(f"cannot read ELIC weights {weights_path}: {exc} (truncated or corrupt? "
                               "re-export or copy the model again)") from None
    mid = model_id(config, arrays, tables)
    if mid.hex() != info.get("model_id"):
        raise CodecUnavailable(f"{weights_path} does not match {path / MODEL_JSON}: model id {mid.hex()} "
                               f"!= {info.get('model_id')} (corrupted or replaced weights); re-export the model")
    return config, arrays, tables


def read_native_weights(path: str | Path) -> tuple[ELICConfig, list[np.ndarray]]:
    """(config, weight arrays) of a native model directory, e.g. to start training from it."""
    path = Path(path)
    info = read_model_info(path)
    if info.get("kind", "native") != "native":
        raise CodecUnavailable(f"{path} is a {info.get('kind')!r} model; only native elicbench models "
                               "can give initial weights")
    config, arrays, _ = read_weights(path, info)
    return config, arrays
