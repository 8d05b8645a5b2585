"""FSDD end to end: train -> int8 .tflite -> predict / evaluate, plus the refusals."""

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

from tinyaudio.errors import AudioError, ConfigMismatchError, TinyAudioError
from tinyaudio.features import PRESETS
from tinyaudio.runtime import Classifier
from tinyaudio.evaluate.classify import evaluate_run
from tinyaudio.pipeline import TrainConfig, train

@pytest.fixture(scope="module")
def run_dir(fsdd_run):
    return fsdd_run


def test_run_folder_has_every_artifact(run_dir):
    names = {p.name for p in run_dir.iterdir()}
    expected = {"config.json", "feature_config.json", "labels.txt", "model.keras", "model_float.tflite",
                "model_int8.tflite", "model_dynamic.tflite", "model_int8.h", "metrics.json",
                "history.png", "confusion_int8.png"}
    assert expected <= names
    assert not [n for n in names if "tmp" in n]
    assert (run_dir / "model_int8.h").read_text().count("0x") == (run_dir / "model_int8.tflite").stat().st_size


def test_int8_accuracy_well_above_chance_and_close_to_float(run_dir):
    m = json.loads((run_dir / "metrics.json").read_text())
    assert m["counts"]["test"] == 300  # max_clips_per_split=1200 leaves test whole
    assert m["int8_accuracy"] >= 0.85, m["int8_accuracy"]  # chance is 0.10
    assert abs(m["int8_accuracy"] - m["float_accuracy"]) <= 0.03
    assert m["params"] <= 25_000
    assert set(m["test"]["int8"]["per_speaker_accuracy"]) == {"george", "jackson", "lucas", "nicolas", "theo", "yweweler"}
    # validation: the int8 model on the validation split, by source (FSDD's own clips only here)
    assert m["validation"]["by_source"] == {"dataset": {"accuracy": m["validation"]["int8_accuracy"],
                                                        "clips": m["counts"]["validation"]}}
    assert m["validation"]["int8_accuracy"] >= 0.85
    assert evaluate_run(run_dir, split="validation")["accuracy"] == pytest.approx(m["validation"]["int8_accuracy"], abs=1e-4)


def test_evaluate_recomputes_the_same_accuracy(run_dir):
    m = json.loads((run_dir / "metrics.json").read_text())
    assert evaluate_run(run_dir)["accuracy"] == pytest.approx(m["int8_accuracy"])


def test_int8_input_is_quantized_int8(run_dir):
    c = Classifier(run_dir)
    assert c.model.input_dtype == np.int8 and c.model.output_dtype == np.int8
    scale, zero_point = c.model.input_quantization
    assert scale > 0 and -128 <= zero_point <= 127


PREDICT_WITHOUT_TF = """
import sys
from typer.testing import CliRunner
from tinyaudio.cli import app
result = CliRunner().invoke(app, ["predict", sys.argv[1], "--json", *sys.argv[2:]])
print(result.output)
assert result.exit_code == 0, result.output
bad = sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras", "librosa"))
assert not bad, bad
"""


def test_predict_cli_does_not_import_tensorflow(run_dir, data_root):
    files = [data_root / "fsdd" / "recordings" / f"{d}_jackson_0.wav" for d in (3, 7)]
    out = subprocess.run([sys.executable, "-c", PREDICT_WITHOUT_TF, str(run_dir), *map(str, files)],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    labels = [json.loads(line)["label"] for line in out.stdout.splitlines() if line.startswith("{")]
    assert labels == ["3", "7"]


def test_mismatched_feature_config_is_refused(run_dir, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(run_dir, broken)
    (broken / "checksums.json").unlink(missing_ok=True)  # a run from before checksums: the shape check still refuses it
    PRESETS["mfcc_49x10"].save(broken / "feature_config.json")  # 10 MFCC at 16 kHz vs 13 at 8 kHz
    with pytest.raises(ConfigMismatchError, match="n_mfcc gives 10 features per frame but the model expects 13"):
        Classifier(broken)


@pytest.mark.parametrize("edit", ["fmax", "labels", "swap_model"])
def test_a_run_with_an_edited_or_swapped_file_is_refused_by_every_reader(run_dir, data_root, tmp_path, edit):
    """Edits that keep the model's input shape (fmax, the label order, another model of the same
    shape) used to pass silently: the run's checksums name the file that changed."""
    from typer.testing import CliRunner

    from tinyaudio.cli import app
    from tinyaudio.errors import RunFolderError
    from tinyaudio.pipeline import export_run

    edited = tmp_path / "edited"
    shutil.copytree(run_dir, edited)
    assert set(json.loads((edited / "checksums.json").read_text())) >= {"feature_config.json", "labels.txt", "model_int8.tflite"}
    if edit == "fmax":
        cfg = json.loads((edited / "feature_config.json").read_text())
        (edited / "feature_config.json").write_text(json.dumps({**cfg, "fmax": 3000.0}))
        name = "feature_config.json"
    elif edit == "labels":
        labels = (edited / "labels.txt").read_text().splitlines()
        (edited / "labels.txt").write_text("\n".join(labels[1:] + labels[:1]) + "\n")
        name = "labels.txt"
    else:
        (edited / "model_int8.tflite").write_bytes((edited / "model_float.tflite").read_bytes())
        name = "model_int8.tflite"
    message = f"{edited / name}: changed since the run was written"
    with pytest.raises(RunFolderError, match=message):
        Classifier(edited)
    with pytest.raises(RunFolderError, match=message):
        export_run(edited, tmp_path / "project")
    wav = data_root / "fsdd" / "recordings" / "7_theo_1.wav"
    for args in (["predict", str(edited), str(wav)], ["evaluate", str(edited)], ["codegen", str(edited)],
                 ["check-mcu", str(edited), "--clips", "0"], ["listen", str(edited), "--wav", str(wav)]):
        res = CliRunner().invoke(app, args)
        assert res.exit_code == 2 and "changed since the run was written" in res.output, (args, res.output)
    assert not (tmp_path / "project").exists() and not (edited / "codegen").exists()


def test_predict_bad_wav_names_the_file(run_dir, tmp_path):
    bad = tmp_path / "broken.wav"
    bad.write_bytes(b"RIFF....WAVEfmt nonsense")
    with pytest.raises(AudioError, match="broken.wav: cannot decode audio"):
        Classifier(run_dir).predict_files([bad])
    with pytest.raises(TinyAudioError, match="feature_config.json: missing"):
        Classifier(tmp_path)


def test_existing_run_folder_is_not_overwritten(run_dir):
    before = (run_dir / "metrics.json").read_bytes()
    with pytest.raises(FileExistsError, match="run folder exists"):
        config = TrainConfig.from_dict(json.loads((run_dir / "config.json").read_text()))
        train(config, run_dir, verbose=0, log=lambda *_: None)
    assert (run_dir / "metrics.json").read_bytes() == before


def test_predict_scans_a_long_file_and_reports_the_window_with_the_word(run_dir, data_root, tmp_path):
    """A 20 s recording with one spoken digit at 12 s: never only its first second."""
    import soundfile as sf

    from tinyaudio.data import load_audio
    from tinyaudio.errors import ConfigError

    digits = {}
    for d in (3, 7):
        word = load_audio(data_root / "fsdd" / "recordings" / f"{d}_theo_1.wav", 8000)
        x = np.random.default_rng(d).normal(0, 1e-4, 20 * 8000).astype(np.float32)  # a quiet room
        x[12 * 8000 : 12 * 8000 + len(word)] += word
        sf.write(tmp_path / f"long_{d}.wav", x, 8000)
        digits[d] = tmp_path / f"long_{d}.wav"
    clf = Classifier(run_dir)
    found = clf.predict_files([digits[3], digits[7]], hop_s=0.25)
    assert [p.label for p in found] == ["3", "7"]
    assert all(11.5 <= p.start_s <= 12.25 and p.windows == 77 for p in found)
    short = clf.predict_files([data_root / "fsdd" / "recordings" / "7_theo_1.wav"])[0]
    assert short.label == "7" and short.windows == 1 and short.start_s == 0.0
    with pytest.raises(ConfigError, match="hop_s=0: the step between windows of a long file must be > 0 seconds"):
        clf.predict_files([digits[3]], hop_s=0)


def test_accuracy_by_source_groups_voices_a_run_did_not_train_on():
    from pathlib import Path

    from tinyaudio.data import Clip
    from tinyaudio.evaluate.classify import accuracy_by_source

    speakers = ["nicolas", "nicolas", "synthetic:espeak-ng:en-us", "synthetic:piper:joe", "speech_commands:0a7c2a8d"]
    clips = [Clip(Path(f"{i}.wav"), "7", s, "validation") for i, s in enumerate(speakers)]
    by_source = accuracy_by_source(clips, np.array([7, 7, 7, 7, 7]), np.array([7, 2, 7, 7, 3]))
    assert by_source == {"dataset": {"accuracy": 0.5, "clips": 2}, "speech_commands": {"accuracy": 0.0, "clips": 1},
                         "synthetic": {"accuracy": 1.0, "clips": 2}}
