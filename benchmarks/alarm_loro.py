"""Fire-alarm detector, leave one recording out (issue #15): train on three of the four shared alarm
recordings, test on the fourth, for each of the four; with and without synthetic alarms, and from
synthetic alarms only.

    TINYAUDIO_DATA=../shared/datasets python benchmarks/alarm_loro.py --train runs/alarm_loro   # ~8 min on 2 cores
    python benchmarks/alarm_loro.py runs/alarm_loro --train --seeds 0 1 2                       # and two more seeds
    python benchmarks/alarm_loro.py runs/alarm_loro                                             # the table again

Each fold is an ordinary run folder, ``OUT/<variant>_<i>`` (``OUT/<variant>_<i>_seed<s>`` for seed
s > 0): the fire-alarm recipe's transfer detector (`FireAlarmRecipe.transfer_config`, without QAT)
with ``holdout_recording`` set, as ``tinyaudio train --dataset fire_alarm --keyword fire_alarm
--base BASE --augment noise --target-max-fpr 0.02 --holdout-recording STEM [--synthetic N]
[--no-real-positives]`` trains it (``BASE`` is the recipe's ESC-50 base run, default
``runs/fire_alarm_q15/base``, the RP2040 model on the q15 spectrogram). The threshold of each fold
is its highest-recall one at a false-positive rate <= 2 % on its **validation** windows (the last
20 % of each training recording, synthetic alarms, validation negatives); the held-out recording
and the test negatives (ESC-50 test files, the last 10 % of each noise file, Speech Commands test
speakers: the same in every fold) choose nothing. Without ``--train`` the table is printed from
the runs there are. Existing runs are kept, so runs made with an older alarm generator
(`tinyaudio.data.alarms.GENERATOR_VERSION`) must be moved away to be redone.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

#: The shared recordings (file stems of ``fire_alarm/fire_alarm/*.wav``), in the table's order.
RECORDINGS = (
    "325367__moonlightshadow__fire-house-alarm",
    "ALRMElec_Smoke detector alarm (ID 0800)_BSB",
    "ALRMElec_Smoke detector alarm 2 (ID 1151)_BSB",
    "ALRMElec_Smoke detector alarm 3 (ID 1153)_BSB",
)
SHORT = ("fire-house alarm", "smoke detector 0800", "smoke detector 1151", "smoke detector 1153")
#: variant -> (synthetic recordings, real alarms in training, table label)
VARIANTS = {"real": (0, True, "the other three"), "real_synthetic": (100, True, "the other three + 100 synthetic"),
            "synthetic_only": (100, False, "100 synthetic only")}


def run_name(variant: str, i: int, seed: int) -> str:
    return f"{variant}_{i}" + (f"_seed{seed}" if seed else "")


def train_folds(out: Path, base: Path, seeds: list[int]) -> None:
    """Train every missing fold run of every seed (existing runs are kept)."""
    from tinyaudio.pipeline import FireAlarmRecipe, train

    for seed in seeds:
        for variant, (synthetic, real, _) in VARIANTS.items():
            recipe = FireAlarmRecipe(seed=seed, synthetic=synthetic, real_positives=real)
            for i, stem in enumerate(RECORDINGS):
                run = out / run_name(variant, i, seed)
                if (run / "metrics.json").exists():
                    continue
                print(f"{run}: test on {stem!r}, {synthetic} synthetic alarms, real alarms in training: {real}, seed {seed}")
                train(recipe.transfer_config(base, holdout_recording=stem, qat=False), run, verbose=0, log=lambda *_: None)


def fold(run: Path) -> dict | None:
    """Test recall, false-positive rate and ROC AUC of the int8 detector at its validation threshold."""
    if not (run / "metrics.json").exists():
        return None
    m = json.loads((run / "metrics.json").read_text())
    op = m["operating_point"]["int8"]
    return {"recall": op["test"]["recall"], "fpr": op["test"]["false_positive_rate"],
            "auc": m["test"]["int8"]["roc_auc"], "positives": op["test"]["confusion"]["tp"] + op["test"]["confusion"]["fn"]}


def table(out: Path, seeds: list[int]) -> None:
    print("| training alarms | seed | " + " | ".join(SHORT) + " | mean recall | worst recall | max false-positive rate |")
    print("|---|---|" + "---|" * (len(SHORT) + 3))
    positives = {}
    for variant, seed in ((v, s) for v in VARIANTS for s in seeds):
        folds = [fold(out / run_name(variant, i, seed)) for i in range(len(RECORDINGS))]
        cells = ["—" if f is None else f"{100 * f['recall']:.1f} % / {100 * f['fpr']:.1f} % (AUC {f['auc']:.3f})"
                 for f in folds]
        done = [f for f in folds if f is not None]
        positives.update({i: f["positives"] for i, f in enumerate(folds) if f is not None})
        summary = (f"**{100 * sum(f['recall'] for f in done) / len(done):.1f} %** | {100 * min(f['recall'] for f in done):.1f} % | "
                   f"{100 * max(f['fpr'] for f in done):.1f} %") if done else "— | — | —"
        print(f"| {VARIANTS[variant][2]} | {seed} | " + " | ".join(cells) + f" | {summary} |")
    print("\ncells: test recall / false-positive rate at the validation threshold (FPR <= 2 % on validation), "
          "int8; positive test windows per recording: " + ", ".join(str(positives[i]) for i in sorted(positives)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", default="runs/alarm_loro", type=Path)
    parser.add_argument("--train", action="store_true", help="train the missing folds first")
    parser.add_argument("--base", default="runs/fire_alarm_q15/base", type=Path, help="the ESC-50 base run")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0], help="training seeds (one table row each)")
    args = parser.parse_args()
    if args.train:
        train_folds(args.out, args.base, args.seeds)
    if not args.out.is_dir():
        print(f"{args.out}: no runs; make them with `python benchmarks/alarm_loro.py --train {args.out}`")
        return
    table(args.out, args.seeds)


if __name__ == "__main__":
    main()
