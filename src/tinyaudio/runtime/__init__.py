"""Runtime: inference without TensorFlow (ai-edge-litert), run folders, streaming."""

from tinyaudio.runtime.litert import TFLiteModel
from tinyaudio.runtime.run import MODEL_FILES, Classifier, Prediction

__all__ = ["MODEL_FILES", "Classifier", "Prediction", "TFLiteModel"]
