"""Models: Keras 3 builder functions (the zoo). Importing this loads TensorFlow / Keras."""

from tinyaudio.models.zoo import MODELS, CosineHead, GE2EHead, bc_resnet, build_model, cnn3, cnn_mfcc, cnn_resize32, count_macs, ds_cnn, ds_cnn_stream, scaled_kwargs, speaker_embedding_model, tc_resnet, tiny_conv

__all__ = ["MODELS", "CosineHead", "GE2EHead", "bc_resnet", "build_model", "cnn3", "cnn_mfcc", "cnn_resize32", "count_macs", "ds_cnn", "ds_cnn_stream", "scaled_kwargs", "speaker_embedding_model", "tc_resnet", "tiny_conv"]
