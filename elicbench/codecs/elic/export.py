"""ELIC model directories: write (``export_model``) and load (``load_model``).

What a model directory holds, and reading it without TensorFlow, is ``modelfiles`` (its names are
also importable from here). ``load_model`` also accepts a directory holding a SavedModel with the signature of the public
TF2 implementation (see ``reference``), with or without an ``elic.json`` of kind "reference".
"""
from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np

from ..base import CodecUnavailable
from .modelfiles import (MODEL_FORMAT, MODEL_FORMAT_VERSION, MODEL_JSON, SAVED_MODEL_DIR,  # noqa: F401
                         WEIGHT_DTYPES, WEIGHTS_FILE, model_id, read_model_info, read_native_weights, read_weights)


def _package_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def export_model(model, out_dir: str | Path, meta: dict[str, Any], *, dtype: str | None = None,
                 saved_model: bool = True) -> Path:
    """Write ``model`` as a model directory and return its path.

    ``meta`` (λ, steps, data, ... from the trainer) is stored in elic.json: ``lambda``,
    ``steps`` and ``data`` at the top level, everything under ``training``. ``dtype``
    ("float32" default, or "float16" for compact committed weights; also read from
    ``meta["weights_dtype"]``) is the storage type: the exported model *is* the rounded one
    (its tables and id are computed after rounding). The trained ``model`` is not modified.
    """
    from .model import build_model

    dtype = dtype or meta.get("weights_dtype") or "float32"
    if dtype not in WEIGHT_DTYPES:
        raise ValueError(f"weights dtype must be one of {', '.join(WEIGHT_DTYPES)}, got {dtype!r}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    config = model.config
    stored = [v.numpy().astype(dtype) for v in model.model_weights()]
    as_loaded = [w.astype(np.float32) for w in stored]

    fresh = build_model(config)
    fresh.set_model_weights(as_loaded)
    fresh.prepare_for_coding()
    tables = fresh.coding_tables()
    mid = model_id(config, as_loaded, tables)

    arrays = {f"w{i:04d}": w for i, w in enumerate(stored)}
    arrays.update(tables)
    weights_path = out_dir / WEIGHTS_FILE
    tmp = out_dir / (WEIGHTS_FILE + ".tmp.npz")
    np.savez_compressed(tmp, **arrays)
    tmp.replace(weights_path)

    saved_model_dir = None
    if saved_model:
        save_coding_savedmodel(fresh, out_dir / SAVED_MODEL_DIR)
        saved_model_dir = SAVED_MODEL_DIR

    meta = dict(meta)
    meta.pop("weights_dtype", None)
    top = {key: meta.pop(key, None) for key in ("lambda", "steps", "data")}
    meta.pop("config", None)  # stored once, below
    meta.pop("preset", None)
    info = {
        "format": MODEL_FORMAT,
        "format_version": MODEL_FORMAT_VERSION,
        "kind": "native",
        "model_id": mid.hex(),
        "preset": config.preset,
        "config": config.to_dict(),
        "lambda": None if top["lambda"] is None else float(top["lambda"]),
        "steps": top["steps"],
        "data": top["data"],
        "params": int(sum(int(np.prod(w.shape)) for w in stored)),
        "weights": {"file": WEIGHTS_FILE, "dtype": dtype, "count": len(stored),
                    "sha256": hashlib.sha256(weights_path.read_bytes()).hexdigest()},
        "saved_model": saved_model_dir,
        "training": meta,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "versions": {"tensorflow": _package_version("tensorflow"),
                     "tensorflow-compression": _package_version("tensorflow-compression"),
                     "elicbench": _package_version("elicbench")},
    }
    (out_dir / MODEL_JSON).write_text(json.dumps(info, indent=2, default=str) + "\n")
    return out_dir


def save_coding_savedmodel(model, path: str | Path) -> Path:
    """A SavedModel with ``compress(uint8[H,W,3])`` and ``decompress(int32[2], string[1] x (1+2G))``."""
    from ...tfenv import import_tf

    tf = import_tf()
    model.prepare_for_coding()
    module = tf.Module()
    # Track the variables directly: saving the Keras model object would also trace its call().
    module.weights = list(model.model_weights())
    module.coding = [model.coder.z_coder, model.coder.y_coder, model.coder.exact_path]
    module.compress = model.coder.compress_fn
    module.decompress = model.coder.decompress_fn
    tf.saved_model.save(module, str(path), signatures={
        "compress": model.coder.compress_fn.get_concrete_function(),
        "decompress": model.coder.decompress_fn.get_concrete_function(),
    })
    return Path(path)


def load_model(path: str | Path):
    """A model directory (native or reference SavedModel) -> an ``ELICRunner``."""
    path = Path(path)
    if not path.is_dir():
        raise CodecUnavailable(f"ELIC model {path} does not exist or is not a directory")
    if not (path / MODEL_JSON).exists():
        if (path / "saved_model.pb").exists():
            from .reference import load_reference_model

            return load_reference_model(path, {})
        raise CodecUnavailable(f"{path} is not an ELIC model directory (no {MODEL_JSON} or saved_model.pb)")
    info = read_model_info(path)
    kind = info.get("kind", "native")
    if kind == "reference":
        from .reference import load_reference_model

        return load_reference_model(path, info)
    if kind != "native":
        raise CodecUnavailable(f"{path / MODEL_JSON}: unknown model kind {kind!r}")
    return _load_native(path, info)


def _load_native(path: Path, info: dict[str, Any]):
    from .model import build_model
    from .runner import NativeRunner

    config, arrays, tables = read_weights(path, info)
    model = build_model(config)
    try:
        model.set_model_weights(arrays)
    except ValueError as exc:
        raise CodecUnavailable(f"{path / WEIGHTS_FILE} does not fit preset {config.preset!r}: {exc}") from None
    model.prepare_for_coding(tables)
    return NativeRunner(path, model, model_id(config, arrays, tables), info)
