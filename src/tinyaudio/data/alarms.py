"""Synthetic smoke / fire alarm recordings: piezo tones, standard temporal patterns, rooms.

A smoke detector's horn is a piezo disc driven near its resonance: a tone of about 2.5-4.5 kHz
with odd harmonics (sine-like to square-ish), switched on and off in a temporal pattern. The
fundamental is drawn from 2-5 kHz (`F0_RANGE_HZ`), a margin around that range: with a uniform draw
over exactly 2.5-4.5 kHz a real detector at 2.49 kHz (the shared "smoke detector 3") sat at the
edge, where hardly any rendering falls, and detectors trained with them found only 3-54 % of its
windows (`benchmarks/alarm_loro.py`, generator version 1). The patterns:

- **temporal-three** (ISO 8201, NFPA 72 evacuation signal): three 0.5 s pulses 0.5 s apart,
  then 1.5 s off (a 4 s cycle);
- **temporal-four** (carbon-monoxide alarms, NFPA 720): four 0.1 s pulses 0.1 s apart, then 5 s off;
- **continuous** and **beeping** (a random on / off duty cycle: fire-house alarms, older units).

Each recording draws a fundamental, a harmonic roll-off, a slight frequency warble, a pattern
with timing jitter, a level, and a room: a shoebox (3-8 m x 3-6 m x 2.4-3.2 m) with an RT60 of
0.15-0.9 s simulated by pyroomacoustics' image source method (Scheibler et al. 2018, ICASSP),
source and microphone placed at random. `tinyaudio synthesize smoke_alarm --n N` writes them as
``smoke_alarm/*.wav``; the fire-alarm recipe cuts them into 1 s windows like the real recordings.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from tinyaudio.errors import SynthesisError

PATTERNS = ("temporal_three", "temporal_four", "continuous", "beeping")
#: Names `tinyaudio synthesize` treats as sound events, not words.
SOUND_EVENTS = ("smoke_alarm",)


@dataclasses.dataclass(frozen=True)
class AlarmSpec:
    """One synthetic alarm recording (all drawn by `draw_spec`)."""

    f0_hz: float
    rolloff: float
    warble: float
    pattern: str
    jitter: float
    level_dbfs: float
    room_dim_m: tuple[float, float, float]
    rt60_s: float
    duration_s: float


#: Fundamental range (Hz) drawn uniformly; see the module docstring for why it is wider than 2.5-4.5 kHz.
F0_RANGE_HZ = (2000.0, 5000.0)
#: Bumped whenever `draw_spec` or `render_alarm` changes, so cached renderings are rebuilt.
GENERATOR_VERSION = 2


def draw_spec(rng: np.random.Generator, duration_s: float = 6.0) -> AlarmSpec:
    """Random alarm settings over the range real detectors use (module docstring)."""
    return AlarmSpec(
        f0_hz=float(rng.uniform(*F0_RANGE_HZ)),
        rolloff=float(rng.uniform(1.0, 4.0)),  # harmonic k has amplitude k**-rolloff: 1 square-ish, 4 sine-like
        warble=float(rng.uniform(0.0, 0.015)),
        pattern=str(rng.choice(PATTERNS, p=[0.45, 0.15, 0.15, 0.25])),
        jitter=float(rng.uniform(0.0, 0.2)),
        level_dbfs=float(rng.uniform(-30.0, -6.0)),
        room_dim_m=(float(rng.uniform(3, 8)), float(rng.uniform(3, 6)), float(rng.uniform(2.4, 3.2))),
        rt60_s=float(rng.uniform(0.15, 0.9)),
        duration_s=duration_s,
    )


def _envelope(spec: AlarmSpec, n: int, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """0 / 1 on-off gate of the pattern (random start phase), with 3 ms ramps."""
    scale = lambda s: s * (1.0 + rng.uniform(-spec.jitter, spec.jitter))  # noqa: E731
    if spec.pattern == "temporal_three":
        cycle = [(scale(0.5), 1), (scale(0.5), 0), (scale(0.5), 1), (scale(0.5), 0), (scale(0.5), 1), (scale(1.5), 0)]
    elif spec.pattern == "temporal_four":
        cycle = [(scale(0.1), 1), (scale(0.1), 0)] * 4 + [(scale(5.0), 0)]
    elif spec.pattern == "continuous":
        cycle = [(spec.duration_s + 1.0, 1)]
    else:
        cycle = [(float(rng.uniform(0.05, 0.6)), 1), (float(rng.uniform(0.05, 1.5)), 0)]
    gate = []
    while len(gate) < 2 * n:
        for length, on in cycle:
            gate += [on] * max(1, int(length * sample_rate))
    start = int(rng.integers(0, len(gate) - n))
    env = np.asarray(gate[start : start + n], dtype=np.float32)
    ramp = max(1, int(0.003 * sample_rate))
    return np.convolve(env, np.ones(ramp, dtype=np.float32) / ramp, mode="same")


def render_alarm(spec: AlarmSpec, rng: np.random.Generator, sample_rate: int = 16000) -> np.ndarray:
    """One alarm recording as heard by a microphone in a room; float32, shape (duration_s * sample_rate,).

    Harmonics above Nyquist are left out (no aliasing). Raises SynthesisError when ``f0_hz`` is
    not below the Nyquist frequency.
    """
    import pyroomacoustics as pra

    if spec.f0_hz >= sample_rate / 2:
        raise SynthesisError(f"alarm fundamental {spec.f0_hz:.0f} Hz is not below Nyquist at {sample_rate} Hz")
    n = int(round(spec.duration_s * sample_rate))
    t = np.arange(n) / sample_rate
    f = spec.f0_hz * (1.0 + spec.warble * np.sin(2 * np.pi * rng.uniform(2, 12) * t))  # vibrato of the horn
    phase = 2 * np.pi * np.cumsum(f) / sample_rate
    tone = np.zeros(n)
    for k in range(1, int((sample_rate / 2) / (spec.f0_hz * (1 + spec.warble))) + 1):
        amplitude = k ** -spec.rolloff if k % 2 else 0.1 * k ** -spec.rolloff  # odd harmonics dominate
        tone += amplitude * np.sin(k * phase)
    dry = (tone * _envelope(spec, n, sample_rate, rng)).astype(np.float32)
    absorption, max_order = pra.inverse_sabine(spec.rt60_s, list(spec.room_dim_m))
    room = pra.ShoeBox(list(spec.room_dim_m), fs=sample_rate, materials=pra.Material(absorption), max_order=min(max_order, 25))
    dims = np.array(spec.room_dim_m)
    room.add_source(list(rng.uniform([0.3, 0.3, 2.0], dims - 0.3)))  # ceiling-height horn
    room.add_microphone(list(rng.uniform([0.3, 0.3, 0.5], dims - [0.3, 0.3, 1.0])))
    room.compute_rir()
    wet = np.convolve(dry, np.asarray(room.rir[0][0], dtype=np.float32))[:n]
    peak = float(np.abs(wet).max())
    return (wet * (10 ** (spec.level_dbfs / 20) / peak)).astype(np.float32) if peak > 0 else wet


def synthesize_alarms(n: int, *, sample_rate: int = 16000, duration_s: float = 6.0, seed: int = 0) -> tuple[list[np.ndarray], list[dict[str, Any]]]:
    """``n`` synthetic alarm recordings (`draw_spec`, `render_alarm`), seeded.

    Returns:
        (recordings float32 (duration_s * sample_rate,), their specs as dicts).
    """
    rng = np.random.default_rng(seed)
    out, specs = [], []
    for _ in range(n):
        spec = draw_spec(rng, duration_s)
        out.append(render_alarm(spec, rng, sample_rate))
        specs.append(dataclasses.asdict(spec))
    return out, specs


def alarm_folder(path, n: int, *, duration_s: float = 6.0, seed: int = 0, overwrite: bool = False) -> dict[str, Any]:
    """Write ``n`` synthetic alarms as ``path/smoke_alarm/0000.wav ...`` plus ``alarms.json`` (their
    specs), atomically (`tinyaudio._io.build_folder`).

    Raises:
        SynthesisError: ``n < 1``; FolderExistsError: ``path`` exists (see ``overwrite``).
    """
    import json

    from tinyaudio._io import build_folder, write_text_atomic
    from tinyaudio.data.synth import write_clips

    if n < 1:
        raise SynthesisError(f"smoke_alarm: --n must be at least 1, got {n}")
    with build_folder(path, overwrite=overwrite, what="synthetic alarm folder") as tmp:
        recordings, specs = synthesize_alarms(n, duration_s=duration_s, seed=seed)
        paths = write_clips(recordings, tmp, "smoke_alarm")
        write_text_atomic(tmp / "alarms.json", json.dumps({p.name: s for p, s in zip(paths, specs)}, indent=1) + "\n")
    return {"path": str(path), "clips": n, "seconds": duration_s}


def cached_alarms(n: int, *, seed: int = 0) -> list:
    """Paths of ``n`` synthetic alarms made once under ``$TINYAUDIO_CACHE/synth/alarms-v<version>-<n>-<seed>``
    (``GENERATOR_VERSION``: renderings of an older generator are not reused)."""
    from tinyaudio.paths import cache_root

    folder = cache_root() / "synth" / f"alarms-v{GENERATOR_VERSION}-{n}-{seed}"
    if not (folder / "alarms.json").exists():
        alarm_folder(folder, n, seed=seed, overwrite=True)
    return sorted((folder / "smoke_alarm").glob("*.wav"))
