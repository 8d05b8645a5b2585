"""The streaming path (engine, listen, stream-eval, their CLI commands) never imports TensorFlow, Keras or librosa."""

from __future__ import annotations

import json
import subprocess
import sys

SCRIPT = """
import json, sys
from typer.testing import CliRunner
from tinyaudio.cli import app
from tinyaudio.evaluate.stream import stream_eval
run, wav, data = sys.argv[1:4]
r = CliRunner().invoke(app, ["listen", run, "--wav", wav, "--fast", "--json"])
assert r.exit_code == 0, r.output
res = stream_eval(run, duration_s=20, snrs_db=(10.0,), data_dir=data, write=False)
assert res["engine"]["hops"] > 0
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras", "librosa", "tf_keras"))))
"""


def test_streaming_path_imports_no_tensorflow(tiny_run, stop_wav, data_root):
    out = subprocess.run([sys.executable, "-c", SCRIPT, str(tiny_run), str(stop_wav), str(data_root)],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []
