"""ROC AUC of "stop" detectors on real recordings only (issue #14's synthetic-positives target).

    TINYAUDIO_DATA=../shared/datasets python benchmarks/stop_auc.py [RUN ...]   # default: runs/stop_*

For each run: int8 ROC AUC on the validation split's real clips (27 "stop" clips of Speech Commands'
validation speakers among 315; the figure that may choose between recipes) and on the test split's
(13 among 241; read only). Both are `tinyaudio evaluate RUN --split S --recordings-only`: a run
trained with ``--no-real-positives`` validated on synthetic renderings, and this puts the real
speakers' keywords back.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from tinyaudio.evaluate.classify import evaluate_run


def real_auc(run: str) -> dict[str, float]:
    """``{"validation": auc, "test": auc}`` of the run's int8 model on the splits' recordings."""
    return {split: float(evaluate_run(run, split=split, recordings_only=True)["roc_auc"]) for split in ("validation", "test")}


def main(runs: list[str]) -> None:
    print("| run (int8) | ROC AUC, real validation clips (27 stop / 315) | ROC AUC, real test clips (13 stop / 241) |")
    print("|---|---|---|")
    for run in runs:
        auc = real_auc(run)
        print(f"| `{run}` | {auc['validation']:.3f} | {auc['test']:.3f} |")


def stop_runs(root: Path = Path("runs")) -> list[str]:
    """The run folders under ``root`` whose config is a "stop" detector, sorted."""
    return sorted(str(c.parent) for c in root.glob("*/config.json") if json.loads(c.read_text()).get("keyword") == "stop")


if __name__ == "__main__":
    main(sys.argv[1:] or stop_runs())
