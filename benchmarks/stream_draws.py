"""How much one 2 h test stream says: each run's stored rule on several draws of the test stream.

    TINYAUDIO_DATA=../shared/datasets python benchmarks/stream_draws.py RUN ... [--seeds 0 1 2] [--minutes 120]

`tinyaudio stream-eval RUN --minutes 120` plays one draw (stream seed 0). The test split holds few
clips and recordings (13 "stop" clips, 96 ESC-50 sounds), so another draw (another order, SNR per
clip, noise segments) moves FRR and the rare sound false accepts. For each run this prints every
draw and the draws pooled (false rejects over all keyword events, false accepts over all hours of
each source; "non-speech" is sounds and noise together, issue #14's <= 1 FA/h). Nothing is written
into the run folders and nothing is chosen: the rule is the run's ``detector.json``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from tinyaudio.evaluate.stream import NEGATIVE_SOURCES, stream_eval


def pooled(points: list[dict]) -> dict:
    """Sum false rejects, false accepts and hours per source over draws (`stream_eval`'s ``at_rule``)."""
    events = sum(p["keyword_events"] for p in points)
    fas = {k: sum(p["false_accepts_by_kind"][k] for p in points) for k in NEGATIVE_SOURCES}
    hours = {k: sum(p["hours_by_source"][k] for p in points) for k in NEGATIVE_SOURCES}
    return {"frr_percent": 100.0 * sum(p["false_rejects"] for p in points) / events, "false_accepts": fas, "hours": hours}


def row(name: str, frr: float, fas: dict, hours: dict) -> str:
    """One table row: FRR, then false accepts (per hour) of each source and of sounds + noise."""
    cells = [f"{fas[k]} ({fas[k] / hours[k]:.1f})" for k in NEGATIVE_SOURCES]
    non_speech = fas["sounds"] + fas["noise"]
    cells.append(f"{non_speech} ({non_speech / (hours['sounds'] + hours['noise']):.1f})")
    return f"| {name} | {frr:.1f} % | " + " | ".join(cells) + " |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="test-stream seeds (draws)")
    parser.add_argument("--minutes", type=float, default=120.0, help="length of each draw")
    args = parser.parse_args()
    print("| run, test-stream draw | FRR | false accepts (/h): speech | sounds | other words | noise | non-speech |")
    print("|---|---|---|---|---|---|---|")
    for run in args.runs:
        points = []
        for seed in args.seeds:
            p = stream_eval(run, duration_s=args.minutes * 60, seed=seed, write=False)["at_rule"]
            points.append(p)
            print(row(f"`{Path(run).name}`, seed {seed}", p["frr_percent"], p["false_accepts_by_kind"], p["hours_by_source"]))
        total = pooled(points)
        print(row(f"`{Path(run).name}`, {len(points)} draws pooled ({len(points) * args.minutes / 60:g} h)",
                  total["frr_percent"], total["false_accepts"], total["hours"]))


if __name__ == "__main__":
    main()
