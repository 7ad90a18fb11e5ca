"""ELIC model configurations (pure Python: importing this never imports TensorFlow).

``full`` is the architecture of docs/elic-design.md §1-3 (the TF2 reference, about 35.6 M parameters).
``tiny`` keeps every structural element (uneven channel groups with full channel context,
checkerboard spatial context, attention blocks, hyperprior) but is narrow enough to train on
two CPU cores.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any

#: The eight MSE rate points of the ELIC paper (λ in L = bpp + λ·MSE, MSE on the 0..255 scale).
PAPER_LAMBDAS = (0.0004, 0.0008, 0.0016, 0.0032, 0.0075, 0.015, 0.03, 0.045)

#: Input sizes must be multiples of this inside the model (y is /16, z is /64, and the
#: checkerboard needs an even y). The codec pads to it and crops back.
SIZE_MULTIPLE = 64


@dataclass(frozen=True)
class ELICConfig:
    preset: str = "full"
    #: Width of the main transforms (g_a / g_s hidden layers).
    N: int = 192
    #: Channels of the latent y.
    M: int = 320
    #: Uneven channel groups of y, coded in this order (sum = M).
    groups: tuple[int, ...] = (16, 16, 32, 64, 192)
    #: Residual bottleneck blocks per stage of g_a / g_s, and per branch of an attention block.
    num_rbs: int = 3
    #: Channels of the hyper-latent z.
    hyper_channels: int = 192
    #: Hidden widths of h_a (3x3 s1, 5x5 s2; then 5x5 s2 to ``hyper_channels``).
    h_a_widths: tuple[int, int] = (320, 256)
    #: Hidden widths of h_s (5x5 up2, 5x5 up2; then 3x3 s1 to ``hyper_out``).
    h_s_widths: tuple[int, int] = (320, 480)
    #: Channels of the hyperprior output Ψ (reference: 2·M).
    hyper_out: int = 640
    #: The reference's h_s ends in a ReLU (ms2020 heritage); the paper's does not.
    hyper_out_relu: bool = True
    #: Hidden widths of the channel-context transforms g_ch (5x5, 5x5; then 3x3 to 2·g_k).
    channel_context_widths: tuple[int, int] = (224, 128)
    #: Hidden widths of the parameter aggregation, as multiples of the group size g_k.
    param_hidden_factors: tuple[int, int] = (3, 2)
    #: Scale table of the conditional Gaussian: ``num_scales`` log-spaced values in [scale_min, scale_max].
    num_scales: int = 64
    scale_min: float = 0.11
    scale_max: float = 256.0

    def __post_init__(self) -> None:
        # JSON round trips turn tuples into lists; normalise so equality and hashing work.
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, list):
                object.__setattr__(self, f.name, tuple(value))
        if sum(self.groups) != self.M:
            raise ValueError(f"ELIC config {self.preset!r}: groups {self.groups} sum to {sum(self.groups)}, not M={self.M}")
        if any(g <= 0 for g in self.groups):
            raise ValueError(f"ELIC config {self.preset!r}: every channel group needs at least one channel")
        if not (0 < self.scale_min < self.scale_max) or self.num_scales < 2:
            raise ValueError(f"ELIC config {self.preset!r}: bad scale table "
                             f"({self.num_scales} scales in [{self.scale_min}, {self.scale_max}])")

    @property
    def num_groups(self) -> int:
        return len(self.groups)

    def scale_table(self) -> list[float]:
        """The scales the scale indices 0..num_scales-1 stand for (log-spaced)."""
        lo, hi = math.log(self.scale_min), math.log(self.scale_max)
        step = (hi - lo) / (self.num_scales - 1)
        return [math.exp(lo + i * step) for i in range(self.num_scales)]

    def to_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ELICConfig":
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown ELIC config field(s): {', '.join(sorted(unknown))}")
        return cls(**data)


PRESETS: dict[str, ELICConfig] = {
    "full": ELICConfig(),
    # Same structure, narrow enough to train at >= 2 steps/s (batch 8, 128x128) on 2 CPU cores:
    # one RB per stage (and per attention branch), N=32, M=96 in uneven groups 1:1:2:4:16.
    "tiny": ELICConfig(
        preset="tiny",
        N=32,
        M=96,
        groups=(4, 4, 8, 16, 64),
        num_rbs=1,
        hyper_channels=64,
        h_a_widths=(96, 64),
        h_s_widths=(64, 96),
        hyper_out=192,
        channel_context_widths=(64, 48),
    ),
}


def get_preset(name: str) -> ELICConfig:
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown ELIC preset {name!r}; choose from {', '.join(PRESETS)}") from None
