"""How FSDD's six microphones differ (issue #15): level, DC offset and average spectrum per speaker.

    python benchmarks/fsdd_channels.py [FSDD_RECORDINGS]    # default $TINYAUDIO_DATA/fsdd/recordings

Per speaker, over all 500 recordings: median RMS level (dBFS), mean DC offset (as a fraction of
each clip's peak) and the average power spectrum (256-sample Hann frames at 8 kHz, each clip
normalised to unit mean power) in 500 Hz bands, in dB relative to the mean over the six
speakers. A speaker whose row stands out is one whose microphone the other five never showed a
model trained on them.
"""

from __future__ import annotations

import os
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

from tinyaudio.data import load_audio

N_FFT, SAMPLE_RATE, BAND_HZ = 256, 8000, 500


def speaker_stats(folder: Path) -> dict[str, dict[str, np.ndarray | float]]:
    """``{speaker: {"rms_dbfs", "dc", "bands_db"}}`` over ``{digit}_{speaker}_{take}.wav`` in ``folder``."""
    rms, dc, spectra = defaultdict(list), defaultdict(list), defaultdict(list)
    for path in sorted(folder.glob("*_*_*.wav")):
        speaker = path.stem.split("_")[1]
        x = load_audio(path, SAMPLE_RATE).astype(np.float64)
        if len(x) < N_FFT:
            continue
        rms[speaker].append(20 * np.log10(np.sqrt(np.mean(x**2)) + 1e-12))
        dc[speaker].append(x.mean() / (np.abs(x).max() + 1e-12))
        frames = x[: len(x) // N_FFT * N_FFT].reshape(-1, N_FFT) * np.hanning(N_FFT)
        power = (np.abs(np.fft.rfft(frames, axis=1)) ** 2).mean(axis=0)
        spectra[speaker].append(power / power.mean())
    per_band = (N_FFT // 2) // (SAMPLE_RATE // 2 // BAND_HZ)
    out = {}
    for speaker in sorted(spectra):
        mean = np.mean(spectra[speaker], axis=0)[: N_FFT // 2]
        out[speaker] = {"rms_dbfs": float(np.median(rms[speaker])), "dc": float(np.mean(dc[speaker])),
                        "bands_db": 10 * np.log10(mean.reshape(-1, per_band).mean(axis=1))}
    reference = np.mean([s["bands_db"] for s in out.values()], axis=0)
    for s in out.values():
        s["bands_db"] = s["bands_db"] - reference
    return out


def main(folder: str | None = None) -> None:
    root = Path(folder) if folder else Path(os.environ.get("TINYAUDIO_DATA", "../shared/datasets")) / "fsdd" / "recordings"
    if not root.is_dir():
        print(f"{root}: no FSDD recordings; pass the folder or set TINYAUDIO_DATA")
        return
    stats = speaker_stats(root)
    bands = [f"{lo}-{lo + BAND_HZ}" for lo in range(0, SAMPLE_RATE // 2, BAND_HZ)]
    print(f"| speaker | RMS (dBFS, median) | DC offset (of peak) | {' | '.join(bands)} Hz (dB vs mean) |")
    print("|---|---|---|" + "---|" * len(bands))
    for speaker, s in stats.items():
        cells = " | ".join(f"{v:+.1f}" for v in s["bands_db"])
        print(f"| {speaker} | {s['rms_dbfs']:.1f} | {s['dc']:+.3f} | {cells} |")


if __name__ == "__main__":
    main(*sys.argv[1:])
