"""Learning curve over voices on Speech Commands' speaker-disjoint 12-class split (issue #15).

    python benchmarks/sc12_learning_curve.py [CURVE] [FULL]   # default runs/sc12_curve runs/sc12_ablation

Reads the run folders `make results` writes: ``CURVE/speakersP_seedN`` (`tinyaudio train
--train-speakers-percent P`, P = 12.5, 25, 50) and, for all the training speakers,
``FULL/only_noise_seedN`` (the same command at 100 %: ds_cnn on ``mfcc_49x10``, ``--augment noise
--epochs 40``). Each row gives the training speakers and clips a run kept (recounted from the
shared data with `tinyaudio.train.data.speaker_share`, the run's own selection), and the int8
validation and test accuracy over seeds 0 / 1 / 2.

Then the mean test accuracy gained per doubling of the training voices, from each share to the
next, and the number of voices at which the last step's rate would reach 94 % (issue #15's
target; the published DS-CNN-S 94.4 % trains on Speech Commands v2's training split, about 85 K
clips of the corpus's 2,618 speakers). The rate falls as voices grow (learning curves flatten on a
log scale: Hestness et al. 2017, "Deep Learning Scaling is Predictable, Empirically"), so the
figure is a lower bound.

Raises:
    SystemExit: a run's config differs from the others in more than the speaker share and seed.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np

from tinyaudio.data.loaders import SILENCE, load_dataset
from tinyaudio.train.config import TrainConfig
from tinyaudio.train.data import speaker_share

PERCENTS = (12.5, 25.0, 50.0, 100.0)
SEEDS = (0, 1, 2)
TARGET = 0.94


def run_folder(curve: Path, full: Path, percent: float, seed: int) -> Path:
    """Where the run for ``percent`` % of the speakers and ``seed`` lives."""
    return full / f"only_noise_seed{seed}" if percent == 100 else curve / f"speakers{percent:g}_seed{seed}"


def span(counts: set[int]) -> str:
    """``"N"`` when every seed kept the same count, else ``"MIN-MAX"``."""
    return f"{min(counts)}" if len(counts) == 1 else f"{min(counts)}-{max(counts)}"


def main(curve: Path, full: Path) -> None:
    train = load_dataset("speech_commands").split("train")
    reference: dict | None = None
    rows, points = [], []
    for percent in PERCENTS:
        val, test, voices, clips = [], [], set(), set()
        for seed in SEEDS:
            folder = run_folder(curve, full, percent, seed)
            if not (folder / "metrics.json").exists():
                continue
            config = TrainConfig.from_dict(json.loads((folder / "config.json").read_text()))
            same = {k: v for k, v in vars(config).items() if k not in ("seed", "train_speakers_percent")}
            if reference is None:
                reference = same
            if same != reference or config.train_speakers_percent != percent:
                raise SystemExit(f"{folder}: its config differs from the curve's in more than the speaker share and seed")
            kept = speaker_share(train, percent, seed)
            voices.add(len({c.speaker for c in kept if c.label != SILENCE}))
            clips.add(len(kept))
            metrics = json.loads((folder / "metrics.json").read_text())
            val.append(metrics["validation"]["int8_accuracy"])
            test.append(metrics["int8_accuracy"])
        if not test:
            continue
        rows.append(f"| {percent:g} % | {span(voices)} | {span(clips)} | {' / '.join(f'{100 * a:.1f}' for a in val)} % | "
                    f"**{100 * np.mean(val):.1f} %** | {' / '.join(f'{100 * a:.1f}' for a in test)} % | "
                    f"**{100 * np.mean(test):.1f} %** |")
        points.append((math.log2(min(voices)), float(np.mean(test))))
    print("| training speakers | voices | clips | validation, seeds 0 / 1 / 2 | mean | test, seeds 0 / 1 / 2 | mean |")
    print("|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    steps = [f"{100 * (b[1] - a[1]) / (b[0] - a[0]):.1f}" for a, b in zip(points, points[1:])]
    if steps:
        print(f"\ntest accuracy gained per doubling of the training voices, share to share: {' / '.join(steps)} points")
        (x0, y0), (x1, y1) = points[-2:]
        slope = (y1 - y0) / (x1 - x0)
        if slope > 0 and y1 < TARGET:
            print(f"at the last step's rate, {100 * TARGET:.0f} % needs about {2 ** (x1 + (TARGET - y1) / slope):,.0f} "
                  f"training voices ({2 ** x1:,.0f} here); the rate has only fallen so far, so that is a lower bound")


if __name__ == "__main__":
    args = [Path(a) for a in sys.argv[1:]]
    main(args[0] if args else Path("runs/sc12_curve"), args[1] if len(args) > 1 else Path("runs/sc12_ablation"))
