"""The ``elic`` codec: one trained ELIC model per rate point, the quality value is its λ.

Models are model directories (``export``): found in the ``models`` option (a directory of model
directories, or one model directory), else in ``$ELICBENCH_MODELS``, else in the demo weights
shipped with elicbench (``elicbench/data/elic-demo/``). Finding them reads only ``elic.json``
files; TensorFlow is imported and a model loaded on the first encode/decode at its λ, once per
process.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np

from ..catalog import register_codec
from ..base import Availability, BadCodecInput, Codec, CodecError, CodecUnavailable, Option, QualityScale, format_quality
from . import container, tiling
from .modelfiles import MODEL_JSON, read_model_info

MODELS_ENV = "ELICBENCH_MODELS"
#: Transform tile side in pixels. `full` ELIC decoding a 2048x1365 image whole peaks at 5.0 GB on
#: the CPU, with 1024-pixel tiles at 2.6 GB (benchmarks/test_elic_memory.py).
DEFAULT_TILE = 1024
#: Measured (CPU, `full`): with the transforms tiled, peak memory still grows by about this much
#: per megapixel, from the context and parameter networks on the whole latent (encoding peak
#: 1.4 -> 2.6 GB from 2.8 to 11.2 MP at tile 512; the process peak at tile 1024 went 2.6 -> 3.4 GB):
#: about 4 GB at 16 MP with tile 1024.
LATENT_GB_PER_MEGAPIXEL = 0.14
DEFAULT_MAX_MEGAPIXELS = 16.0
DEMO_MODELS = Path(__file__).resolve().parents[2] / "data" / "elic-demo"
DEMO_SOURCE = "demo weights"
DEMO_COLOUR = "#a6761d"     # ochre
TRAINED_COLOUR = "#e7298a"  # magenta; the published ELIC curve is purple

HOW_TO_GET_MODELS = (
    "train one per rate point with `elicbench train --data DIR --lambda 0.0016 --out models/elic-0.0016` "
    f"(--preset tiny trains on a CPU) and pass `--elic-models models` (or one model: `--elic-models "
    f"models/elic-0.0016`), or set {MODELS_ENV}=models"
)


@dataclass(frozen=True)
class ModelEntry:
    path: Path
    lmbda: float
    info: dict[str, Any]


# Where ``elicbench train --out DIR`` put the model before it wrote it into DIR itself.
LEGACY_EXPORT_DIR = "model"


def _model_dir_in(path: Path) -> Path | None:
    """The model directory that ``path`` is or holds: ``path`` itself (``elic.json`` in it), or
    ``path/model`` (a training directory of an older elicbench)."""
    for candidate in (path, path / LEGACY_EXPORT_DIR):
        if (candidate / MODEL_JSON).is_file():
            return candidate
    return None


def _model_dirs(root: Path) -> list[Path]:
    """``root`` if it is one model, else every model directly inside it (one level deep)."""
    own = _model_dir_in(root)
    if own is not None:
        return [own]
    found = (_model_dir_in(p) for p in sorted(root.iterdir()) if p.is_dir())
    return [p for p in found if p is not None]


def find_models(models: str | os.PathLike | None = None) -> tuple[str, list[ModelEntry]]:
    """(where the models came from, the models sorted by λ). Raises CodecUnavailable if none."""
    if models:
        root, source = Path(models).expanduser(), f"models option ({models})"
        if not root.is_dir():
            raise CodecUnavailable(f"ELIC models directory {root} does not exist")
    elif os.environ.get(MODELS_ENV):
        root, source = Path(os.environ[MODELS_ENV]).expanduser(), f"${MODELS_ENV} ({os.environ[MODELS_ENV]})"
        if not root.is_dir():
            raise CodecUnavailable(f"${MODELS_ENV}={root} is not a directory")
    else:
        root, source = DEMO_MODELS, DEMO_SOURCE
        if not root.is_dir():
            raise CodecUnavailable(f"no ELIC models: the demo weights ({root}) are missing; {HOW_TO_GET_MODELS}")
    entries = []
    for path in _model_dirs(root):
        info = read_model_info(path)
        lmbda = info.get("lambda")
        if lmbda is None:
            raise CodecUnavailable(f"ELIC model {path} has no lambda in its {MODEL_JSON}; "
                                   "add one (the rate point it was trained for)")
        entries.append(ModelEntry(path, float(lmbda), info))
    if not entries:
        raise CodecUnavailable(f"no ELIC model directories (with {MODEL_JSON}) in {root}; {HOW_TO_GET_MODELS}")
    entries.sort(key=lambda e: e.lmbda)
    for a, b in zip(entries, entries[1:]):
        if math.isclose(a.lmbda, b.lmbda, rel_tol=1e-9):
            raise BadCodecInput(f"ELIC models {a.path} and {b.path} both have lambda {format_quality(a.lmbda)}; "
                                "keep one model per rate point")
    return source, entries


# Loaded models of this process, shared by all codec instances: {(path, elic.json mtime): runner}.
_RUNNERS: dict[tuple[str, int], Any] = {}


def _runner(entry: ModelEntry):
    key = (str(entry.path.resolve()), (entry.path / MODEL_JSON).stat().st_mtime_ns)
    runner = _RUNNERS.get(key)
    if runner is None:
        from .export import load_model

        runner = _RUNNERS[key] = load_model(entry.path)
    return runner


def _is_demo_model(info: dict[str, Any]) -> bool:
    training = info.get("training")
    return isinstance(training, dict) and training.get("demo") is True


@register_codec("elic")
class ELICCodec(Codec):
    extension = "elic"
    quality_scale = QualityScale("lambda", 1e-5, 1.0, integer=False)
    deterministic = True
    options = {
        "models": Option(
            default="",
            help=f"directory of ELIC model directories, or one model directory "
                 f"(default: ${MODELS_ENV}, else the bundled demo weights)",
            identity=False,
        ),
        "tile": Option(
            default=DEFAULT_TILE,
            parse=int,
            help="run the transforms on tiles of at most this many pixels per side plus a halo covering "
                 "their receptive field, so memory stays bounded on large images with the result of the "
                 "whole image (up to float rounding); a multiple of 64, 0 = whole image at once",
        ),
        "max_megapixels": Option(
            default=DEFAULT_MAX_MEGAPIXELS,
            parse=float,
            help="refuse larger images with a clear error instead of running out of memory: beyond the "
                 "transform tiles, the context and parameter networks work on the whole latent (full ELIC: about "
                 f"{LATENT_GB_PER_MEGAPIXEL} GB per megapixel); 0 = no limit",
            identity=False,
        ),
    }
    summary = "ELIC learned image codec (He et al., CVPR 2022; TensorFlow + tensorflow-compression), one model per lambda"

    def __init__(self, **settings: Any):
        super().__init__(**settings)
        try:
            self.settings["tile"] = tiling.check_tile(self.settings["tile"])
        except ValueError as exc:
            raise BadCodecInput(f"{self.name}: {exc}") from None
        if not self.settings["max_megapixels"] >= 0:
            raise BadCodecInput(f"{self.name}: max_megapixels must be >= 0 (0 = no limit), "
                                f"got {self.settings['max_megapixels']}")
        self.source, self.models = find_models(self.settings["models"])
        lambdas = tuple(e.lmbda for e in self.models)
        self.quality_scale = QualityScale("lambda", min(lambdas), max(lambdas), integer=False, choices=lambdas)
        # Files name their model, so decode finds it among this instance's models.
        self._by_id = {e.info.get("model_id"): e for e in self.models}

    @classmethod
    def availability(cls) -> Availability:
        for dist in ("tensorflow", "tensorflow-compression"):
            try:
                version(dist)
            except PackageNotFoundError:
                return Availability(False, f"{dist} is not installed (pip install 'tensorflow==2.14.1' "
                                           "'tensorflow-compression==2.14.1')")
        try:
            find_models()
        except (CodecUnavailable, BadCodecInput) as exc:
            return Availability(False, str(exc))
        return Availability(True)

    @classmethod
    def availability_for(cls, settings: dict[str, Any]) -> Availability:
        """Availability with these settings: ``models=DIR`` can supply what the defaults lack."""
        base = cls.availability()
        if base or not settings.get("models") or "not installed" in base.reason:
            return base
        try:
            find_models(settings["models"])
        except (CodecUnavailable, BadCodecInput) as exc:
            return Availability(False, str(exc))
        return Availability(True)

    @classmethod
    def versions(cls) -> dict[str, str]:
        from ...tfenv import DEFAULTS, onednn_enabled

        out = {}
        for dist in ("tensorflow", "tensorflow-compression", "tensorflow-probability"):
            try:
                out[dist] = version(dist)
            except PackageNotFoundError:
                out[dist] = "not installed"
        out["TF_ENABLE_ONEDNN_OPTS"] = os.environ.get("TF_ENABLE_ONEDNN_OPTS", DEFAULTS["TF_ENABLE_ONEDNN_OPTS"])
        out["numerics"] = f"{'oneDNN' if onednn_enabled() else 'Eigen'} float32 transforms, exact fixed-point entropy parameters"
        out["elic_file_format"] = str(container.FORMAT_VERSION)
        return out

    @property
    def is_demo(self) -> bool:
        """The bundled demo weights, also when copied elsewhere (their elic.json says ``"demo": true``)."""
        return self.source == DEMO_SOURCE or all(_is_demo_model(e.info) for e in self.models)

    @property
    def display_name(self) -> str:
        """``elic (demo weights)`` for the bundled weights; otherwise what the models' elic.json
        files call them (their ``name``, else their preset), e.g. ``elic (tiny)``."""
        if self.is_demo:
            return f"{self.label} ({DEMO_SOURCE})"
        names = sorted({DEMO_SOURCE if _is_demo_model(e.info) else
                        str(e.info.get("name") or e.info.get("preset") or e.info.get("kind") or "model")
                        for e in self.models})
        return f"{self.label} ({', '.join(names)})"

    def listing_notes(self) -> list[str]:
        if self.is_demo:
            return [f"default models: the demo weights ({len(self.models)} tiny models trained on a CPU: not the "
                    "paper's ELIC and far below it; see their MODEL_CARD.md); results name them "
                    f"'{self.display_name}'; bring trained models with --elic-models DIR or ${MODELS_ENV}"]
        return [f"models: {self.source}; results name them '{self.display_name}'"]

    @property
    def plot_colour(self) -> str:
        # Never the purple of the published ELIC curve: the demo weights are not the paper's model.
        return DEMO_COLOUR if self.is_demo else TRAINED_COLOUR

    @property
    def curve_colour(self) -> str:
        # The models decide it (demo weights or trained ones), whatever the other settings.
        return self.plot_colour

    def qualities(self) -> list[float]:
        return [e.lmbda for e in self.models]

    def _entry(self, quality: float) -> ModelEntry:
        q = self.validate_quality(quality)
        for e in self.models:
            if math.isclose(e.lmbda, q, rel_tol=1e-9):
                return e
        raise BadCodecInput(f"{self.label}: no model for lambda {format_quality(q)}")

    def quality_info(self, quality: float) -> dict[str, Any]:
        e = self._entry(quality)
        info = e.info
        return {
            "model_id": info.get("model_id"),
            "kind": info.get("kind", "native"),
            "preset": info.get("preset"),
            "lambda": e.lmbda,
            "params": info.get("params"),
            "steps": info.get("steps"),
            "path": str(e.path),
        }

    def describe(self) -> dict[str, Any]:
        out = super().describe()
        out["models_source"] = self.source
        out["models"] = [self.quality_info(e.lmbda) for e in self.models]
        return out

    def check_size(self, image: np.ndarray) -> None:
        """Refuse images above ``max_megapixels`` (a CodecError: the job fails, the run goes on)."""
        limit = self.settings["max_megapixels"]
        h, w = image.shape[:2]
        megapixels = h * w / 1e6
        if limit and megapixels > limit:
            raise CodecError(
                f"{w}x{h} ({megapixels:.1f} MP) is above this codec's max_megapixels={format_quality(limit)}: "
                f"full ELIC needs about {LATENT_GB_PER_MEGAPIXEL} GB per megapixel for the entropy model on "
                f"top of the transform tiles; raise the limit with -o elic.max_megapixels=N if the memory is there")

    def encode(self, image: np.ndarray, quality: float) -> bytes:
        self.check_size(image)
        return _runner(self._entry(quality)).compress(image, tile=self.settings["tile"])

    def decode(self, data: bytes) -> np.ndarray:
        """A file is untrusted: its header is checked before the model is even loaded, the rest by
        the runner (``runner`` module docstring); every refusal is a CodecError."""
        header = container.unpack(data)
        entry = self._by_id.get(header.model_id.hex())
        if entry is None:
            known = ", ".join(f"{e.info.get('model_id')} (lambda {format_quality(e.lmbda)})" for e in self.models)
            raise CodecError(f"this ELIC file was encoded with model {header.model_id.hex()}, which is not among "
                             f"the models in use ({self.source}: {known})")
        limit = self.settings["max_megapixels"]
        megapixels = header.height * header.width / 1e6
        if limit and megapixels > limit:
            raise CodecError(
                f"this ELIC file holds a {header.width}x{header.height} image ({megapixels:.1f} MP), above this "
                f"codec's max_megapixels={format_quality(limit)}; raise the limit with -o elic.max_megapixels=N "
                "to decode it if the memory is there")
        return _runner(entry).decompress(data, max_pixels=int(limit * 1e6) if limit else None)
