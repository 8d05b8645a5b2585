"""tinyaudio.pipeline.search: the space, the budget, the Pareto set, and real searches on Ray.

The slow tests (run by .ci/run) start a real two-node Ray cluster on 127.0.0.1 and run a 4-trial,
1-epoch search on it through the CLI, and interrupt a local search with Ctrl-C (SIGINT) and resume it.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from tinyaudio.features.config import check_q15_config
from tinyaudio.pipeline.search import SPACE, Budget, Cost, feature_config, pareto_front


def test_every_feature_point_of_the_space_is_a_valid_q15_config():
    keys = ("kind", "n_features", "hop_length", "win_length")
    for values in itertools.product(*(SPACE[k] for k in keys)):
        config = feature_config(dict(zip(keys, values)))
        check_q15_config(config)
        assert config.n_features == dict(zip(keys, values))["n_features"] and config.n_frames >= 20


def test_budget_names_every_limit_it_breaks():
    cost = Cost(cycles=6e6, ms=48.0, arena_size=40000, flash_bytes=300000, params=20000, macs=10**6)
    assert Budget(max_arena=32768, max_flash=262144, max_ms=24).problems(cost) == [
        "arena 40000 B > 32768 B", "flash 300000 B > 262144 B", "48.0 ms > 24 ms"]
    assert Budget(max_arena=65536, max_ms=50).problems(cost) == []


def test_pareto_front_keeps_only_unbeaten_finished_feasible_trials():
    def row(name, acc, cycles, done=True, feasible=True):
        return {"trial": name, "val_accuracy": acc, "cycles": cycles, "trained": done, "feasible": feasible}

    rows = [row("a", 0.90, 5e6), row("b", 0.85, 2e6), row("c", 0.84, 3e6),  # c: beaten by b on both
            row("d", 0.95, 9e6), row("e", 0.99, 1e6, done=False),  # e: stopped early, not a result
            row("f", 0.99, 1e6, feasible=False), row("g", 0.90, 5e6)]  # g ties a: neither beats the other
    assert [r["trial"] for r in pareto_front(rows)] == ["b", "a", "g", "d"]


def test_pareto_rows_over_the_budget_when_measured_are_marked(tmp_path, monkeypatch):
    """The cost model priced both trials at 20 ms; QEMU measures 3.2 M cycles (25.6 ms at 125 MHz)
    for the second (as a wide TC-ResNet of the RP2040 search did): the table says so."""
    import tinyaudio.export.mcu.cost as cost
    from tinyaudio.pipeline.search import SearchSettings, summarize

    search = tmp_path / "search"
    rows, measured_cycles = [], {}
    for name, acc, measured in (("narrow", 0.85, 2.0e6), ("wide", 0.90, 3.2e6)):
        measured_cycles[name.encode()] = measured
        run = search / "runs" / name
        run.mkdir(parents=True)
        (run / "metrics.json").write_text(json.dumps({"test": {"int8": {"accuracy": acc - 0.05}}}))
        (run / "model_int8.tflite").write_bytes(name.encode())
        rows.append({"trial": name, "trained": True, "feasible": True, "val_accuracy": acc, "cycles": 2.5e6 + acc,
                     "run": str(run), "config": {"model": "tc_resnet", "width_multiplier": 1.0, "depth_multiplier": 1.0,
                     "kind": "mfcc_q15", "n_features": 10, "hop_length": 320, "win_length": 400},
                     "arena_size": 1000, "flash_bytes": 2000, "params": 3000})
    (search / "search.json").write_text(json.dumps(SearchSettings(budget=Budget(max_ms=24.0)).to_dict()))
    (search / "trials.json").write_text(json.dumps(rows))
    monkeypatch.setattr(cost, "measure_cycles", lambda model, cpu, tmp: (None, measured_cycles[model]))
    front = summarize(search, log=lambda *_: None)
    assert [(r["trial"], r["over_budget_measured"]) for r in front] == [("narrow", False), ("wide", True)]
    table = (search / "pareto.md").read_text()
    assert "| 16.0 |" in table and "| 25.6 (over 24) |" in table


def _tinyaudio(*args, env=None, **kwargs):
    return subprocess.run([sys.executable, "-m", "tinyaudio.cli", *args], env=env, capture_output=True, text=True,
                          **kwargs)


def _env(data_root) -> dict[str, str]:
    return {**os.environ, "TINYAUDIO_DATA": str(data_root), "TF_CPP_MIN_LOG_LEVEL": "3"}


def _ray() -> str:
    ray = shutil.which("ray", path=str(Path(sys.executable).parent)) or shutil.which("ray")
    if ray is None:
        pytest.skip("ray not installed (pip install tinyaudio[search])")
    return ray


QUICK = ("--dataset", "fsdd", "--epochs", "1", "--grace-epochs", "1", "--max-clips-per-split", "40",
         "--max-ms", "400", "--max-arena", "65536")


@pytest.mark.slow
def test_search_on_a_two_node_ray_cluster(data_root, tmp_path):
    """`ray start --head` plus a second node (one CPU each) on 127.0.0.1; the search connects with
    --address and its 4 trials run there, each writing a run folder; the Pareto table and plot are written."""
    ray = _ray()
    # every trial distils from a teacher on other features (float MFCC at 16 kHz; the trials' are q15)
    from tinyaudio.pipeline import TrainConfig, train

    teacher = tmp_path / "teacher"
    train(TrainConfig(dataset="fsdd", features="mfcc_49x10", width_multiplier=0.25, epochs=1, max_clips_per_split=40,
                      representative_size=20), teacher, verbose=0, log=lambda *_: None)
    # token authentication on (Ray's default for a new local cluster), stated so that every process
    # agrees, with the cluster's token given to every process: `ray start --head` does not make one,
    # and a fresh machine has no ~/.ray/auth_token
    env = {**_env(data_root), "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "token",
           "RAY_AUTH_TOKEN": secrets.token_hex(32)}
    port = "6397"
    temp = tempfile.mkdtemp(prefix="ray", dir="/tmp")  # Ray's socket paths must stay under 107 bytes
    head = subprocess.run([ray, "start", "--head", f"--port={port}", "--num-cpus=1", "--include-dashboard=false",
                           f"--temp-dir={temp}"], env=env, capture_output=True, text=True)
    assert head.returncode == 0, head.stderr[-2000:]
    try:
        worker = subprocess.run([ray, "start", f"--address=127.0.0.1:{port}", "--num-cpus=1"], env=env,
                                capture_output=True, text=True)
        assert worker.returncode == 0, worker.stderr[-2000:]
        nodes = subprocess.run([sys.executable, "-c", "import ray; ray.init(address='127.0.0.1:" + port + "', "
                                "logging_level='ERROR'); print(sum(n['Alive'] for n in ray.nodes()))"],
                               env=env, capture_output=True, text=True)
        assert nodes.stdout.strip().splitlines()[-1] == "2", nodes.stdout + nodes.stderr[-2000:]  # two nodes alive
        out = tmp_path / "search"
        result = _tinyaudio("search", "--out", str(out), "--trials", "4", "--address", f"127.0.0.1:{port}", *QUICK,
                            "--teacher", str(teacher), "--distill-alpha", "0.3", "--augment-copies", "2",
                            env=env, timeout=1200)
        assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    finally:
        subprocess.run([ray, "stop", "--force"], env=env, capture_output=True)
        shutil.rmtree(temp, ignore_errors=True)
    rows = json.loads((out / "trials.json").read_text())
    assert len(rows) == 4
    trained = [r for r in rows if r["trained"]]
    assert trained, rows
    for r in trained:
        assert (Path(r["run"]) / "model_int8.tflite").exists() and r["feasible"] and r["ms"] <= 400
        assert 0 < r["val_accuracy"] <= 1
        config = json.loads((Path(r["run"]) / "config.json").read_text())
        assert (config["teacher"], config["distill_alpha"], config["augment_copies"]) == (str(teacher), 0.3, 2)
        assert json.loads((Path(r["run"]) / "metrics.json").read_text())["distillation"]["teachers"] == [str(teacher)]
    assert (out / "pareto.md").read_text().count("\n| ") >= 2 and (out / "pareto.png").stat().st_size > 1000
    front = json.loads((out / "pareto.json").read_text())
    assert front and all(r["test_accuracy_int8"] is not None for r in front)


def _finished_runs(out: Path) -> list[str]:
    """Run folders of the trials whose final report (after their run folder) Ray Tune has recorded."""
    runs = []
    for result in out.glob("ray/*/result.json"):
        for line in result.read_text().splitlines():
            report = json.loads(line)
            if report.get("trained"):
                runs.append(report["run"])
    return runs


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.slow
def test_search_interrupted_with_ctrl_c_resumes_and_keeps_finished_trials(data_root, tmp_path):
    _ray()
    env = {**_env(data_root), "RAY_USAGE_STATS_ENABLED": "0"}
    out = tmp_path / "search"
    proc = subprocess.Popen([sys.executable, "-m", "tinyaudio.cli", "search", "--out", str(out), "--trials", "6", *QUICK],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.time() + 900
        while time.time() < deadline and not _finished_runs(out):
            assert proc.poll() is None, "the search ended before any trial finished"
            time.sleep(2)
        time.sleep(5)  # the trial's function returns just after its final report
        finished = {Path(run).name: _sha(Path(run) / "model_int8.tflite") for run in _finished_runs(out)}
        assert finished, "no trial finished in 15 minutes"
        os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C at the terminal reaches the whole process group
        proc.wait(timeout=300)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    result = _tinyaudio("search", "--resume", str(out), env=env, timeout=1800)
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    rows = json.loads((out / "trials.json").read_text())
    assert len(rows) == 6
    for name, sha in finished.items():  # the trials finished before Ctrl-C are kept, untouched
        assert _sha(out / "runs" / name / "model_int8.tflite") == sha
        assert any(r["run"].endswith(name) and r["trained"] for r in rows)


def test_points_that_build_the_same_model_share_an_architecture():
    from tinyaudio.pipeline.search import architecture

    point = {"kind": "mfcc_q15", "n_features": 10, "hop_length": 320, "win_length": 400, "model": "tc_resnet",
             "width_multiplier": 0.75, "depth_multiplier": 0.5}
    assert architecture(point) == architecture({**point, "depth_multiplier": 1.0})  # one block per stage both
    assert architecture(point) != architecture({**point, "depth_multiplier": 1.5})  # two
    assert architecture({**point, "model": "ds_cnn", "width_multiplier": 1.0, "depth_multiplier": 1.0})[-1] == (
        ("n_blocks", 4), ("width", 64))
