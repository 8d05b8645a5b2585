"""The microphone path for real: PulseAudio with a virtual source fed from a real clip, heard by
`tinyaudio listen` through sounddevice / PortAudio (ALSA's pulse plugin), at real time.

Needs Debian ``pulseaudio pulseaudio-utils libportaudio2 libasound2-plugins`` and
``pip install 'tinyaudio[mic]'`` (``.ci/run`` installs them); skipped with the reason otherwise.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

sd = pytest.importorskip("sounddevice", reason="pip install 'tinyaudio[mic]' (sounddevice) and apt install libportaudio2")
if shutil.which("pulseaudio") is None or shutil.which("pactl") is None:
    pytest.skip("apt install pulseaudio pulseaudio-utils libasound2-plugins", allow_module_level=True)

RATE = 16000
FEEDER = """
import os, sys, time
pcm, fifo, rate = open(sys.argv[1], "rb").read(), sys.argv[2], int(sys.argv[3])
fd = os.open(fifo, os.O_WRONLY)
t0, block = time.time(), rate // 10
try:
    for i in range(0, len(pcm), 2 * block):
        os.write(fd, pcm[i : i + 2 * block])
        time.sleep(max(0.0, t0 + (i // 2 + block) / rate - time.time()))
except BrokenPipeError:
    pass
"""


@pytest.fixture(scope="module")
def virtual_mic(tmp_path_factory):
    """A PulseAudio server of our own with a pipe source ``tinyaudio_mic`` (16 kHz mono s16le) as the
    default input; yields a function that plays float32 samples into it at real-time pace."""
    runtime = tmp_path_factory.mktemp("pulse")
    env = {**os.environ, "XDG_RUNTIME_DIR": str(runtime), "PULSE_RUNTIME_PATH": str(runtime / "pulse")}
    fifo = runtime / "mic.fifo"
    started = subprocess.run(["pulseaudio", "-D", "--exit-idle-time=-1", "-n", "--load=module-native-protocol-unix",
                              "--load=module-null-sink sink_name=silence", "--log-target=stderr"],
                             env=env, capture_output=True, text=True, timeout=30)
    if started.returncode != 0:
        pytest.skip(f"pulseaudio did not start: {started.stderr.strip()[-200:]}")
    try:
        subprocess.run(["pactl", "load-module", "module-pipe-source", "source_name=tinyaudio_mic", f"file={fifo}",
                        "format=s16le", f"rate={RATE}", "channels=1"], env=env, check=True, capture_output=True, timeout=30)
        subprocess.run(["pactl", "set-default-source", "tinyaudio_mic"], env=env, check=True, capture_output=True, timeout=30)

        def play(samples: np.ndarray) -> subprocess.Popen:
            """Write ``samples`` into the source's FIFO at real-time pace, from another process."""
            pcm = runtime / f"play{time.monotonic_ns()}.raw"
            (np.clip(samples, -1, 1) * 32767).astype("<i2").tofile(pcm)
            return subprocess.Popen([sys.executable, "-c", FEEDER, str(pcm), str(fifo), str(RATE)])

        yield env, play
    finally:
        subprocess.run(["pulseaudio", "--kill"], env=env, capture_output=True, timeout=30)


def _word(data_root: Path) -> np.ndarray:
    from tinyaudio.data import load_audio

    word = load_audio(data_root / "fsdd" / "recordings" / "7_theo_1.wav", RATE)
    return np.concatenate([np.zeros(3 * RATE, np.float32), word, np.zeros(20 * RATE, np.float32)])  # the feeder is killed


def test_listen_hears_the_keyword_from_the_microphone_at_real_time(virtual_mic, fsdd_run, data_root):
    env, play = virtual_mic
    feeder = play(_word(data_root))
    try:
        out = subprocess.run([sys.executable, "-m", "tinyaudio.cli", "listen", str(fsdd_run), "--device", "pulse",
                              "--duration", "6", "--json", "--threshold", "0.1", "--suppression", "0"],
                             env=env, capture_output=True, text=True, timeout=60)
    finally:
        feeder.kill()
    assert out.returncode == 0, out.stdout + out.stderr
    lines = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    summary, detections = lines[-1], lines[:-1]
    best = max(detections, key=lambda d: d["score"])  # the weak test model also says digits of silence, less sure
    # the word is 3.0-3.7 s into the feed; listen starts up to ~2 s after the feeder (imports)
    assert best["label"] == "7" and 1.0 < best["time_s"] < 5.0, lines
    assert summary["overruns"] == 0 and summary["input_overflows"] == 0 and summary["dropped_samples"] == 0
    # real time: about six seconds of microphone in six seconds. PulseAudio hands over what it buffered
    # while the stream opened as one backlog, which on a loaded 2-core box reached 0.66 s: hence 7.
    assert 5.5 <= summary["audio_s"] <= 7.0, summary


STALLED = """
import json, sys, time
from tinyaudio.runtime import Classifier
from tinyaudio.runtime.listen import MicSource, listen
from tinyaudio.runtime.stream import StreamingEngine
clf = Classifier(sys.argv[1])
fast = clf.scores
def stalled(features):
    time.sleep(0.06)  # 3x slower than the 20 ms hop: the 2 s ring buffer overflows within 5 s
    return fast(features)
clf.scores = stalled
summary = listen(StreamingEngine(clf), MicSource(clf.feature_config.sample_rate, device="pulse"), lambda r: None, duration_s=5)
print(json.dumps(summary))
"""


def test_a_stalled_consumer_is_counted_as_overruns_not_dropped_silently(virtual_mic, fsdd_run, data_root):
    env, play = virtual_mic  # PortAudio reads the server from the environment when it starts: a fresh process
    feeder = play(_word(data_root))
    try:
        out = subprocess.run([sys.executable, "-c", STALLED, str(fsdd_run)], env=env, capture_output=True, text=True, timeout=60)
    finally:
        feeder.kill()
    assert out.returncode == 0, out.stderr[-2000:]
    summary = json.loads(out.stdout.strip().splitlines()[-1])
    assert summary["overruns"] > 0 and summary["dropped_samples"] > 0, summary
