"""Models: Keras 3 builder functions (the zoo). Importing this loads TensorFlow / Keras."""

from tinyaudio.models.zoo import MODELS, build_model, cnn3, cnn_mfcc, cnn_resize32, count_macs, ds_cnn, tiny_conv

__all__ = ["MODELS", "build_model", "cnn3", "cnn_mfcc", "cnn_resize32", "count_macs", "ds_cnn", "tiny_conv"]
