"""Feature-extraction throughput, clips per second: tinyaudio (vectorised NumPy) vs librosa.

Same 1 s Speech Commands clips, same MFCC parameters (preset mfcc_49x10), 2-core host.
Run: TINYAUDIO_DATA=../shared/datasets python benchmarks/features_speed.py [n_clips]
"""

import os
import sys
import time
from pathlib import Path

import librosa
import numpy as np

from tinyaudio.data import fix_length, load_audio
from tinyaudio.features import PRESETS, compute_features, compute_features_batch


def main(n_clips: int = 500) -> None:
    root = Path(os.environ.get("TINYAUDIO_DATA", "../shared/datasets")) / "speech_commands_v0.02_test_dev"
    paths = sorted(root.glob("*/*.wav"))[:n_clips]
    c = PRESETS["mfcc_49x10"]
    clips = np.stack([fix_length(load_audio(p, c.sample_rate), c.n_samples) for p in paths])

    def ours_batch():
        return compute_features_batch(clips, c)

    def ours_single():
        return [compute_features(x, c) for x in clips]

    def ref():
        return [librosa.feature.mfcc(y=x, sr=c.sample_rate, n_mfcc=c.n_mfcc, n_fft=c.n_fft, win_length=c.win_length,
                                     hop_length=c.hop_length, center=c.center, n_mels=c.n_mels, fmin=c.fmin,
                                     fmax=c.fmax, htk=False) for x in clips]

    print(f"MFCC 49x10 on {len(clips)} clips of 1 s at 16 kHz")
    for name, fn in (("tinyaudio batch", ours_batch), ("tinyaudio per clip", ours_single), ("librosa per clip", ref)):
        fn()  # warm-up (filter-bank caches)
        t = time.perf_counter()
        fn()
        dt = time.perf_counter() - t
        print(f"  {name:20s} {len(clips) / dt:10.0f} clips/s  ({1000 * dt / len(clips):.3f} ms/clip)")


if __name__ == "__main__":
    main(*map(int, sys.argv[1:]))
