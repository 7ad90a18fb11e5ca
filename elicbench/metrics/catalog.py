"""The registry of metrics, and the quantities RD curves are drawn in.

A *metric* gives one value per (reference, decoded) image pair; ``elicbench run --metrics`` picks
which ones fill results.csv (one column each, named after the metric). ``@register_metric("name")``
on a :class:`Metric` subclass adds one; third-party packages add theirs through the
``elicbench.metrics`` entry-point group, e.g. in their pyproject.toml::

    [project.entry-points."elicbench.metrics"]
    mymetric = "mypkg.metric:MyMetric"

An *axis* is what an RD point shows of a metric, aggregated over the images of a point (the one
rule used by summary.csv, the report, the matched-rate table, the plots and ``check``):

- every metric has the axis of its own name: the mean of the finite per-image values (an image
  with an infinite value, e.g. PSNR of a lossless image, is left out and counted);
- a metric with a display transform (MS-SSIM) also has the display axis (``ms_ssim_db``): the
  transform of the mean of the per-image values; this is what its plots and BD-rates use;
- an MSE-based metric (PSNR) also has the pooled axis (``psnr_pooled``): PSNR of the MSE pooled over
  every pixel of the point's images (CLIC's rule; lossless images count with MSE 0).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from importlib import metadata
from types import FunctionType
from typing import Any, Callable, ClassVar

import numpy as np

from ..registry import Registry, UnknownNameError
from .common import MetricUndefined, check_pair


class UnknownMetricError(UnknownNameError, ValueError):
    """A metric or axis name nobody registered (exit 2; the message lists the known ones)."""


class Metric:
    """A full-reference image-quality metric on 8-bit RGB images (0..255).

    Subclasses set the class attributes and implement :meth:`compute`; ``name`` is set by the
    registry. One instance is made per worker process, so a metric may keep state (a loaded model).
    A metric that is one function of the two images can be registered with
    :func:`register_metric_function` instead of a subclass.
    """

    name: ClassVar[str] = ""
    #: Axis label without the unit, e.g. "PSNR (RGB)".
    label: ClassVar[str] = ""
    #: Unit of the per-image value ("dB", "" for a score).
    unit: ClassVar[str] = ""
    higher_is_better: ClassVar[bool] = True
    #: Smallest image side (pixels) the metric is defined for; smaller images get no value (a note).
    min_side: ClassVar[int] = 1
    #: Defined on RGB images (H, W, 3) only; other shapes are refused before ``compute``.
    needs_rgb: ClassVar[bool] = False
    #: The distribution that computes it (its version goes into the manifest); "elicbench": our own code.
    library: ClassVar[str] = "elicbench"
    #: The reference the implementation follows / is tested against (README's table).
    reference: ClassVar[str] = ""
    #: Display axis: (name, label, unit, transform of the mean), e.g. MS-SSIM in dB; None: the mean itself.
    display: ClassVar[tuple[str, str, str, Callable[[float], float]] | None] = None
    #: For a PSNR: the function pooling per-image values over a point's pixels (values, pixels) -> value;
    #: then an axis ``<name>_pooled`` exists (``mse.pooled_psnr``: PSNR of the pooled MSE).
    pooled: ClassVar[Callable | None] = None
    #: Drawn by ``elicbench plot`` when the results have it (PSNR-Y is not, as before).
    plotted: ClassVar[bool] = True
    #: ``elicbench check``: the largest change of a per-image value that still passes.
    check_tolerance: ClassVar[float] = 1e-6

    @classmethod
    def available(cls) -> str | None:
        """None when the metric can run here, else why not (e.g. an optional package missing)."""
        if cls.library == "elicbench":
            return None
        try:
            metadata.version(cls.library)
        except metadata.PackageNotFoundError:
            return f"needs the Python package {cls.library!r} (pip install {cls.library})"
        return None

    @classmethod
    def version(cls) -> str:
        from .. import __version__

        name = cls.library
        try:
            return metadata.version(name) if name != "elicbench" else __version__
        except metadata.PackageNotFoundError:
            return "not installed"

    def compute(self, ref: np.ndarray, dist: np.ndarray) -> float:
        raise NotImplementedError

    def __call__(self, ref: np.ndarray, dist: np.ndarray) -> float:
        """The value for one pair; :class:`MetricUndefined` for an image below ``min_side``."""
        ref, dist = check_pair(ref, dist)
        if self.needs_rgb and (ref.ndim != 3 or ref.shape[2] != 3):
            raise ValueError(f"{self.label} needs RGB images (H, W, 3), got {ref.shape}")
        h, w = ref.shape[:2]
        if min(h, w) < self.min_side:
            raise MetricUndefined(self.too_small(w, h))
        return float(self.compute(ref, dist))

    def too_small(self, width: int, height: int) -> str:
        """Why an image of this size has no value (the note its row gets)."""
        return f"{self.label} needs at least {self.min_side}x{self.min_side} pixels; image is {width}x{height}"

    @classmethod
    def display_axis(cls) -> str:
        """The axis the metric is shown and compared in (its plots, BD-rates)."""
        return cls.display[0] if cls.display else cls.name


METRICS: Registry[type[Metric]] = Registry("metric", entry_point_group="elicbench.metrics")
register_metric = METRICS.register


def register_metric_function(name: str, **attributes: Any) -> Callable[[Callable], Callable]:
    """Decorator: register the function ``f(ref, dist) -> float`` as the metric ``name``.

    The metric is a :class:`Metric` whose ``compute`` is the function and whose class attributes
    (``label``, ``unit``, ``reference`` ...) are ``attributes``; the class is named after the
    function (``psnr_y`` -> ``PsnrY``). The function itself is returned unchanged, for direct calls.
    A metric that needs more than one function (its own ``too_small``, say) subclasses Metric.
    """
    unknown = sorted(key for key in attributes if key == "name" or key not in Metric.__annotations__)
    if unknown:
        raise TypeError(f"metric {name!r}: unknown Metric attribute(s) {', '.join(unknown)}")

    def decorator(function: Callable) -> Callable:
        body = {key: staticmethod(value) if isinstance(value, FunctionType) else value   # stay plain functions
                for key, value in attributes.items()}
        cls_name = "".join(part.capitalize() for part in function.__name__.split("_"))
        cls = type(cls_name, (Metric,), {**body, "compute": staticmethod(function), "__doc__": function.__doc__,
                                         "__module__": function.__module__, "__qualname__": cls_name})
        register_metric(name, cls)
        return function

    return decorator


#: The metrics of a run without --metrics: today's columns (old run directories stay valid).
DEFAULT_METRICS = ("psnr", "psnr_y", "ms_ssim")


def get_metric(name: str) -> type[Metric]:
    return METRICS.get(name)


def metric_names() -> list[str]:
    return METRICS.names()


def check_metric_names(names) -> list[str]:
    """The names, checked (UnknownNameError lists the known ones) and without repeats."""
    out: list[str] = []
    for name in names:
        get_metric(name)
        if name not in out:
            out.append(name)
    return out


# ---- axes: how RD points aggregate a metric ------------------------------------------------------
MEAN = "mean"                   # mean of the finite per-image values
DISPLAY_OF_MEAN = "display"     # the display transform of the mean of the per-image values
POOLED_MSE = "pooled_mse"       # PSNR of the pooled MSE (per-image PSNRs -> MSE -> weighted mean)


@dataclass(frozen=True)
class Axis:
    """A quantity an RD point has: which results column it reads and how it aggregates it."""

    name: str
    column: str
    label: str          # with the unit, for axes and tables: "MS-SSIM [dB]"
    unit: str
    higher_is_better: bool
    rule: str
    #: DISPLAY_OF_MEAN: mean -> shown value; POOLED_MSE: (values, pixels) -> pooled value.
    transform: Callable | None = None

    @property
    def short_label(self) -> str:
        return self.label.split(" [")[0]

    @property
    def counts_lossless(self) -> bool:
        """Whether rows with an infinite per-image value (lossless) count (pooled and display axes)."""
        return self.rule in (POOLED_MSE, DISPLAY_OF_MEAN)

    def point_value(self, values: np.ndarray, pixels: np.ndarray | None = None) -> float:
        """The value of one RD point from its images' per-image values (``pixels``: their sizes)."""
        values = np.asarray(values, dtype=float)
        if self.rule == POOLED_MSE:
            return self.transform(values, pixels) if values.size else math.nan
        finite = values[np.isfinite(values)]
        mean = float(finite.mean()) if finite.size else math.nan
        return self.transform(mean) if self.rule == DISPLAY_OF_MEAN else mean


def _with_unit(label: str, unit: str) -> str:
    return f"{label} [{unit}]" if unit else label


def axes() -> dict[str, Axis]:
    """Every axis of every registered metric, by name."""
    out: dict[str, Axis] = {}
    for name in metric_names():
        m = get_metric(name)
        out[name] = Axis(name, name, _with_unit(m.label, m.unit), m.unit, m.higher_is_better, MEAN)
        if m.display:
            shown, label, unit, transform = m.display
            out[shown] = Axis(shown, name, _with_unit(label, unit), unit, m.higher_is_better, DISPLAY_OF_MEAN,
                              transform)
        if m.pooled:
            out[f"{name}_pooled"] = Axis(f"{name}_pooled", name, _with_unit(f"{m.label} of the pooled MSE", m.unit),
                                         m.unit, True, POOLED_MSE, m.pooled)
    return out


def get_axis(name: str) -> Axis:
    """The axis ``name``; UnknownNameError (listing the known axes) for anything else."""
    known = axes()
    if name not in known:
        import difflib

        close = difflib.get_close_matches(name, list(known), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise UnknownMetricError(f"unknown metric {name!r}.{hint} Known: {', '.join(known)}")
    return known[name]


def axes_of(metric_columns) -> list[str]:
    """The axes RD points get for these results columns (metric names), in registry order."""
    present = set(metric_columns)
    return [a.name for a in axes().values() if a.column in present]


def measure(ref: np.ndarray, dist: np.ndarray, names, instances: dict | None = None) -> tuple[dict[str, float], list[str]]:
    """Per-image values of the metrics ``names`` (plus ``ms_ssim_db``-style display columns), and a
    note per metric that has no value for this image (too small, ...): undefined is NaN, not a crash.

    ``instances``: a cache of metric objects (a worker keeps one per process).
    """
    instances = {} if instances is None else instances
    values: dict[str, float] = {}
    notes: list[str] = []
    for name in names:
        cls = get_metric(name)
        metric = instances.get(name)
        if metric is None:
            metric = instances[name] = cls()
        try:
            values[name] = metric(ref, dist)
        except MetricUndefined as exc:
            values[name] = math.nan
            notes.append(f"{name}: {exc}")
        if cls.display:
            values[cls.display[0]] = cls.display[3](values[name])
    return values, notes
