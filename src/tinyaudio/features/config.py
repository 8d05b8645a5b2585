"""`FeatureConfig`: the one description of a frontend that travels with every model."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from pathlib import Path
from typing import Any, Literal

from tinyaudio._io import dataclass_from_dict, write_text_atomic
from tinyaudio.data.audio import PADS
from tinyaudio.features.filters import mel_filterbank
from tinyaudio.errors import ConfigError, ConfigMismatchError

FeatureKind = Literal["mfcc", "logmel", "spectrogram", "mfcc_q15", "logmel_q15", "spectrogram_q15"]
_KINDS = ("mfcc", "logmel", "spectrogram", "mfcc_q15", "logmel_q15", "spectrogram_q15")
_WINDOWS = ("hann", "hamming", "rectangular")
_NORMALIZATIONS = ("none", "clip", "cmn")


#: FFT sizes ``arm_rfft_q15`` supports.
RFFT_Q15_SIZES = (32, 64, 128, 256, 512, 1024, 2048, 4096, 8192)
KINDS_Q15 = ("mfcc", "logmel", "spectrogram")

def check_q15_config(config: FeatureConfig) -> None:
    """Raise `ConfigError` naming every setting the q15 frontend cannot compute, and the fix.

    Raises:
        ConfigError: n_fft not a power of two in 32..8192 (``arm_rfft_q15``), power other than
            1.0 for mfcc / logmel (``arm_mfcc_q15`` filters the magnitude spectrum), top_db or
            normalization set (clip-level statistics, not a streaming device computation),
            an unknown window, or a mel band that covers no FFT bin.
    """
    kind = config.base_kind
    problems = []
    if kind not in KINDS_Q15:
        problems.append(f"kind={config.kind!r} has no q15 frontend; use one of {KINDS_Q15}")
    if config.n_fft not in RFFT_Q15_SIZES:
        bigger = next((n for n in RFFT_Q15_SIZES if n >= config.n_fft), RFFT_Q15_SIZES[-1])
        problems.append(
            f"n_fft={config.n_fft} is not an arm_rfft_q15 size {RFFT_Q15_SIZES}; "
            f"set n_fft={bigger} and keep win_length={config.win_length} (the window is zero-padded)"
        )
    if kind in ("mfcc", "logmel") and config.power != 1.0:
        problems.append(
            f"power={config.power}: arm_mfcc_q15 applies the mel filters to the magnitude spectrum; "
            "set power=1.0 (the float frontend then computes the same quantity)"
        )
    if config.top_db is not None:
        problems.append("top_db clips against the clip maximum, which a streaming device cannot know; set top_db=None")
    if config.normalization != "none":
        problems.append(f"normalization={config.normalization!r} needs whole-clip statistics; set normalization='none'")
    if config.window not in ("hann", "hamming", "rectangular"):
        problems.append(f"window={config.window!r} is not hann, hamming or rectangular")
    if problems:
        raise ConfigError("FeatureConfig not supported by the q15 frontend: " + "; ".join(problems))


@dataclasses.dataclass(frozen=True)
class FeatureConfig:
    """Frontend settings shared by training, evaluation, the runtime and the device.

    Saved as ``feature_config.json`` beside every model and loaded by every consumer, so the
    features a model was trained on are the features it is fed on a Raspberry Pi or an MCU.

    Attributes:
        kind: ``"mfcc"`` (n_frames, n_mfcc), ``"logmel"`` (n_frames, n_mels) or
            ``"spectrogram"`` (n_frames, n_fft // 2 + 1), log-magnitude STFT. The ``_q15``
            kinds (``"mfcc_q15"``, ``"logmel_q15"``, ``"spectrogram_q15"``) have the same shapes
            and units but are computed by the q15 CMSIS-DSP frontend of the device
            (`tinyaudio.features.q15`), so a model trains on the numbers the board computes;
            they need what that frontend needs (n_fft a power of two from 32 to 8192,
            ``power=1.0`` for mfcc / logmel, ``top_db=None``, ``normalization="none"``) and
            the ``cmsisdsp`` package (``tinyaudio[mcu]``) to compute features.
        sample_rate: Hz; audio is resampled to it on load.
        clip_duration: seconds; every clip is padded (``pad``) or cropped to
            ``round(clip_duration * sample_rate)`` samples.
        n_fft: FFT size in samples (zero-padded past ``win_length``).
        win_length: analysis window in samples, centred in the ``n_fft`` frame as librosa does.
        hop_length: samples between frame starts.
        window: ``"hann"`` (periodic, as scipy / librosa ``get_window``), ``"hamming"``
            (periodic) or ``"rectangular"``.
        center: pad ``n_fft // 2`` zeros on both sides before framing (librosa ``center=True``,
            ``pad_mode="constant"``); False frames from sample 0 as ``tf.signal.stft`` does.
        n_mels: mel bands (Slaney scale and area normalisation, librosa defaults).
        n_mfcc: cepstral coefficients kept (DCT-II, orthonormal, as librosa / scipy).
        fmin, fmax: band edges of the mel filter bank in Hz; ``fmax=None`` means Nyquist.
        power: 2.0 for power spectra (librosa ``melspectrogram`` default), 1.0 for magnitude.
        log_floor: ``amin`` of ``10 * log10(max(amin, S))`` (librosa ``power_to_db``).
        top_db: if set, clip log values to ``max - top_db`` per clip (librosa default 80 dB);
            None keeps every frame independent, which is what streaming needs.
        normalization: ``"none"``, ``"clip"`` (subtract each coefficient's mean over the
            clip and divide by the clip's overall std, cepstral mean-variance normalisation) or
            ``"cmn"`` (subtract each coefficient's mean over the clip's active frames only:
            cepstral mean normalisation, which removes a fixed microphone response and the gain;
            `tinyaudio.features.extract.frames_to_features`).
        pad: how a clip shorter than ``clip_duration`` is filled (`tinyaudio.data.audio.fix_length`):
            ``"end"``, trailing zeros; ``"centre"``, centred on a -60 dBFS noise floor (tightly
            trimmed recordings such as FSDD's digits then look like words from a microphone);
            ``"end_zero_mean"``, the clip's mean removed first, then trailing zeros (a DC offset
            would otherwise end in a step where the zeros begin).
            Streaming audio is never padded, so this only concerns whole clips.

    Source: parameter names and defaults follow ``librosa.feature`` (0.11); the Hello Edge
    49 x 10 MFCC layout is from Zhang et al. 2017, "Hello Edge: Keyword Spotting on
    Microcontrollers", arXiv:1711.07128.
    """

    kind: FeatureKind = "mfcc"
    sample_rate: int = 16000
    clip_duration: float = 1.0
    n_fft: int = 640
    win_length: int = 640
    hop_length: int = 320
    window: str = "hann"
    center: bool = False
    n_mels: int = 40
    n_mfcc: int = 10
    fmin: float = 20.0
    fmax: float | None = 4000.0
    power: float = 2.0
    log_floor: float = 1e-10
    top_db: float | None = None
    normalization: str = "none"
    pad: str = "end"

    def __post_init__(self) -> None:
        problems = []
        if self.kind not in _KINDS:
            problems.append(f"kind={self.kind!r} is not one of {_KINDS}")
        if self.window not in _WINDOWS:
            problems.append(f"window={self.window!r} is not one of {_WINDOWS}")
        if self.normalization not in _NORMALIZATIONS:
            problems.append(f"normalization={self.normalization!r} is not one of {_NORMALIZATIONS}")
        if self.pad not in PADS:
            problems.append(f"pad={self.pad!r} is not one of {PADS}")
        if self.sample_rate <= 0 or self.clip_duration <= 0:
            problems.append("sample_rate and clip_duration must be positive")
        if not 0 < self.win_length <= self.n_fft:
            problems.append(f"need 0 < win_length ({self.win_length}) <= n_fft ({self.n_fft})")
        if self.hop_length <= 0:
            problems.append("hop_length must be positive")
        if self.n_samples < self.n_fft and not self.center:
            problems.append(f"clip of {self.n_samples} samples is shorter than n_fft={self.n_fft}")
        fmax = self.fmax if self.fmax is not None else self.sample_rate / 2
        if self.base_kind != "spectrogram" and not 0 <= self.fmin < fmax <= self.sample_rate / 2:
            problems.append(f"need 0 <= fmin < fmax <= sample_rate / 2, got {self.fmin}, {fmax}")
        if self.base_kind == "mfcc" and not 0 < self.n_mfcc <= self.n_mels:
            problems.append(f"need 0 < n_mfcc ({self.n_mfcc}) <= n_mels ({self.n_mels})")
        if self.base_kind != "spectrogram" and not problems:
            # librosa only warns ("Empty filters detected"); an all-zero band is a constant feature
            bank = mel_filterbank(self.sample_rate, self.n_fft, self.n_mels, self.fmin, self.fmax)
            empty = [m for m, row in enumerate(bank) if not (row > 0).any()]
            if empty:
                shown = ", ".join(map(str, empty[:5])) + (", ..." if len(empty) > 5 else "")
                problems.append(f"{len(empty)} mel bands ({shown}) cover no FFT bin at n_fft={self.n_fft} "
                                f"({self.n_fft // 2 + 1} bins); lower n_mels ({self.n_mels}), raise fmin ({self.fmin}) or raise n_fft")
        if problems:
            raise ConfigError("invalid FeatureConfig: " + "; ".join(problems))
        if self.kind.endswith("_q15"):
            check_q15_config(self)

    # -- derived sizes -------------------------------------------------------------------
    @property
    def base_kind(self) -> str:
        """``kind`` without its ``_q15`` suffix: ``"mfcc"``, ``"logmel"`` or ``"spectrogram"``."""
        return str(self.kind).removesuffix("_q15")

    @property
    def n_samples(self) -> int:
        """Samples per clip, ``round(clip_duration * sample_rate)``."""
        return int(round(self.clip_duration * self.sample_rate))

    @property
    def n_frames(self) -> int:
        """Frames per clip (librosa framing rule)."""
        n = self.n_samples + (2 * (self.n_fft // 2) if self.center else 0)
        return 1 + (n - self.n_fft) // self.hop_length

    @property
    def n_features(self) -> int:
        """Values per frame: n_mfcc, n_mels or n_fft // 2 + 1."""
        return {"mfcc": self.n_mfcc, "logmel": self.n_mels}.get(self.base_kind, self.n_fft // 2 + 1)

    @property
    def shape(self) -> tuple[int, int]:
        """Feature matrix shape of one clip, ``(n_frames, n_features)``."""
        return (self.n_frames, self.n_features)

    # -- serialisation -------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FeatureConfig:
        """Build from a dict, refusing unknown keys (a typo must not silently become a default)."""
        return dataclass_from_dict(cls, data)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    def save(self, path: str | os.PathLike) -> None:
        """Write JSON atomically (temp file, then rename)."""
        write_text_atomic(Path(path), self.to_json() + "\n")

    @classmethod
    def load(cls, path: str | os.PathLike) -> FeatureConfig:
        """Read a JSON file written by `save`, or a preset name (`PRESETS`, `Q15_PRESETS`)."""
        if str(path) in PRESETS or str(path) in Q15_PRESETS:
            return PRESETS.get(str(path)) or Q15_PRESETS[str(path)]
        path = Path(path)
        try:
            data = json.loads(path.read_text())
        except (FileNotFoundError, IsADirectoryError):
            raise ConfigError(
                f"{path}: no such feature config file; give a JSON path or one of {sorted(PRESETS | Q15_PRESETS)}"
            ) from None
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{path}: not valid JSON ({exc}); rewrite it or use a preset") from None
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: expected a JSON object of FeatureConfig fields; rewrite it or use a preset")
        try:
            return cls.from_dict(data)
        except ConfigError as exc:
            raise ConfigError(f"{path}: {exc}") from None

    def digest(self) -> str:
        """Short stable hash of every field, used as a cache key."""
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()[:16]

    def check_matches(self, other: FeatureConfig, *, what: str = "model") -> None:
        """Raise `ConfigMismatchError` naming the first differing field.

        Raises:
            ConfigMismatchError: ``"feature config field n_mfcc differs: 13 here, 10 in model"``.
        """
        for field in dataclasses.fields(self):
            mine, theirs = getattr(self, field.name), getattr(other, field.name)
            if mine != theirs:
                raise ConfigMismatchError(
                    f"feature config field {field.name} differs: {mine!r} here, {theirs!r} in {what}; "
                    f"use the feature_config.json saved with the {what}"
                )

    def check_input_shape(self, input_shape: tuple[int, ...], *, source: str = "model") -> None:
        """Check a model input ``(batch, n_frames, n_features[, 1])`` against this config.

        Raises:
            ConfigMismatchError: naming the field (n_frames / n_features and the settings that
                set it) that disagrees with the model.
        """
        dims = [int(d) for d in input_shape[1:] if d is not None]
        if len(dims) == 3 and dims[-1] == 1:
            dims = dims[:2]
        if len(dims) != 2:
            raise ConfigMismatchError(f"{source}: input shape {tuple(input_shape)} is not (batch, frames, features[, 1])")
        frames, feats = dims
        if feats != self.n_features:
            field = {"mfcc": "n_mfcc", "logmel": "n_mels"}.get(self.base_kind, "n_fft")
            raise ConfigMismatchError(
                f"{source}: feature config field {field} gives {self.n_features} features per frame "
                f"but the model expects {feats}; use the feature_config.json saved with the model"
            )
        if frames != self.n_frames:
            raise ConfigMismatchError(
                f"{source}: feature config fields clip_duration/sample_rate/hop_length/n_fft/center give "
                f"{self.n_frames} frames but the model expects {frames}; use the feature_config.json "
                f"saved with the model"
            )


#: Named layouts. ``FeatureConfig.load("mfcc_49x10")`` returns one of these.
PRESETS: dict[str, FeatureConfig] = {
    # Hello Edge / MLPerf Tiny KWS: 40 ms window, 20 ms stride, 1 s, 10 MFCC -> (49, 10).
    "mfcc_49x10": FeatureConfig(),
    # The classic 13 x 100 MFCC CNN input: 10 ms hop, 25 ms window, 0.99 s centred -> (100, 13).
    "mfcc_13x100": FeatureConfig(
        kind="mfcc", sample_rate=16000, clip_duration=0.99, n_fft=512, win_length=400,
        hop_length=160, center=True, n_mels=40, n_mfcc=13, fmin=20.0, fmax=8000.0,
    ),
    # 16 kHz STFT, frame 256 / hop 128, no centring -> (124, 129) log-magnitude spectrogram.
    "stft_124x129": FeatureConfig(
        kind="spectrogram", sample_rate=16000, clip_duration=1.0, n_fft=256, win_length=256,
        hop_length=128, center=False, power=1.0, log_floor=1e-6, fmin=0.0, fmax=None,
    ),
    # Log-mel for sound events (ESC-50 style): 1 s at 16 kHz, 32 ms / 16 ms, 40 bands -> (61, 40).
    "logmel_61x40": FeatureConfig(
        kind="logmel", sample_rate=16000, clip_duration=1.0, n_fft=512, win_length=512,
        hop_length=256, center=False, n_mels=40, fmin=20.0, fmax=8000.0,
    ),
    # FSDD digits are 8 kHz: 40 ms / 20 ms at 8 kHz, 1 s, 13 MFCC -> (49, 13).
    "fsdd_mfcc": FeatureConfig(
        kind="mfcc", sample_rate=8000, clip_duration=1.0, n_fft=320, win_length=320,
        hop_length=160, center=False, n_mels=40, n_mfcc=13, fmin=20.0, fmax=4000.0,
    ),
    # fsdd_mfcc with cepstral mean normalisation over the speech frames (a microphone's colouring
    # and the gain removed; issue #15's unseen speakers and devices).
    "fsdd_mfcc_cmn": FeatureConfig(
        kind="mfcc", sample_rate=8000, clip_duration=1.0, n_fft=320, win_length=320,
        hop_length=160, center=False, n_mels=40, n_mfcc=13, fmin=20.0, fmax=4000.0, normalization="cmn",
    ),
    # fsdd_mfcc with every short clip centred on a quiet noise floor instead of followed by zeros
    # (FSDD's digits are trimmed tight; a microphone never delivers digital silence; issue #15).
    "fsdd_mfcc_centre": FeatureConfig(
        kind="mfcc", sample_rate=8000, clip_duration=1.0, n_fft=320, win_length=320,
        hop_length=160, center=False, n_mels=40, n_mfcc=13, fmin=20.0, fmax=4000.0, pad="centre",
    ),
    # fsdd_mfcc with each clip's DC offset removed before the trailing zeros (one FSDD speaker
    # records with a DC offset of -3.4 % of the recording's peak, which ends every digit in a step; issue #15;
    # tried, not adopted: README).
    "fsdd_mfcc_zero_mean": FeatureConfig(
        kind="mfcc", sample_rate=8000, clip_duration=1.0, n_fft=320, win_length=320,
        hop_length=160, center=False, n_mels=40, n_mfcc=13, fmin=20.0, fmax=4000.0, pad="end_zero_mean",
    ),
    # Float twin of mfcc_q15_49x10 (same fields, kind "mfcc") for the q15-vs-float comparison -> (49, 10).
    "mfcc_512_49x10": FeatureConfig(
        kind="mfcc", sample_rate=16000, clip_duration=1.0, n_fft=512, win_length=512,
        hop_length=320, center=False, n_mels=40, n_mfcc=10, fmin=20.0, fmax=4000.0, power=1.0,
    ),
}

#: Named layouts of the device's q15 CMSIS-DSP frontend (``*_q15`` kinds; computing them needs
#: ``cmsisdsp``). Kept apart from the float `PRESETS`, which all match librosa; `FeatureConfig.load`
#: accepts both names.
Q15_PRESETS: dict[str, FeatureConfig] = {
    # Hello Edge layout with n_fft 512 (arm_rfft_q15 sizes are powers of two), magnitude mel -> (49, 10).
    "mfcc_q15_49x10": FeatureConfig(
        kind="mfcc_q15", sample_rate=16000, clip_duration=1.0, n_fft=512, win_length=512,
        hop_length=320, center=False, n_mels=40, n_mfcc=10, fmin=20.0, fmax=4000.0, power=1.0,
    ),
    # FSDD at 8 kHz on the q15 frontend: 32 ms / 20 ms, 40 bands, 13 MFCC -> (49, 13) like fsdd_mfcc.
    "fsdd_mfcc_q15": FeatureConfig(
        kind="mfcc_q15", sample_rate=8000, clip_duration=1.0, n_fft=256, win_length=256,
        hop_length=160, center=False, n_mels=40, n_mfcc=13, fmin=20.0, fmax=4000.0, power=1.0,
    ),
    # The RP2040 seed's features: 16 kHz, frame 256 / hop 128, no centring, log-magnitude
    # ``arm_rfft_q15`` spectrogram -> (124, 129); the q15 twin of stft_124x129.
    "stft_q15_124x129": FeatureConfig(
        kind="spectrogram_q15", sample_rate=16000, clip_duration=1.0, n_fft=256, win_length=256,
        hop_length=128, center=False, power=1.0, log_floor=1e-6, fmin=0.0, fmax=None,
    ),
}
