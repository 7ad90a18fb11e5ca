"""Building blocks of ELIC (docs/elic-design.md §1, §3): the residual bottleneck and simplified
attention that the paper stacks in its main transforms, and the checkerboard-masked 5x5
convolution of the spatial context (the checkerboard context of He et al., CVPR 2021, that ELIC
combines with its channel groups).

Imports TensorFlow: only the paths that code or train import this module.
"""
from __future__ import annotations

import numpy as np

from elicbench.tfenv import import_tf

tf = import_tf()
keras = tf.keras


def checkerboard_kernel_mask(size: int) -> np.ndarray:
    """1 where (row + col) of a size x size kernel is odd, else 0 (centre excluded).

    An output at a non-anchor position ((row+col) even) then reads only anchor inputs
    ((row+col) odd): kernel offset parity odd flips the parity of the position.
    """
    if size % 2 != 1:
        raise ValueError(f"checkerboard kernel size must be odd, got {size}")
    r, c = np.indices((size, size))
    return ((r + c) % 2 == 1).astype("float32")


class ResidualBottleneck(keras.layers.Layer):
    """x + conv1x1(c) ∘ ReLU ∘ conv3x3(c/2) ∘ ReLU ∘ conv1x1(c/2) (x)."""

    def __init__(self, channels: int, **kwargs):
        super().__init__(**kwargs)
        self.channels = channels
        half = max(channels // 2, 1)
        self.branch = [
            keras.layers.Conv2D(half, 1, padding="same", activation="relu", name="reduce"),
            keras.layers.Conv2D(half, 3, padding="same", activation="relu", name="conv"),
            keras.layers.Conv2D(channels, 1, padding="same", name="expand"),
        ]

    def call(self, x):
        h = x
        for layer in self.branch:
            h = layer(h)
        return x + h

    def get_config(self):
        return {**super().get_config(), "channels": self.channels}


class SimpleAttention(keras.layers.Layer):
    """Cheng 2020's attention without the non-local part: x + trunk(x) · sigmoid(gate(x))."""

    def __init__(self, channels: int, num_rbs: int = 3, **kwargs):
        super().__init__(**kwargs)
        self.channels = channels
        self.num_rbs = num_rbs
        self.trunk = [ResidualBottleneck(channels, name=f"trunk_rb{i}") for i in range(num_rbs)]
        self.gate = [ResidualBottleneck(channels, name=f"gate_rb{i}") for i in range(num_rbs)]
        self.gate_out = keras.layers.Conv2D(channels, 1, padding="same", activation="sigmoid", name="gate_out")

    def call(self, x):
        t = x
        for layer in self.trunk:
            t = layer(t)
        g = x
        for layer in self.gate:
            g = layer(g)
        return x + t * self.gate_out(g)

    def get_config(self):
        return {**super().get_config(), "channels": self.channels, "num_rbs": self.num_rbs}


class CheckerboardConv2D(keras.layers.Conv2D):
    """Conv2D whose kernel is multiplied by a constant checkerboard mask at every call.

    The reference re-assigns kernel*mask into the variable inside ``call`` (a side effect);
    a constant mask keeps the layer pure, so masked taps simply get zero gradient.
    """

    def __init__(self, filters: int, kernel_size: int = 5, **kwargs):
        kwargs.setdefault("padding", "same")
        super().__init__(filters, kernel_size, **kwargs)
        if self.kernel_size[0] != self.kernel_size[1]:
            raise ValueError("checkerboard kernels must be square")
        self._mask = checkerboard_kernel_mask(self.kernel_size[0])[:, :, None, None]

    def convolution_op(self, inputs, kernel):
        kernel = tf.convert_to_tensor(kernel)  # reads the compute dtype under mixed precision
        return super().convolution_op(inputs, kernel * tf.constant(self._mask, dtype=kernel.dtype))
