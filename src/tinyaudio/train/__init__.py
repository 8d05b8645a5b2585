"""Train: the training loop, metrics and run-folder evaluation."""

from tinyaudio.train.evaluate import evaluate_run
from tinyaudio.train.metrics import binary_metrics, classification_metrics, confusion_matrix
from tinyaudio.train.trainer import TrainConfig, train

__all__ = ["TrainConfig", "binary_metrics", "classification_metrics", "confusion_matrix", "evaluate_run", "train"]
