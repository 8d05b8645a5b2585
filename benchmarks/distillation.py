"""Knowledge distillation on Speech Commands' speaker-disjoint 12-class split (issue #19).

    python benchmarks/distillation.py [RUNS]        # default runs

Reads the run folders `make results` writes into ``RUNS``: the teachers ``sc12_q15[_seedN]``
(ds_cnn on ``mfcc_q15_49x10``), and TC-ResNet at 1.5x width on the same features with 8 noisy
copies of every clip, trained alone (``sc12_tc15_seedN``) or distilled from the three teachers
(``sc12_tc15_kd_seedN``: ``--teacher`` x3 ``--distill-alpha 0.1``), or from those three plus
``sc12_logmel40`` (ds_cnn on float log-mel 40, ``benchmarks/logmel_49x40.json``;
``sc12_tc15_kd4_seedN``), and the model the distilled search found (``sc12_search_pick_seedN``:
TC-ResNet w1.5 on ``benchmarks/logmel_q15_20_512.json``, its trial's recipe, other seeds). Prints one row per model: its
parameters, its estimated milliseconds per inference on the RP2040's Cortex-M0+ at 125 MHz (the
search's cost model, `tinyaudio.pipeline.search.model_cost`), the int8 validation accuracy (315
clips of validation speakers: the figure that may choose) and int8 test accuracy (241 clips of
other speakers; read only) of every seed, and their means. A missing run shows a dash.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from sc12_ablation import accuracies  # same folder: `python benchmarks/distillation.py`

ROWS = {"sc12_q15": "`ds_cnn` (the teachers)",
        "sc12_logmel40": "`ds_cnn` on float log-mel 40 (a fourth teacher, one seed)",
        "sc12_tc15": "`tc_resnet` w1.5, alone",
        "sc12_tc15_kd": "`tc_resnet` w1.5, distilled from the three `ds_cnn`",
        "sc12_tc15_kd4": "`tc_resnet` w1.5, distilled from all four",
        "sc12_search_pick": "the distilled search's pick: `tc_resnet` w1.5 on q15 log-mel 20, window 32 ms"}
#: Teachers whose seed 0 run has no ``_seed0`` suffix (``sc12_q15`` is the README's reference run).
BARE_SEED0 = ("sc12_q15", "sc12_logmel40")


def run_name(prefix: str, seed: int) -> str:
    """``PREFIX_seedN``, except seed 0 of the teachers in `BARE_SEED0`: ``PREFIX``."""
    return prefix if prefix in BARE_SEED0 and seed == 0 else f"{prefix}_seed{seed}"


def cost(run: Path) -> tuple[int, float] | None:
    """``(params, estimated ms on the Cortex-M0+)`` of a run's int8 model, or None without one."""
    from tinyaudio.pipeline.search import model_cost

    if not (run / "model_int8.tflite").exists():
        return None
    metrics = json.loads((run / "metrics.json").read_text())
    priced = model_cost((run / "model_int8.tflite").read_bytes(), "cortex-m0plus", params=metrics["params"],
                        macs=metrics["macs"])
    return metrics["params"], priced.ms


def table(root: Path, seeds: tuple[int, ...] = (0, 1, 2)) -> list[str]:
    """Markdown rows, one per model in `ROWS` with at least one seed's run in ``root``."""
    seed_cells = " / ".join(str(s) for s in seeds)
    rows = [f"| model | params | ms on the M0+ (estimated) | validation, seeds {seed_cells} | mean | test, seeds {seed_cells} | mean |",
            "|---|---|---|---|---|---|---|"]
    for prefix, label in ROWS.items():
        runs = [root / run_name(prefix, s) for s in seeds]
        found = [accuracies(r) for r in runs]
        if all(f is None for f in found):
            continue
        priced = next(c for c in map(cost, runs) if c is not None)
        cells = [" / ".join("–" if f is None else f"{100 * f[i]:.1f}" for f in found) for i in (0, 1)]
        known = [f for f in found if f is not None]
        means = [f"**{100 * sum(f[i] for f in known) / len(known):.1f} %**" if len(known) == len(found) else "–"
                 for i in (0, 1)]
        rows.append(f"| {label} | {priced[0]:,} | {priced[1]:.1f} | {cells[0]} % | {means[0]} | {cells[1]} % | {means[1]} |")
    return rows


if __name__ == "__main__":
    print("\n".join(table(Path(sys.argv[1] if len(sys.argv) > 1 else "runs"))))
