"""Every exception tinyaudio raises on bad input. Each message is one line naming the file and what to do.

The CLI catches `TinyAudioError` (one handler in `tinyaudio.cli`) and prints the message without a
traceback; anything else is a bug.
"""


class TinyAudioError(Exception):
    """Base class of every error tinyaudio raises on bad input."""


class ConfigError(TinyAudioError, ValueError):
    """A setting is out of range or unknown (a `FeatureConfig` / `TrainConfig` field, a CLI option)."""


class ConfigMismatchError(TinyAudioError):
    """A model and a FeatureConfig (or two configs) disagree on a field."""


class AudioError(TinyAudioError):
    """An audio file or array cannot be used: corrupt, empty, NaN, wrong shape or rate."""


class DownloadError(TinyAudioError):
    """A download failed or its size / sha256 does not match the manifest."""


class DatasetError(TinyAudioError):
    """A dataset folder is missing, has an unexpected layout, or a label is unknown."""


class RunFolderError(TinyAudioError):
    """A run folder is missing a file, is not a tinyaudio run folder, or exists where one is to be written."""


class FolderExistsError(RunFolderError, FileExistsError):
    """An output folder exists (no ``--overwrite``) or holds files tinyaudio did not write."""


class CodegenError(TinyAudioError):
    """The model cannot be turned into plain C (unsupported op, dtype or layout)."""


class StreamingError(TinyAudioError):
    """A model's time axis does not stream (an op looks ahead in time, or mixes frames)."""


class BuildError(TinyAudioError):
    """A C toolchain, a source, or a compile / run step is missing or failed."""


class ExportError(TinyAudioError):
    """The run folder cannot be exported for a microcontroller (missing file, unsupported frontend)."""


class McuCheckError(TinyAudioError):
    """The model does not load in TFLite Micro (unsupported op, corrupt file, arena too small)."""


class MicrophoneError(TinyAudioError):
    """No usable input device: PortAudio or sounddevice missing, or no microphone."""


class UploadError(TinyAudioError):
    """An uploaded clip or a label / file name was refused; the message says why in one line."""


class SynthesisError(TinyAudioError):
    """A text-to-speech engine is missing or failed, or the text cannot be spoken."""
