"""ELIC learned codec (He et al., CVPR 2022).

Importing this registers the ``elic`` codec; TensorFlow is imported only when a model is used.
"""
from . import codec  # noqa: F401  (registers "elic")
