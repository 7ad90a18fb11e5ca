"""Random-init ELIC models that code like trained ones, for tests and benchmarks.

Exactness, file-format and speed checks need no training, but a random-init model's scale-index
head outputs about 0 everywhere: every symbol is coded with the narrowest Gaussian and index
rounding is never exercised. ``spread_scale_indices`` fixes that.
"""
from __future__ import annotations


def spread_scale_indices(model, gain: float = 30.0, offset: float = 20.0) -> None:
    """Scale the index half of each group's last parameter-aggregation layer so that indices spread
    over the table (0..63) like a trained model's and rates land near the likelihoods."""
    from ...tfenv import import_tf

    tf = import_tf()
    for ep, g in zip(model.scctx.param_aggregation, model.config.groups):
        layer = ep.layers[-1]
        layer.kernel.assign(tf.concat([layer.kernel[..., :g], layer.kernel[..., g:] * gain], -1))
        layer.bias.assign(tf.concat([layer.bias[:g], layer.bias[g:] + offset], 0))


def random_model(preset: str, seed: int = 0):
    """A built model of ``preset`` with seeded random weights and spread scale indices."""
    from ...tfenv import import_tf
    from .config import get_preset
    from .model import build_model

    # Keras draws the seeds of unseeded initializers from Python's `random`: seed it too (and numpy),
    # or the "same" model differs between processes.
    import_tf().keras.utils.set_random_seed(seed)
    model = build_model(get_preset(preset))
    spread_scale_indices(model)
    return model
