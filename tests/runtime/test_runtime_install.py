"""`pip install .[runtime]` in a clean venv: no TensorFlow, and `predict`, `listen --wav`, `stream-eval` work.

Slow (a fresh venv and a download of the runtime wheels): run with ``pytest -m slow``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_runtime_extra_has_no_tensorflow_and_runs_predict_listen_stream_eval(tmp_path, tiny_run, stop_wav, data_root):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py, cli = venv / "bin" / "python", venv / "bin" / "tinyaudio"
    subprocess.run([str(py), "-m", "pip", "install", "-q", f"{ROOT}[runtime]"], check=True, timeout=1200)
    found = subprocess.run([str(py), "-c", "import importlib.util as u, json; print(json.dumps([m for m in "
                            "('tensorflow', 'tensorflow_cpu', 'keras', 'librosa') if u.find_spec(m)]))"],
                           capture_output=True, text=True, check=True)
    assert json.loads(found.stdout) == []

    env = {"TINYAUDIO_DATA": str(data_root), "PATH": f"{venv / 'bin'}:/usr/bin:/bin"}
    pred = subprocess.run([str(cli), "predict", str(tiny_run), str(stop_wav), "--json"], capture_output=True, text=True, env=env)
    assert pred.returncode == 0, pred.stderr
    assert json.loads(pred.stdout.splitlines()[-1])["path"] == str(stop_wav)
    listen = subprocess.run([str(cli), "listen", str(tiny_run), "--wav", str(stop_wav), "--fast", "--json"],
                            capture_output=True, text=True, env=env)
    assert listen.returncode == 0, listen.stderr
    assert json.loads(listen.stdout.splitlines()[-1])["hops"] == 51
    run = tmp_path / "run"
    subprocess.run(["cp", "-r", str(tiny_run), str(run)], check=True)
    se = subprocess.run([str(cli), "stream-eval", str(run), "--minutes", "0.5", "--snr", "10"], capture_output=True, text=True, env=env)
    assert se.returncode == 0, se.stderr
    assert json.loads((run / "stream_eval.json").read_text())["engine"]["hops"] > 0
