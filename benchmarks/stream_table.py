"""The README's always-listening table: per run, its tuned rule, FRR and false accepts per hour of
each negative source on the 2 h test stream, and false accepts on LibriSpeech test-other read
back to back.

    TINYAUDIO_DATA=../shared/datasets python benchmarks/stream_table.py runs/stop runs/stop_speech ...

Each run needs ``detector.json`` (`tinyaudio tune-detector`) and ``stream_eval.json``
(`tinyaudio stream-eval`, same rule). The LibriSpeech pass is what
``tinyaudio listen RUN --wav <the 100 utterances joined> --fast --json`` does, in process.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from tinyaudio.data import load_audio
from tinyaudio.data.speech import speech_files
from tinyaudio.evaluate.stream import NEGATIVE_SOURCES
from tinyaudio.runtime import Classifier
from tinyaudio.runtime.run_folder import RunFolder
from tinyaudio.runtime.stream import StreamingEngine


def librispeech_false_accepts(run_dir: Path) -> tuple[int, float]:
    """Detections of the run (its stored rule) over LibriSpeech test-other joined, and its minutes."""
    clf = Classifier(run_dir)
    sr = clf.feature_config.sample_rate
    speech = np.concatenate([load_audio(p, sr) for p, _ in speech_files("librispeech_test_other")])
    speech = np.concatenate([speech, np.zeros(int(clf.feature_config.clip_duration * sr), dtype=np.float32)])
    engine = StreamingEngine(clf, rule=RunFolder(run_dir).decision_rule())
    detections = sum(r.detection is not None for r in engine.run(speech, block_size=4096))
    return detections, len(speech) / sr / 60


def main(runs: list[str]) -> None:
    print("| run (int8) | rule: threshold / smoothing / suppression | FRR (0 / 5 / 10 / 20 dB) | FA/h: speech | sounds | other words | noise | LibriSpeech test-other false accepts |")
    print("|---|---|---|---|---|---|---|---|")
    hours = None
    for run in map(Path, runs):
        if not (run / "stream_eval.json").exists():
            print(f"| `{run.name}` | no stream_eval.json: run `tinyaudio stream-eval {run} --minutes 120` |")
            continue
        result = json.loads((run / "stream_eval.json").read_text())
        rule, p = result["rule"], result["at_rule"]
        fa = p["false_accepts_per_hour_by_source"]
        hours = p["hours_by_source"]
        n, minutes = librispeech_false_accepts(run)
        snr = " / ".join(f"{v:.0f}" for v in p["frr_percent_by_snr"].values())
        print(f"| `{run.name}` | {rule['threshold']:g} / {rule['smoothing_s']:g} s / {rule['suppression_s']:g} s "
              f"({result['rule_source']}) | {p['frr_percent']:.1f} % ({snr}) | "
              + " | ".join("-" if fa[k] is None else f"{fa[k]:.1f}" for k in NEGATIVE_SOURCES)
              + f" | {n} in {minutes:.1f} min ({60 * n / minutes:.1f} /h) |")
    if hours:
        print("\nhours of each source in the stream: " + ", ".join(f"{k} {v:.2f}" for k, v in hours.items()))


if __name__ == "__main__":
    main(sys.argv[1:] or sorted(str(p.parent) for p in Path("runs").glob("*/detector.json")))
