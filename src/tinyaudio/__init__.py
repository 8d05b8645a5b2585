"""tinyaudio: from audio recordings to a tiny int8 model on a Raspberry Pi or a Cortex-M.

Pipeline stages, one sub-package each, data flowing one way::

    data -> features -> augment -> models -> train -> quantize / export -> runtime

Importing ``tinyaudio`` imports nothing heavy; TensorFlow is loaded only by ``models``,
``train`` and ``quantize``.
"""

from tinyaudio.errors import (
    AudioError,
    ConfigMismatchError,
    DatasetError,
    DownloadError,
    TinyAudioError,
)

__version__ = "0.1.0"
__all__ = ["AudioError", "DatasetError", "ConfigMismatchError", "DownloadError", "TinyAudioError", "__version__"]
