"""Ablation of the default augmentation policy on Speech Commands' speaker-disjoint 12-class split (issue #15).

    python benchmarks/sc12_ablation.py [RUNS]        # default runs/sc12_ablation

Reads the run folders `make results` writes into ``RUNS`` (``default_seedN``: `tinyaudio train --augment
default`; ``no_PART_seedN``: the same with ``--augment-off PART``, each part of
`tinyaudio.augment.recipes.DEFAULT_POLICY` in turn; ``only_noise_seedN`` / ``only_none_seedN``:
``--augment noise`` / ``none``) and prints one row per recipe: the int8 validation accuracy (315 clips
of validation speakers; the figure that may choose) and the int8 test accuracy (241 clips of other
speakers; read only) for every seed, their means, and the change of the validation mean against the
full policy. Every run is ds_cnn on ``mfcc_49x10``, 40 epochs at most. A recipe lacking a seed's run
shows a dash for it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from tinyaudio.augment.recipes import DEFAULT_POLICY

ROWS = {"default": "the default policy (every part)",
        **{f"no_{part}": f"without {part}" for part in DEFAULT_POLICY},
        "only_noise": "`--augment noise` (shift and background noise only)",
        "only_none": "`--augment none`"}


def accuracies(run: Path) -> tuple[float, float] | None:
    """``(int8 validation accuracy, int8 test accuracy)`` of a run folder, or None when it has no metrics."""
    path = run / "metrics.json"
    if not path.exists():
        return None
    metrics = json.loads(path.read_text())
    return float(metrics["validation"]["int8_accuracy"]), float(metrics["int8_accuracy"])


def table(root: Path, seeds: tuple[int, ...] = (0, 1, 2)) -> list[str]:
    """Markdown rows, one per recipe in `ROWS` with at least one seed's run in ``root``."""
    seed_cells = " / ".join(str(s) for s in seeds)
    rows = [f"| recipe | validation, seeds {seed_cells} | mean | vs default | test, seeds {seed_cells} | mean |",
            "|---|---|---|---|---|---|"]
    found = {name: [accuracies(root / f"{name}_seed{s}") for s in seeds] for name in ROWS}
    mean_of = {name: (None if any(r is None for r in runs) else
                      tuple(sum(r[i] for r in runs) / len(runs) for i in (0, 1))) for name, runs in found.items()}
    for name, runs in found.items():
        if all(r is None for r in runs):
            continue
        cells = [" / ".join("–" if r is None else f"{100 * r[i]:.1f}" for r in runs) for i in (0, 1)]
        mean = mean_of[name]
        delta = ("–" if mean is None or mean_of["default"] is None else
                 f"{100 * (mean[0] - mean_of['default'][0]):+.1f}")
        means = ["–" if mean is None else f"**{100 * mean[i]:.1f} %**" for i in (0, 1)]
        rows.append(f"| {ROWS[name]} | {cells[0]} % | {means[0]} | {delta} | {cells[1]} % | {means[1]} |")
    return rows


if __name__ == "__main__":
    print("\n".join(table(Path(sys.argv[1] if len(sys.argv) > 1 else "runs/sc12_ablation"))))
