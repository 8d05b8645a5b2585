"""Nothing lost: --overwrite replaces only tinyaudio's own folders, checked before any work, and an
interrupted training (Ctrl-C) leaves the existing run folder exactly as it was."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tinyaudio.errors import FolderExistsError
from tinyaudio.runtime.run_folder import RunFolder

TINYAUDIO = [sys.executable, "-m", "tinyaudio.cli"]


def _tree(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _run(args, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([*TINYAUDIO, *args], capture_output=True, text=True, timeout=300, **kwargs)


def test_user_folder_is_never_replaced(tmp_path, data_root):
    recordings = tmp_path / "mywords"
    for label in ("yes", "no"):
        (recordings / label).mkdir(parents=True)
        for i in range(3):
            shutil.copyfile(next((data_root / "fsdd" / "recordings").glob(f"{i}_*.wav")), recordings / label / f"{i}.wav")
    before = _tree(recordings)
    started = time.time()
    result = _run(["train", "--dataset", str(recordings), "--out", str(recordings), "--overwrite", "--epochs", "1"])
    assert result.returncode == 2
    assert "not replaced: it holds files tinyaudio did not write (no, yes)" in result.stderr.replace("\n", " ")
    assert "Traceback" not in result.stderr
    assert _tree(recordings) == before
    assert time.time() - started < 60  # refused before loading data or TensorFlow work

    result = _run(["train", "--out", str(tmp_path), "--overwrite", "--epochs", "1"])  # the parent folder
    assert result.returncode == 2 and "not replaced" in result.stderr
    assert _tree(recordings) == before


def test_existing_run_refused_without_overwrite(fsdd_run, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(fsdd_run, copy)
    result = _run(["train", "--out", str(copy), "--epochs", "1"])
    assert result.returncode == 2
    assert f"{copy}: run folder exists; choose another --out (or --overwrite to replace it)" in " ".join(result.stderr.split())
    assert "train:" not in result.stdout  # nothing was loaded
    with pytest.raises(FolderExistsError, match="run folder exists"):
        RunFolder.check_target(copy, overwrite=False)
    RunFolder.check_target(copy, overwrite=True)  # a folder tinyaudio wrote may be replaced


def test_sigint_during_training_keeps_old_run(fsdd_run, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(fsdd_run, copy)
    before = _tree(copy)
    proc = subprocess.Popen([*TINYAUDIO, "train", "--out", str(copy), "--overwrite", "--epochs", "200", "--patience", "200",
                             "--max-clips-per-split", "300"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env={**os.environ, "COLUMNS": "200"})
    seen = ""
    deadline = time.time() + 240
    while "test:" not in seen and time.time() < deadline:  # features done: training is under way
        line = proc.stdout.readline()
        if not line:
            break
        seen += line
    assert "test:" in seen, seen
    time.sleep(3)
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=120)
    assert proc.returncode != 0
    assert _tree(copy) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # no temporary sibling left behind
