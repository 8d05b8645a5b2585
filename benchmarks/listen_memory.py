"""Peak memory of `tinyaudio listen --wav` on an hour-long recording (target: <= 150 MB).

    TINYAUDIO_DATA=../shared/datasets python benchmarks/listen_memory.py runs/stop [--minutes 60]

The recording is LibriSpeech test-other read back to back until it lasts ``--minutes`` (16 kHz,
16-bit WAV in a temporary folder); `listen --fast --json` runs in a fresh process and reports its
own peak RSS. The file is read in chunks (`tinyaudio.data.audio.stream_audio`), so the peak does
not grow with the file.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

from tinyaudio.data import load_audio
from tinyaudio.data.speech import speech_files


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, nargs="?", default=Path("runs/demo"), help="run folder (default runs/demo, from make demo)")
    parser.add_argument("--minutes", type=float, default=60.0)
    args = parser.parse_args()
    speech = np.concatenate([load_audio(p, 16000) for p, _ in speech_files("librispeech_test_other")])
    n = int(args.minutes * 60 * 16000)
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "long.wav"
        with sf.SoundFile(wav, "w", 16000, 1, subtype="PCM_16") as f:
            written = 0
            while written < n:
                part = speech[: n - written]
                f.write(part)
                written += len(part)
        size_mb = wav.stat().st_size / 2**20
        out = subprocess.run([sys.executable, "-m", "tinyaudio.cli", "listen", str(args.run), "--wav", str(wav), "--fast", "--json"],
                             capture_output=True, text=True, check=True)
    summary = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"{args.minutes:g} min recording ({size_mb:.0f} MB WAV): peak RSS {summary['peak_rss_mb']:.0f} MB, "
          f"{summary['hops']} hops, {summary['detections']} detections, {summary['wall_s']:.0f} s wall")


if __name__ == "__main__":
    main()
