"""Data: dataset loaders, download with checksums, audio decoding."""

from tinyaudio.data.audio import fix_length, load_audio
from tinyaudio.data.dataset import SPLITS, Clip, Dataset, load_clips, stable_split
from tinyaudio.data.loaders import esc50, folder, fsdd, load_dataset, speech_commands

__all__ = [
    "SPLITS",
    "Clip",
    "Dataset",
    "esc50",
    "fix_length",
    "folder",
    "fsdd",
    "load_audio",
    "load_clips",
    "load_dataset",
    "speech_commands",
    "stable_split",
]
