"""What a codec is, for elicbench.

A codec turns an RGB uint8 image (H, W, 3) into bytes and back at a quality value. Everything
that changes its output (subsampling, speed, effort, the model file ...) is an *option*; the
options' values become part of the codec's identity in results and manifests, so two runs with
different settings are never mistaken for each other.
"""
from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Callable, ClassVar, Sequence

import numpy as np

from ..errors import CodecError, UserError  # noqa: F401  (CodecError: re-exported for codec authors)


class CodecUnavailable(UserError):
    """The codec cannot run here (missing plug-in, no models ...); the message says how to fix it.

    Checked before any job runs (``runner.prepare_codec``); should it still happen inside a job
    (a model file removed mid-run), the worker records it in that row like any other failure.
    """


class BadCodecInput(UserError, ValueError):
    """Bad user input: unknown option, quality out of range ..."""


@dataclass(frozen=True)
class QualityScale:
    """The codec's rate knob as its library calls it.

    ``integer`` scales accept only whole numbers. ``higher_means_more_bits`` is False for knobs
    like a quantiser (higher = coarser). ``choices`` restricts to a discrete set (e.g. the
    lambdas of the ELIC models found); ``low``/``high`` then just bound them.
    """

    name: str
    low: float
    high: float
    integer: bool = True
    higher_means_more_bits: bool = True
    choices: tuple[float, ...] | None = None

    def validate(self, value: Any, codec: str = "codec") -> int | float:
        try:
            v = float(value)
        except (TypeError, ValueError):
            raise BadCodecInput(f"{codec}: {self.name} must be a number, got {value!r}") from None
        if math.isnan(v):
            raise BadCodecInput(f"{codec}: {self.name} must be a number, got NaN")
        if self.integer:
            if v != int(v):
                raise BadCodecInput(f"{codec}: {self.name} must be a whole number, got {value!r}")
            v = int(v)
        if self.choices is not None:
            if not any(math.isclose(v, c, rel_tol=1e-9, abs_tol=0.0) for c in self.choices):
                shown = ", ".join(format_quality(c) for c in self.choices)
                raise BadCodecInput(f"{codec}: {self.name} {format_quality(v)} is not available; choose from {shown}")
            return v
        if not (self.low <= v <= self.high):
            raise BadCodecInput(
                f"{codec}: {self.name} {format_quality(v)} is out of range "
                f"[{format_quality(self.low)}, {format_quality(self.high)}]"
            )
        return v


def format_quality(q: float | int) -> str:
    """Canonical text of a quality value (CSV, labels): 75 -> '75', 0.0016 -> '0.0016'."""
    if isinstance(q, (int, np.integer)) or float(q).is_integer():
        return str(int(q))
    return f"{float(q):.10g}"


@dataclass(frozen=True)
class Option:
    """A setting of a codec. ``identity=True`` when it changes the output bytes."""

    default: Any
    help: str
    choices: tuple[Any, ...] | None = None
    parse: Callable[[str], Any] = str
    identity: bool = True


@dataclass(frozen=True)
class Availability:
    ok: bool
    reason: str = ""

    def __bool__(self) -> bool:
        return self.ok


class Codec(ABC):
    """Base class. Subclasses set the class attributes and implement encode/decode.

    Register with ``@register_codec("name")`` (see ``elicbench.codecs``); the name is set on the
    class by the registry. Instances are cheap to create and are created once per worker.
    """

    name: ClassVar[str] = "?"
    #: File extension of the stored bitstream (without dot), e.g. "jpg".
    extension: ClassVar[str] = "bin"
    quality_scale: ClassVar[QualityScale]
    #: The default sweep, chosen so Kodak spans about 0.1-2 bpp where the codec can.
    default_qualities: ClassVar[Sequence[float]] = ()
    #: Same input + options + library versions -> identical bytes. `check` compares bytes exactly then.
    deterministic: ClassVar[bool] = True
    options: ClassVar[dict[str, Option]] = {}
    #: One line for `elicbench list`.
    summary: ClassVar[str] = ""
    #: Colour of this codec's curves in plots (a matplotlib colour), recorded in the manifest so
    #: that plots, which read only run directories, draw it the same everywhere. None: picked from the label.
    plot_colour: ClassVar[str | None] = None

    def __init__(self, **settings: Any):
        unknown = set(settings) - set(self.options)
        if unknown:
            known = ", ".join(sorted(self.options)) or "none"
            raise BadCodecInput(f"{self.name}: unknown option(s) {', '.join(sorted(unknown))}; options: {known}")
        self.settings: dict[str, Any] = {}
        for key, opt in self.options.items():
            value = settings.get(key, opt.default)
            if isinstance(value, str) and opt.parse is not str:
                try:
                    value = opt.parse(value)
                except (TypeError, ValueError):
                    raise BadCodecInput(f"{self.name}: option {key}={value!r} is not valid") from None
            if opt.choices is not None and value not in opt.choices:
                shown = ", ".join(map(str, opt.choices))
                raise BadCodecInput(f"{self.name}: option {key}={value!r} not in {{{shown}}}")
            self.settings[key] = value

    # --- identity -----------------------------------------------------------------------------
    @property
    def identity_settings(self) -> dict[str, Any]:
        return {k: v for k, v in self.settings.items() if self.options[k].identity}

    @property
    def changed_settings(self) -> dict[str, Any]:
        """Output-changing settings that differ from their defaults (what the user chose)."""
        return {k: v for k, v in sorted(self.identity_settings.items()) if v != self.options[k].default}

    @property
    def label(self) -> str:
        """Name plus non-default output-changing settings: 'jpeg' or 'jpeg[subsampling=4:4:4]'."""
        changed = [f"{k}={v}" for k, v in self.changed_settings.items()]
        return f"{self.name}[{','.join(changed)}]" if changed else self.name

    @property
    def display_name(self) -> str:
        """What a reader sees in tables and legends; the label unless the codec says more
        (ELIC names its models: ``elic (demo weights)``)."""
        return self.label

    @property
    def curve_colour(self) -> str | None:
        """The colour recorded for this instance's curves: the codec's ``plot_colour`` with its
        default settings; with others None (plots pick one from the label), so that ``jpeg`` and
        ``jpeg[subsampling=4:4:4]`` are told apart on one plot."""
        return None if self.changed_settings else self.plot_colour

    def listing_notes(self) -> list[str]:
        """Extra lines for `elicbench list` about this instance (ELIC: which models it uses by default)."""
        return []

    @property
    def settings_text(self) -> str:
        """All output-changing settings, canonical, for the results' ``codec_settings`` column."""
        return ";".join(f"{k}={v}" for k, v in sorted(self.identity_settings.items()))

    # --- environment --------------------------------------------------------------------------
    @classmethod
    def availability(cls) -> Availability:
        return Availability(True)

    @classmethod
    def availability_for(cls, settings: dict[str, Any]) -> Availability:
        """Availability with these settings (a codec whose options can supply what its defaults
        lack, e.g. ELIC's ``models=DIR``, overrides this)."""
        return cls.availability()

    @classmethod
    def versions(cls) -> dict[str, str]:
        """Library versions that determine the output, e.g. {'pillow': ..., 'libjpeg-turbo': ...}."""
        return {}

    def qualities(self) -> list[float]:
        """Default sweep for this instance (may depend on settings, e.g. the models found)."""
        return list(self.default_qualities)

    def quality_info(self, quality: float) -> dict[str, Any]:
        """Extra facts about one rate point for the manifest (e.g. the ELIC model id)."""
        return {}

    def describe(self) -> dict[str, Any]:
        """Everything the manifest records about this codec instance."""
        return {
            "name": self.name,
            "label": self.label,
            "display_name": self.display_name,
            "plot_colour": self.curve_colour,
            "settings": dict(self.settings),
            "changed_settings": self.changed_settings,
            "settings_text": self.settings_text,
            "quality": {
                "name": self.quality_scale.name,
                "low": self.quality_scale.low,
                "high": self.quality_scale.high,
                "higher_means_more_bits": self.quality_scale.higher_means_more_bits,
            },
            "deterministic": self.deterministic,
            "versions": self.versions(),
        }

    def validate_quality(self, q: Any) -> int | float:
        return self.quality_scale.validate(q, self.label)

    # --- the work -----------------------------------------------------------------------------
    @abstractmethod
    def encode(self, image: np.ndarray, quality: float) -> bytes:
        """RGB uint8 (H, W, 3) -> the complete stored file, headers included."""

    @abstractmethod
    def decode(self, data: bytes) -> np.ndarray:
        """The stored file's bytes only -> RGB uint8 (H, W, 3)."""
