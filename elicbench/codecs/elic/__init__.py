"""ELIC learned codec (He et al., CVPR 2022). Importing this registers the ``elic`` codec; TensorFlow loads lazily."""
