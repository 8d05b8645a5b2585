"""Pipeline: the orchestration above the stages.

`train` strings data -> features -> augment -> fit -> quantize -> export -> evaluate into one run
folder; `fire_alarm_recipe` chains several runs; `export_embedding` adds a speaker run's embedding
model. The CLI and the web page call these; the stages never import this package.
"""

from tinyaudio.pipeline.recipes import FireAlarmRecipe, fire_alarm_recipe
from tinyaudio.pipeline.speaker import export_embedding, write_embedding
from tinyaudio.pipeline.train import train
from tinyaudio.train.config import TrainConfig

__all__ = ["FireAlarmRecipe", "TrainConfig", "export_embedding", "fire_alarm_recipe", "train", "write_embedding"]
