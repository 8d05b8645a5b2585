"""Train: the training configuration, the training data as arrays, and the one fit loop.

The run folder, quantization and evaluation are later stages; `tinyaudio.pipeline.train` strings
them together.
"""

from tinyaudio.train.config import TrainConfig
from tinyaudio.train.data import Split, load_training_data, split_arrays
from tinyaudio.train.fit import class_weights, fit, set_seeds

__all__ = ["Split", "TrainConfig", "class_weights", "fit", "load_training_data", "set_seeds", "split_arrays"]
