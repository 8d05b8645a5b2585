"""Print the README's result table from run folders: `python benchmarks/summarize_runs.py runs`."""

import json
import sys
from pathlib import Path


def main(root: str = "runs") -> None:
    print("| run | model | params | test clips | float acc | int8 acc | int8 size (B) | notes |")
    print("|---|---|---|---|---|---|---|---|")
    for metrics_path in sorted(Path(root).glob("*/metrics.json")):
        m = json.loads(metrics_path.read_text())
        int8 = m["test"]["int8"]
        notes = ""
        if "roc_auc" in int8:
            notes = f"P {int8['precision']:.3f} R {int8['recall']:.3f} F1 {int8['f1']:.3f} AUC {int8['roc_auc']:.3f} (all-negative baseline {int8['baseline_all_negative_accuracy']:.1%})"
        elif 1 == len(int8.get("per_speaker_accuracy", {})):
            notes = "held-out speaker"
        print(f"| {metrics_path.parent.name} | {m['model']} | {m['params']:,} | {m['counts']['test']} | "
              f"{m['float_accuracy']:.2%} | {m['int8_accuracy']:.2%} | {m['sizes_bytes']['int8']:,} | {notes} |")


if __name__ == "__main__":
    main(*sys.argv[1:])
