"""Audio sources for the streaming engine (a wav file, the microphone) and the listen loop.

The microphone callback only copies blocks into the engine's `RingBuffer`; the main thread runs
the hops. Overruns are counted, never dropped silently: PortAudio's ``input_overflow`` flag
(the driver lost audio before the callback ran) and ring-buffer overflows (the engine fell
behind) are reported separately.
"""

from __future__ import annotations

import os
import resource
import sys
import time
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from tinyaudio.data.audio import stream_audio
from tinyaudio.errors import ConfigError, MicrophoneError
from tinyaudio.runtime.stream import HopResult, StreamingEngine



def peak_rss_mb() -> float:
    """Peak resident memory of this process in MiB.

    Linux: ``VmHWM`` of /proc/self/status (``ru_maxrss`` would also count a parent's memory
    before ``exec``); elsewhere ``ru_maxrss``.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024 * 1024) if sys.platform == "darwin" else rss / 1024


class WavSource:
    """Blocks of a recording, at real-time pace or as fast as possible.

    Args:
        path: audio file (any rate; resampled to ``sample_rate``).
        sample_rate: Hz.
        block_size: samples per block, as an audio driver would deliver them.
        realtime: sleep so that blocks arrive no faster than they would from a microphone.
        pad_end_s: seconds of digital silence appended, so a word at the very end of the file
            (or a file shorter than one clip) still passes through a whole window.

    Attributes:
        late_blocks: blocks handed out more than one block late (the consumer was too slow for
            real time); 0 in fast mode.
    """

    def __init__(self, path: str | os.PathLike, sample_rate: int, *, block_size: int = 512, realtime: bool = True,
                 pad_end_s: float = 0.0):
        if block_size < 1:
            raise ConfigError(f"block_size={block_size}: give the samples per audio block, >= 1 (e.g. 512)")
        self.path = Path(path)
        self.sample_rate, self.block_size, self.realtime = sample_rate, int(block_size), realtime
        self.pad_samples = int(round(pad_end_s * sample_rate))
        self.late_blocks = 0
        self._chunks = stream_audio(self.path, sample_rate)  # opens and checks the file now
        self._first = next(self._chunks)

    def _samples(self) -> Iterator[np.ndarray]:
        yield self._first
        yield from self._chunks
        yield np.zeros(self.pad_samples, dtype=np.float32)

    def blocks(self) -> Iterator[np.ndarray]:
        """Blocks of ``block_size`` samples (the last may be shorter), read from disk as they go:
        memory stays flat however long the file."""
        t0 = time.perf_counter()
        sent = 0
        pending = np.zeros(0, dtype=np.float32)
        for chunk in self._samples():
            pending = np.concatenate([pending, chunk])
            while len(pending) >= self.block_size:
                block, pending = pending[: self.block_size], pending[self.block_size :]
                sent += len(block)
                self._pace(t0, sent)
                yield block
        if len(pending):
            sent += len(pending)
            self._pace(t0, sent)
            yield pending

    def _pace(self, t0: float, sent: int) -> None:
        if not self.realtime:
            return
        wait = t0 + sent / self.sample_rate - time.perf_counter()
        if wait > 0:
            time.sleep(wait)
        elif -wait > self.block_size / self.sample_rate:
            self.late_blocks += 1


def _sounddevice():
    try:
        import sounddevice
    except ImportError as exc:
        raise MicrophoneError(
            "microphone input needs sounddevice and PortAudio: `pip install tinyaudio[mic]` and "
            f"`apt install libportaudio2` ({str(exc).splitlines()[0]}); or use --wav FILE"
        ) from None
    except OSError:  # sounddevice raises OSError when libportaudio is absent
        raise MicrophoneError("PortAudio not found: `apt install libportaudio2` or use --wav FILE") from None
    return sounddevice


class MicSource:
    """The default (or a named) input device, feeding an engine's ring buffer from the callback.

    Attributes:
        input_overflows: callbacks in which PortAudio reported lost input.

    Raises:
        MicrophoneError: sounddevice / PortAudio missing, or no input device.
    """

    def __init__(self, sample_rate: int, *, block_size: int = 512, device: str | int | None = None):
        sd = _sounddevice()
        try:
            info = sd.query_devices(device, kind="input")
        except (ValueError, sd.PortAudioError) as exc:
            raise MicrophoneError(f"no audio input device ({str(exc).splitlines()[0]}); plug in a microphone or use --wav FILE") from None
        self.device_name = info["name"]
        self._sd, self.sample_rate, self.block_size, self.device = sd, sample_rate, int(block_size), device
        self.input_overflows = 0

    def start(self, engine: StreamingEngine):
        def callback(indata, frames, time_info, status):  # audio thread: copy and return
            if status.input_overflow:
                self.input_overflows += 1
            engine.write(indata[:, 0])

        try:
            self._stream = self._sd.InputStream(samplerate=self.sample_rate, blocksize=self.block_size, channels=1,
                                                dtype="float32", device=self.device, callback=callback)
            self._stream.start()
        except self._sd.PortAudioError as exc:
            raise MicrophoneError(f"cannot open input device {self.device_name!r} at {self.sample_rate} Hz ({exc})") from None
        return self

    def stop(self) -> None:
        stream = getattr(self, "_stream", None)
        if stream is not None:
            stream.abort()  # not stop(): it waits for the device, which never comes when the input stalled
            stream.close()


def listen(engine: StreamingEngine, source: WavSource | MicSource, on_result: Callable[[HopResult], None], *,
           duration_s: float | None = None, should_stop: Callable[[], bool] = lambda: False) -> dict:
    """Feed ``source`` through ``engine`` until it ends (wav), ``duration_s`` passes or ``should_stop()``.

    Returns:
        summary dict: hops, detections, audio_s, wall_s, overruns (ring buffer), input_overflows
        (PortAudio), late_blocks (wav real-time mode), timing_ms percentiles, peak_rss_mb.
    """
    hops = detections = 0
    t0 = time.perf_counter()

    def handle(results) -> None:
        nonlocal hops, detections
        for r in results:
            hops += 1
            detections += r.detection is not None
            on_result(r)

    if isinstance(source, WavSource):
        limit = None if duration_s is None else int(duration_s * source.sample_rate)
        fed = 0
        for block in source.blocks():
            engine.write(block)
            fed += len(block)
            handle(engine.process_pending())
            if should_stop() or (limit is not None and fed >= limit):
                break
    else:
        source.start(engine)
        try:
            while not should_stop() and (duration_s is None or time.perf_counter() - t0 < duration_s):
                handle(engine.process_pending())
                time.sleep(engine.hop_s / 4)
        finally:
            source.stop()
        handle(engine.process_pending())
    return {
        "type": "summary",
        "hops": hops,
        "detections": detections,
        "audio_s": round(engine.buffer.written / engine.config.sample_rate, 3),
        "wall_s": round(time.perf_counter() - t0, 3),
        "hop_ms": round(engine.hop_s * 1000, 3),
        "rule": engine.rule.to_dict(),
        "overruns": engine.overruns,
        "dropped_samples": engine.buffer.dropped,
        "input_overflows": getattr(source, "input_overflows", 0),
        "late_blocks": getattr(source, "late_blocks", 0),
        "timing_ms": engine.timer.summary(),
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }


def score_bar(score: float, width: int = 20) -> str:
    """``"██████░░░░"``-style bar of a score in [0, 1]."""
    n = int(round(max(0.0, min(1.0, score)) * width))
    return "█" * n + "░" * (width - n)


def listen_console(engine: StreamingEngine, source: WavSource | MicSource, *, as_json: bool = False,
                   duration_s: float | None = None, console=None) -> dict:
    """`listen` with terminal output: a rich live line (top label, score bar, latency) and one
    timestamped line per detection; or, with ``as_json``, JSON lines (one per detection, then the
    summary). Ctrl-C stops cleanly and still reports the summary."""
    import json

    from rich.console import Console
    from rich.live import Live

    console = console or Console()
    labels = engine.labels

    if as_json:
        def on_result(r: HopResult) -> None:
            if r.detection is not None:
                d = r.detection
                print(json.dumps({"type": "detection", "time_s": round(d.time_s, 3), "label": d.label,
                                  "score": round(d.score, 4)}), flush=True)

        try:
            summary = listen(engine, source, on_result, duration_s=duration_s)
        except KeyboardInterrupt:
            summary = None
        print(json.dumps(summary or {"type": "summary", "interrupted": True}), flush=True)
        return summary or {}

    state = {"last": 0.0}
    with Live("", console=console, refresh_per_second=10, transient=True) as live:
        def on_result(r: HopResult) -> None:
            if r.detection is not None:
                d = r.detection
                live.console.print(f"[bold green]{d.time_s:9.2f} s[/]  [bold]{d.label}[/]  score {d.score:.3f}")
            now = time.perf_counter()
            if now - state["last"] >= 0.1:
                state["last"] = now
                top = int(np.argmax(r.smoothed))
                live.update(
                    f"{r.time_s:8.2f} s  {labels[top]:>10} {score_bar(float(r.smoothed[top]))} {r.smoothed[top]:.2f}  "
                    f"hop {r.total_ms:5.2f} ms (features {r.feature_ms:.2f}, model {r.inference_ms:.2f})  "
                    f"overruns {engine.overruns + getattr(source, 'input_overflows', 0)}"
                )

        try:
            summary = listen(engine, source, on_result, duration_s=duration_s)
        except KeyboardInterrupt:
            summary = {"type": "summary", "interrupted": True, "overruns": engine.overruns,
                       "timing_ms": engine.timer.summary(), "peak_rss_mb": round(peak_rss_mb(), 1)}
    t = summary.get("timing_ms", {}).get("total_ms", {})
    console.print(
        f"{summary.get('hops', 0)} hops of {summary.get('hop_ms', engine.hop_s * 1000):.0f} ms, "
        f"{summary.get('detections', 0)} detections; per hop p50 {t.get('p50', 0):.2f} ms, p99 {t.get('p99', 0):.2f} ms; "
        f"overruns {summary.get('overruns', 0)}, input overflows {summary.get('input_overflows', 0)}, "
        f"late blocks {summary.get('late_blocks', 0)}; peak memory {summary.get('peak_rss_mb', 0):.0f} MiB"
    )
    return summary
