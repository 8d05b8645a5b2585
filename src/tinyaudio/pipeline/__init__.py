"""Pipeline: the orchestration above the stages.

`train` strings data -> features -> augment -> fit -> quantize -> export -> evaluate into one run
folder; `fire_alarm_recipe` chains several runs; `export_embedding` adds a speaker run's embedding
model; `export_run` hands a run to the exporter. The CLI and the web page call these; the stages never import this package.
"""

from tinyaudio.pipeline.export import export_run, run_model_inputs
from tinyaudio.pipeline.recipes import FireAlarmRecipe, fire_alarm_recipe
from tinyaudio.pipeline.speaker import evaluate_verification_run, export_embedding, train_speaker_embedding, write_embedding
from tinyaudio.pipeline.train import train
from tinyaudio.train.config import TrainConfig

__all__ = ["FireAlarmRecipe", "TrainConfig", "evaluate_verification_run", "export_embedding", "export_run", "fire_alarm_recipe", "run_model_inputs", "train", "train_speaker_embedding", "write_embedding"]
