"""How far the q15 CMSIS-DSP frontend is from the float frontend, on real Speech Commands clips.

Prints, per kind, error percentiles in dB between ``q15_to_float(compute_features_q15(x))`` and
``compute_features(x)`` (``power=1.0``), over all frames and over "active" values: frames whose
peak sample inside the window is at least -40 dBFS and, for log-mel / spectrogram, values
within 20 dB of the frame's largest (the float value is 10 log10 of a magnitude, so 20 dB here
is 40 dB of power). Also the q15 frontend's time per clip.

Usage: python benchmarks/q15_vs_float.py [N_CLIPS]   (data from $TINYAUDIO_DATA or ../shared/datasets)
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from tinyaudio.features import FeatureConfig, compute_features
from tinyaudio.features.q15 import compute_features_q15, q15_to_float

CONFIGS = {
    "mfcc 13 x 61 (n_fft 512)": FeatureConfig(
        kind="mfcc", n_fft=512, win_length=512, hop_length=256, n_mels=40, n_mfcc=13, fmin=20.0, fmax=8000.0, power=1.0
    ),
    "logmel 40 x 61 (n_fft 512)": FeatureConfig(
        kind="logmel", n_fft=512, win_length=512, hop_length=256, n_mels=40, fmin=20.0, fmax=8000.0, power=1.0
    ),
    "mfcc 10 x 49 (n_fft 512, hop 320)": FeatureConfig(n_fft=512, win_length=512, hop_length=320, power=1.0),
    "spectrogram 124 x 129 (seed)": FeatureConfig.load("stft_124x129"),
}


def clips(n: int) -> list[np.ndarray]:
    root = Path(os.environ.get("TINYAUDIO_DATA", Path(__file__).resolve().parents[2] / "shared" / "datasets"))
    words = ("stop", "go", "yes", "no", "left", "right")
    folder = root / "speech_commands_v0.02_test_dev"
    paths = [p for w in words for p in sorted((folder / w).glob("*.wav"))[: n // len(words) + 1]]
    out = []
    for p in paths[:n]:
        x, _ = sf.read(p, dtype="int16")
        out.append(np.pad(x, (0, max(0, 16000 - len(x))))[:16000])
    return out


def active_mask(x: np.ndarray, ref_db: np.ndarray, config: FeatureConfig, kind: str) -> np.ndarray:
    frames = np.lib.stride_tricks.sliding_window_view(x, config.n_fft)[:: config.hop_length][: len(ref_db)]
    left = (config.n_fft - config.win_length) // 2
    loud = np.abs(frames[:, left : left + config.win_length].astype(np.int32)).max(axis=1) >= 328  # -40 dBFS
    mask = np.repeat(loud[:, None], ref_db.shape[1], axis=1)
    if kind != "mfcc":
        mask &= ref_db >= ref_db.max(axis=1, keepdims=True) - 20.0
    return mask


def main(n: int) -> None:
    data = clips(n)
    print(f"{len(data)} Speech Commands clips; |q15 - float| in dB: p50 / p90 / p99 / max")
    for name, config in CONFIGS.items():
        errors, active, seconds = [], [], 0.0
        for x in data:
            start = time.perf_counter()
            q = compute_features_q15(x, config)
            seconds += time.perf_counter() - start
            ref = compute_features(x.astype(np.float32) / 32768.0, config)
            err = np.abs(q15_to_float(q, config) - ref)
            errors.append(err.ravel())
            active.append(err[active_mask(x, ref, config, config.kind)])
        for label, e in (("all", np.concatenate(errors)), ("active", np.concatenate(active))):
            p = np.percentile(e, [50, 90, 99])
            print(f"  {name:38s} {label:6s} {p[0]:6.2f} {p[1]:6.2f} {p[2]:6.2f} {e.max():7.2f}   ({len(e)} values)")
        print(f"  {name:38s} {1000 * seconds / len(data):.1f} ms per clip in Python")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 60)
