"""Raspberry Pi budget: per-hop compute of every zoo model in the streaming engine, and peak memory.

For each zoo model (int8, mfcc_49x10, 12 outputs, untrained weights: compute does not depend on
the weights) and each hop length, runs ``tinyaudio listen RUN --wav STREAM --fast --json`` in a
fresh process (no TensorFlow loaded there, as on the Pi) over a stream of real Speech Commands
clips, and prints the per-hop time (features + int8 inference + smoothing / detection), its share
of the hop length, and the peak resident memory of that ``listen`` process.

    TINYAUDIO_DATA=../shared/datasets .venv/bin/python benchmarks/stream_latency.py [--seconds 30] [--run runs/sc12_stream]

Building the int8 models needs the train extra (TensorFlow); the measurement itself does not.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("TINYAUDIO_DATA") or ROOT.parent / "shared" / "datasets")
LABELS = ["_silence_", "_unknown_", "yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go"]


def build_runs(out: Path, clips: np.ndarray) -> dict[str, Path]:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from tinyaudio.features import PRESETS, compute_features_batch
    from tinyaudio.models import MODELS, build_model, count_macs
    from tinyaudio.quantize import quantize_int8

    config = PRESETS["mfcc_49x10"]
    rep = compute_features_batch(clips, config)[..., None]
    runs = {}
    for name in MODELS:
        run = out / name
        run.mkdir(parents=True)
        model = build_model(name, (*config.shape, 1), len(LABELS))
        config.save(run / "feature_config.json")
        (run / "labels.txt").write_text("\n".join(LABELS) + "\n")
        (run / "model_int8.tflite").write_bytes(quantize_int8(model, rep))
        (run / "info.json").write_text(json.dumps({"params": int(model.count_params()), "macs": int(count_macs(model))}))
        runs[name] = run
    return runs


def listen_stats(run: Path, wav: Path, hop_ms: float) -> dict:
    cmd = [sys.executable, "-m", "tinyaudio.cli", "listen", str(run), "--wav", str(wav), "--fast", "--json", "--hop-ms", str(hop_ms)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=30.0, help="stream length per measurement")
    ap.add_argument("--hops", type=float, nargs="+", default=[20.0, 40.0, 100.0], help="hop lengths, ms")
    ap.add_argument("--run", type=Path, action="append", default=[], help="also measure this trained run folder")
    args = ap.parse_args()

    import soundfile as sf

    from tinyaudio.data import fix_length, load_audio

    base = DATA / "speech_commands_v0.02_test_dev"
    paths = sorted(base.glob("*/*.wav"))[:: 37][:200]
    clips = np.stack([fix_length(load_audio(p, 16000), 16000) for p in paths])
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        wav = tmp / "stream.wav"
        n = int(args.seconds)
        sf.write(wav, np.concatenate(list(clips[:n])), 16000, subtype="PCM_16")
        runs = build_runs(tmp / "runs", clips)
        runs.update({f"{r.name} (trained)": r for r in args.run})
        print(f"host: {platform.machine()} {platform.processor() or ''}, {os.cpu_count()} CPUs, python {platform.python_version()}; "
              f"stream {n} s of Speech Commands clips, mfcc_49x10 features, int8 model, 12 outputs")
        print(f"{'model':<28} {'params':>8} {'MACs':>11} {'hop ms':>6} {'feat p50':>8} {'model p50':>9} "
              f"{'total p50':>9} {'total p99':>9} {'% of hop':>8} {'peak MiB':>8}")
        for name, run in runs.items():
            info = json.loads((run / "info.json").read_text()) if (run / "info.json").exists() else {}
            for hop in args.hops:
                s = listen_stats(run, wav, hop)
                t = s["timing_ms"]
                print(f"{name:<28} {info.get('params', ''):>8} {info.get('macs', ''):>11} {s['hop_ms']:>6.0f} "
                      f"{t['feature_ms']['p50']:>8.3f} {t['inference_ms']['p50']:>9.3f} {t['total_ms']['p50']:>9.3f} "
                      f"{t['total_ms']['p99']:>9.3f} {100 * t['total_ms']['p50'] / s['hop_ms']:>7.2f}% {s['peak_rss_mb']:>8.1f}",
                      flush=True)


if __name__ == "__main__":
    main()
