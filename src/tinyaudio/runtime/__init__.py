"""Runtime: inference without TensorFlow (ai-edge-litert), run folders, streaming, speakers."""

from tinyaudio.runtime.litert import TFLiteModel
from tinyaudio.runtime.run import MODEL_FILES, Classifier, Prediction
from tinyaudio.runtime.stream import Detector, PosteriorSmoother, RingBuffer, StreamingEngine, StreamingFeatures

__all__ = [
    "MODEL_FILES",
    "Classifier",
    "Detector",
    "PosteriorSmoother",
    "Prediction",
    "RingBuffer",
    "StreamingEngine",
    "StreamingFeatures",
    "TFLiteModel",
]
