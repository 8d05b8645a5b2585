"""Accuracy of a model trained on the device's q15 features against one trained on float features.

Issue #3 asks that a KWS model trained on q15 CMSIS-DSP features (FeatureConfig kind
``mfcc_q15``) lose at most 1 point of accuracy against the float-feature model. This script reads
two run folders written by ``tinyaudio train`` that differ only in ``features`` and prints their
test accuracies (float Keras model and int8 ``.tflite``), the difference, and the verdict.

Two comparisons are made (one training at a time on 2 cores):

FSDD digits (about 6-10 min per run):

    TINYAUDIO_DATA=../shared/datasets tinyaudio train --dataset fsdd --model ds_cnn \\
        --features fsdd_mfcc --augment noise --epochs 30 --out runs/fsdd
    TINYAUDIO_DATA=../shared/datasets tinyaudio train --dataset fsdd --model ds_cnn \\
        --features fsdd_mfcc_q15 --augment noise --epochs 30 --out runs/fsdd_q15
    python benchmarks/q15_training.py runs/fsdd runs/fsdd_q15

Speech Commands 12-class KWS (about 15 min per run). ``mfcc_512_49x10`` is the float twin of
``mfcc_q15_49x10`` (every field equal but ``kind``), so the runs differ only in the frontend:

    TINYAUDIO_DATA=../shared/datasets tinyaudio train --dataset speech_commands --model ds_cnn \\
        --features mfcc_512_49x10 --augment noise --epochs 40 --out runs/sc12_f512
    TINYAUDIO_DATA=../shared/datasets tinyaudio train --dataset speech_commands --model ds_cnn \\
        --features mfcc_q15_49x10 --augment noise --epochs 40 --out runs/sc12_q15
    python benchmarks/q15_training.py runs/sc12_f512 runs/sc12_q15

Usage: python benchmarks/q15_training.py [FLOAT_RUN] [Q15_RUN]   (defaults runs/fsdd runs/fsdd_q15)

The int8 accuracy of the q15 run is what the board computes: `compute_features` of a ``_q15``
kind equals the C frontend's output bit for bit (tests/features/test_q15_kinds.py,
tests/export/test_mcu_frontend.py).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

MAX_LOSS_POINTS = 1.0


def load_run(run_dir: Path) -> tuple[dict, dict, dict]:
    """``(config.json, feature_config.json, metrics.json)`` of a run folder."""
    missing = [n for n in ("config.json", "feature_config.json", "metrics.json") if not (run_dir / n).exists()]
    if missing:
        raise SystemExit(f"{run_dir}: missing {missing}; train it first (see this script's docstring)")
    return tuple(json.loads((run_dir / n).read_text()) for n in ("config.json", "feature_config.json", "metrics.json"))


def main(float_run: str = "runs/fsdd", q15_run: str = "runs/fsdd_q15") -> int:
    runs = {"float features": Path(float_run), "q15 features": Path(q15_run)}
    loaded = {name: load_run(path) for name, path in runs.items()}
    (cfg_f, feat_f, _), (cfg_q, feat_q, _) = loaded.values()
    other = sorted(k for k in set(cfg_f) & set(cfg_q) if k != "features" and cfg_f[k] != cfg_q[k])
    if other:
        print(f"WARNING: the runs differ in more than features: {other}")
    newer = sorted(set(cfg_f) ^ set(cfg_q))
    if newer:
        print(f"note: TrainConfig fields in only one run (added later, so that run used their defaults): {newer}")
    if not str(feat_q["kind"]).endswith("_q15"):
        print(f"WARNING: {q15_run} was trained on kind {feat_q['kind']!r}, not a _q15 kind")

    print("| run | features | kind | n_fft / hop | power | test clips | float acc | int8 acc | errors (int8) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, (cfg, feat, m) in loaded.items():
        n = m["test"]["int8"]["n"]
        errors = round((1 - m["int8_accuracy"]) * n)
        print(f"| {runs[name]} | {cfg['features']} | {feat['kind']} | {feat['n_fft']} / {feat['hop_length']} | "
              f"{feat['power']} | {n} | {m['float_accuracy']:.2%} | {m['int8_accuracy']:.2%} | {errors} |")
    m_f, m_q = loaded["float features"][2], loaded["q15 features"][2]
    loss = 100 * (m_f["int8_accuracy"] - m_q["int8_accuracy"])
    n = m_q["test"]["int8"]["n"]
    print(f"\nint8 accuracy loss with the q15 frontend: {loss:+.2f} points "
          f"(one test clip = {100 / n:.2f} points on {n} clips)")
    ok = loss <= MAX_LOSS_POINTS
    print(f"issue #3 target (loss <= {MAX_LOSS_POINTS:g} point): {'met' if ok else 'NOT met'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
