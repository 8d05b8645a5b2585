"""Exceptions raised by tinyaudio. Every message is one line naming the file and what to do."""


class TinyAudioError(Exception):
    """Base class of every error tinyaudio raises on bad input."""


class AudioError(TinyAudioError):
    """An audio file or array cannot be used: corrupt, empty, NaN, wrong shape or rate."""


class ConfigMismatchError(TinyAudioError):
    """A model and a FeatureConfig (or two configs) disagree on a field."""


class DownloadError(TinyAudioError):
    """A download failed or its size / sha256 does not match the manifest."""


class DatasetError(TinyAudioError):
    """A dataset folder is missing, has an unexpected layout, or a label is unknown."""
