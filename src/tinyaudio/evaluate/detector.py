"""Tune an always-listening model's decision rule for a false-accept budget, on a validation stream.

Threshold, smoothing window and suppression decide together how often a detector fires, so they
are chosen together: the run's model listens once to a validation stream (validation clips of
its dataset, running speech of validation speakers, ESC-50's validation sounds: nothing of the
test stream, see `tinyaudio.evaluate.stream.stream_sections`), then every combination of
`SMOOTHING_GRID` x `SUPPRESSION_GRID` x `THRESHOLDS` is replayed over the recorded raw scores.
The rule with the lowest false-reject rate whose false accepts per hour stay within the budget
is written to the run's ``detector.json``; `tinyaudio listen`, the web live view, ``stream-eval``
and the MCU export read it from there.

Runtime extra only (no TensorFlow).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable, Sequence

from tinyaudio.errors import ConfigError
from tinyaudio.evaluate.stream import NEGATIVE_SOURCES, THRESHOLDS, det_curve, listen_to_stream, plot_det, resmooth
from tinyaudio.runtime.run_folder import DETECTOR, DETECTOR_DET, RunFolder
from tinyaudio.runtime.stream import DecisionRule, Detector

#: Posterior averaging windows tried (s): TensorFlow's example uses 0.5 s (``average_window_duration_ms``).
SMOOTHING_GRID = (0.3, 0.5, 0.8, 1.2)
#: Refractory times tried (s): TensorFlow's example uses 1.5 s (``suppression_ms``).
SUPPRESSION_GRID = (1.0, 1.5, 3.0)
MIN_COUNT = 3


def tune_detector(
    run_dir: str | os.PathLike,
    *,
    target_fa_per_hour: float | None = 1.0,
    max_fa_per_source: dict[str, float] | None = None,
    duration_s: float = 3600.0,
    snrs_db: Sequence[float] = (0.0, 5.0, 10.0, 20.0),
    speech_share: float = 0.25,
    sound_share: float = 0.15,
    smoothing_grid: Sequence[float] = SMOOTHING_GRID,
    suppression_grid: Sequence[float] = SUPPRESSION_GRID,
    tolerance_s: float = 1.0,
    data_dir: str | os.PathLike | None = None,
    noise_dir: str | os.PathLike | None = None,
    seed: int = 1,
    model: str = "int8",
    progress: bool = False,
    log: Callable[[str], None] = lambda _msg: None,
) -> dict[str, Any]:
    """Choose threshold, smoothing and suppression for at most ``target_fa_per_hour`` on a validation stream.

    Args:
        run_dir: a run folder of a keyword model (one-vs-rest or multi-class).
        target_fa_per_hour: the false-accept budget, per hour of the whole validation stream
            (None: no overall budget).
        max_fa_per_source: budgets per hour of one source (keys from
            `tinyaudio.evaluate.stream.NEGATIVE_SOURCES`, e.g. ``{"speech": 5, "sounds": 1,
            "noise": 1}``); a rule must meet every budget given.
        duration_s: validation stream length, seconds.
        snrs_db, speech_share, sound_share, noise_dir: the stream (`tinyaudio.evaluate.stream.stream_eval`).
        smoothing_grid, suppression_grid: values tried, seconds.
        tolerance_s: a detection may come this long after its clip ends.
        seed: seeds the validation stream (the test stream of ``stream-eval`` uses seed 0).

    Returns:
        the dict written to ``detector.json``: ``rule`` (a `DecisionRule` as a dict),
        ``reached`` (False when no combination meets the budget: the rule then has the fewest
        false accepts), ``validation`` (its FRR and false accepts per source on the validation
        stream), ``grid`` (the best point of every smoothing x suppression pair) and ``stream``.

    Raises:
        RunFolderError, DatasetError: as `tinyaudio.evaluate.stream.listen_to_stream`.
        ConfigError: no budget, a negative one, or an unknown source.
    """
    budgets = dict(max_fa_per_source or {})
    unknown = sorted(set(budgets) - set(NEGATIVE_SOURCES))
    if unknown:
        raise ConfigError(f"false-accept budget for {unknown[0]!r}: sources are {', '.join(NEGATIVE_SOURCES)}")
    if target_fa_per_hour is not None:
        budgets["all"] = target_fa_per_hour
    if not budgets or any(b < 0 for b in budgets.values()):
        raise ConfigError(f"false-accept budgets {budgets}: give at least one, none negative")

    def within_budget(point: dict[str, Any]) -> bool:
        per_source = {**point["false_accepts_per_hour_by_source"], "all": point["false_accepts_per_hour"]}
        return all(per_source[k] is None or per_source[k] <= b for k, b in budgets.items())

    def choose(points: list[dict[str, Any]]) -> tuple[dict[str, Any], bool]:
        """The lowest-FRR point within budget (ties: the higher threshold), else the fewest false accepts."""
        within = [p for p in points if within_budget(p)]
        if within:
            return min(within, key=lambda p: (p["frr_percent"], -p["threshold"])), True
        return min(points, key=lambda p: (p["false_accepts_per_hour"], p["frr_percent"])), False

    run = RunFolder.open(run_dir)
    heard = listen_to_stream(run.path, split="validation", duration_s=duration_s, snrs_db=snrs_db,
                             speech_share=speech_share, sound_share=sound_share, data_dir=data_dir, noise_dir=noise_dir,
                             seed=seed, model=model, progress=progress, log=log)
    labels = heard.engine.labels
    grid, curves = [], {}
    for smoothing_s in smoothing_grid:
        track = resmooth(heard.track, smoothing_s)
        for suppression_s in suppression_grid:
            detector = Detector(labels, min_count=MIN_COUNT, suppression_s=suppression_s)
            curve = det_curve(track, detector, heard.events, heard.keywords, duration_s, THRESHOLDS, tolerance_s=tolerance_s)
            curves[smoothing_s, suppression_s] = curve
            best, reached = choose(curve)
            grid.append({"smoothing_s": smoothing_s, "suppression_s": suppression_s, "reached": reached, **best})
    best, reached = choose(grid)
    rule = DecisionRule(threshold=best["threshold"], smoothing_s=best["smoothing_s"], min_count=MIN_COUNT,
                        suppression_s=best["suppression_s"])
    summary = {k: best[k] for k in ("frr_percent", "false_accepts_per_hour", "false_accepts_per_hour_by_source",
                                    "hours_by_source", "false_accepts", "keyword_events")}
    result = {
        "rule": rule.to_dict(),
        "target_false_accepts_per_hour": target_fa_per_hour,
        "budgets_per_hour": budgets,
        "reached": reached,
        "validation": summary,
        "grid": [{k: g[k] for k in ("smoothing_s", "suppression_s", "threshold", "reached", "frr_percent",
                                     "false_accepts_per_hour")} for g in grid],
        "stream": heard.info,
        "model": model,
    }
    title = (f"{run.path.name}: {duration_s / 60:.0f} min validation stream, smoothing {rule.smoothing_s} s, "
             f"suppression {rule.suppression_s} s")
    if plot_det(curves[rule.smoothing_s, rule.suppression_s], run.path / DETECTOR_DET, title, best):
        result["det_png"] = str(run.path / DETECTOR_DET)
        run.record(DETECTOR_DET)
    run.write_json(DETECTOR, result)
    if not reached:
        log(f"no rule meets the false-accept budgets {budgets} (per hour) on the validation stream; "
            f"stored the one with the fewest ({best['false_accepts_per_hour']:g} per hour)")
    return result


def rule_summary(result: dict[str, Any], path: Path | None = None) -> str:
    """One line per fact of a `tune_detector` result, for the terminal."""
    r, v = result["rule"], result["validation"]
    by_source = ", ".join(f"{k.replace('_', ' ')} {fa:g}/h" for k, fa in v["false_accepts_per_hour_by_source"].items()
                          if fa is not None)
    lines = [f"rule: threshold {r['threshold']:g}, smoothing {r['smoothing_s']:g} s, min count {r['min_count']}, "
             f"suppression {r['suppression_s']:g} s" + (f" -> {path}" if path else ""),
             f"validation stream ({result['stream']['duration_s'] / 60:.0f} min): FRR {v['frr_percent']:.1f} %, "
             f"{v['false_accepts_per_hour']:g} false accepts per hour ({by_source})"]
    if not result["reached"]:
        lines.append(f"the budgets {result['budgets_per_hour']} (false accepts per hour) are NOT met")
    return "\n".join(lines)
