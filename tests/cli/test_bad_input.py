"""A hostile but fair user at the real CLI: every mistake is exit code 2 and one line naming the file
or option, no traceback, nothing deleted, nothing half-written."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from tinyaudio.cli import app


def _tree(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def world(fsdd_run, data_root, tmp_path_factory):
    """A sandbox: a copy of a trained run, a user's recordings, bad files; snapshotted before each case."""
    root = tmp_path_factory.mktemp("world")
    run = root / "run"
    shutil.copytree(fsdd_run, run)
    words = root / "mywords"
    for label in ("yes", "no"):
        (words / label).mkdir(parents=True)
        for i in range(3):
            shutil.copyfile(next((data_root / "fsdd" / "recordings").glob(f"{i}_*.wav")), words / label / f"{i}.wav")
    (root / "corrupt.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    (root / "corrupt.tflite").write_bytes(b"\x00" * 64)
    (root / "bad.json").write_text("{not json")
    (root / "empty.json").write_text("")
    (root / "notasearch" / "ray").mkdir(parents=True)  # a user's folder that only looks like a search
    (root / "notasearch" / "search.json").write_text('{"my": "notes"}')
    (root / "project").mkdir()
    (root / "project" / "main.c").write_text("int main(void) { return 0; }  /* the user's own */\n")
    no_labels = root / "no_labels"
    shutil.copytree(fsdd_run, no_labels)
    (no_labels / "labels.txt").unlink()
    return {"root": root, "run": run, "words": words, "data": data_root,
            "wav": data_root / "fsdd" / "recordings" / "7_theo_1.wav"}


# (case id, arguments with {placeholders}, text the one error line must hold)
CASES = [
    # train: output folders that must never be replaced, bad settings refused before any work
    ("train-out-parent", "train --out {root}/.. --overwrite --epochs 1", "holds files tinyaudio did not write"),
    ("train-out-dot", "train --out . --overwrite --epochs 1", "tinyaudio did not write"),
    ("train-out-recordings", "train --dataset {words} --out {words} --overwrite --epochs 1", "tinyaudio did not write"),
    ("train-out-dataset-root", "train --out {data}/fsdd --overwrite --epochs 1", "tinyaudio did not write"),
    ("train-out-existing-run", "train --out {run} --epochs 1", "run folder exists"),
    ("train-augment-reverb", "train --out {root}/n1 --augment reverb", "augment='reverb' is not one of"),
    ("train-batch-size-0", "train --out {root}/n2 --batch-size 0", "batch_size=0 must be a whole number >= 1"),
    ("train-epochs-0", "train --out {root}/n3 --epochs 0", "epochs=0 must be a whole number >= 1"),
    ("train-task", "train --out {root}/n4 --task spkr", "task='spkr' is not one of"),
    ("train-preset", "train --out {root}/n5 --features mfcc_nope", "mfcc_nope"),
    ("train-features-missing", "train --out {root}/n6 --features {root}/missing.json", "missing.json"),
    ("train-features-bad-json", "train --out {root}/n7 --features {root}/bad.json", "bad.json"),
    ("train-features-empty", "train --out {root}/n8 --features {root}/empty.json", "empty.json"),
    ("train-model", "train --out {root}/n9 --model resnet9000 --epochs 1", "resnet9000"),
    ("train-dataset", "train --out {root}/n10 --dataset nosuchset", "unknown dataset 'nosuchset'"),
    ("train-keyword", "train --out {root}/n11 --keyword zebra --epochs 1", "zebra"),
    ("train-validation-percent", "train --out {root}/n12 --validation-percent 150", "validation_percent=150.0 must be between 0 and 100"),
    ("train-learning-rate", "train --out {root}/n13 --learning-rate -1", "learning_rate=-1.0 must be > 0"),
    ("train-speech-corpus", "train --out {root}/n14 --speech-corpora librispeech_test_other", "speech_corpora: 'librispeech_test_other' is not one of"),
    ("train-augment-off", "train --out {root}/n15 --augment default --augment-off reverb", "augment part 'reverb' is not one of speed, shift"),
    ("train-tile-p", "train --out {root}/n16 --augment noise --tile-segment-p 2", "tile_segment_p=2.0 must be a probability"),
    ("train-holdout-recording", "train --out {root}/n16 --holdout-recording x", "holdout_recording is for --dataset fire_alarm (an alarm recording), not --dataset fsdd"),
    ("speaker-eval-split", "speaker-eval {run} --test-split nope", "unknown split 'nope'"),
    ("train-speech-negatives", "train --out {root}/n15 --speech-negatives -5", "speech_negatives"),
    ("train-near-misses-no-keyword", "train --out {root}/n16 --synthetic-near-misses 10", "need a keyword"),
    ("train-synthetic-speakers", "train --out {root}/n16 --synthetic 10 --task speaker", "synthetic renders words: it needs --task words"),
    ("train-synthetic-sounds", "train --out {root}/n16 --synthetic 2 --dataset esc50 --epochs 1",
     "esc50: its classes are not known spoken words; synthetic renderings of every class need fsdd or speech_commands"),
    ("train-extra-speakers", "train --out {root}/n16 --dataset speech_commands --extra-speakers speech_commands",
     "extra_speakers adds Speech Commands' digits to --dataset fsdd's digit classes only"),
    ("train-no-real-positives", "train --out {root}/n17 --keyword stop --no-real-positives", "leaves no keyword clips"),
    ("train-snr", "train --out {root}/n18 --min-snr-db 50", "need -30 <= min <= max <= 60 dB"),
    ("train-patience", "train --out {root}/n19 --patience 0", "patience=0 must be a whole number >= 1"),
    ("train-monitor", "train --out {root}/n20 --monitor val_f1", "monitor='val_f1' is not one of"),
    ("train-augment-copies", "train --out {root}/n21 --augment-copies 0", "augment_copies=0 must be a whole number >= 1"),
    ("train-teacher-classes", "train --out {root}/n23 --dataset {words} --teacher {run} --epochs 1", "are not this run's ['no', 'yes']; distil from a run trained on the same dataset and classes"),
    ("train-teacher-audio", "train --out {root}/n24 --features mfcc_49x10 --teacher {run} --epochs 1",
     "the teacher hears other audio: sample_rate 8000 (this run 16000); distil from a run with the same sample_rate"),
    ("train-teacher-keyword", "train --out {root}/n25 --keyword 7 --teacher {run}", "teacher distils a multi-class word model trained from scratch"),
    ("train-teacher-missing", "train --out {root}/n26 --teacher {root}/nope --epochs 1", "nope"),
    ("train-distill-alpha", "train --out {root}/n27 --teacher {run} --distill-alpha 2", "distill_alpha=2.0 must be in [0, 1]"),
    # predict / evaluate
    ("predict-no-run", "predict {root}/nope {wav}", "nope"),
    ("predict-no-labels", "predict {root}/no_labels {wav}", "labels.txt: missing"),
    ("predict-missing-audio", "predict {run} {root}/missing.wav", "missing.wav: file not found"),
    ("predict-corrupt-audio", "predict {run} {root}/corrupt.wav", "corrupt.wav: cannot decode audio"),
    ("predict-hop-0", "predict {run} {wav} --hop 0", "Invalid value for '--hop'"),
    ("predict-model-kind", "predict {run} {wav} --model int4", "int4"),
    ("evaluate-split", "evaluate {run} --split tset", "tset"),
    ("evaluate-no-run", "evaluate {root}/nope", "nope"),
    # listen / stream-eval / tune-detector
    ("listen-block-size-0", "listen {run} --wav {wav} --block-size 0", "Invalid value for '--block-size'"),
    ("listen-threshold-negative", "listen {run} --wav {wav} --threshold -1", "Invalid value for '--threshold'"),
    ("listen-threshold-2", "listen {run} --wav {wav} --threshold 2", "Invalid value for '--threshold'"),
    ("listen-smoothing-0", "listen {run} --wav {wav} --smoothing 0", "Invalid value for '--smoothing'"),
    ("listen-suppression-negative", "listen {run} --wav {wav} --suppression -1", "Invalid value for '--suppression'"),
    ("listen-hop-0", "listen {run} --wav {wav} --hop-ms 0", "Invalid value for '--hop-ms'"),
    ("listen-min-count-0", "listen {run} --wav {wav} --min-count 0", "Invalid value for '--min-count'"),
    ("listen-missing-wav", "listen {run} --wav {root}/missing.wav", "missing.wav: file not found"),
    ("listen-corrupt-wav", "listen {run} --wav {root}/corrupt.wav", "corrupt.wav: cannot decode audio"),
    ("stream-eval-speech-share", "stream-eval {run} --speech-share 1.5", "Invalid value for '--speech-share'"),
    ("stream-eval-shares", "stream-eval {run} --speech-share 0.6 --sound-share 0.5 --minutes 1", "together < 1"),
    ("stream-eval-split", "stream-eval {run} --split tset --minutes 1", "unknown split 'tset'"),
    ("stream-eval-save-existing", "stream-eval {run} --save-stream {root}/project --minutes 1",
     "stream folder exists; choose another --save-stream"),
    ("stream-eval-save-user-folder", "stream-eval {run} --save-stream {root}/project --overwrite --minutes 1",
     "not replaced: it holds files tinyaudio did not write (main.c)"),
    ("stream-eval-keyword-share", "stream-eval {run} --keyword-share 2", "Invalid value for '--keyword-share'"),
    ("tune-detector-source", "tune-detector {run} --max-fa music=1", "false-accept budget for 'music'"),
    ("tune-detector-syntax", "tune-detector {run} --max-fa speech:1", "write SOURCE=N"),
    ("tune-detector-negative", "tune-detector {run} --target-fa -1", "Invalid value for '--target-fa'"),
    # export / check-mcu / codegen
    ("export-target", "export {run} --target esp32 --out {root}/e1", "unknown target 'esp32'"),
    ("export-threshold", "export {run} --threshold 2 --out {root}/e2", "Invalid value for '--threshold'"),
    ("export-step", "export {run} --step-ms 0 --out {root}/e3", "step_ms 0.0: must be > 0"),
    ("export-cpu", "export {run} --cpu cortex-m99 --out {root}/e5", "unknown cpu 'cortex-m99'; use one of cortex-m0plus"),
    ("export-user-folder", "export {run} --out {root}/project --overwrite", "tinyaudio did not write"),
    ("export-existing-folder", "export {run} --out {root}/project", "exists"),
    ("export-float-frontend", "export {run} --out {root}/e4", "the device frontend cannot compute its features"),
    ("check-mcu-board", "check-mcu {run} --board esp32 --clips 0", "unknown board 'esp32'; use one of"),
    ("check-mcu-corrupt", "check-mcu {root}/corrupt.tflite --clips 0", "corrupt.tflite: not a valid .tflite flatbuffer"),
    ("check-mcu-missing", "check-mcu {root}/missing.tflite --clips 0", "missing.tflite: cannot read"),
    ("codegen-corrupt", "codegen {root}/corrupt.tflite --out {root}/c1", "corrupt.tflite: the model has 0 subgraphs"),
    ("codegen-user-folder", "codegen {run} --out {root}/project --overwrite", "tinyaudio did not write"),
    ("codegen-existing", "codegen {run} --out {root}/project", "exists"),
    ("codegen-cpu", "codegen {run} --cpu m4 --out {root}/c3", "unknown cpu 'm4'; use one of cortex-m0plus"),
    # search: an impossible budget is refused before any training, with the smallest configuration's cost
    ("search-impossible-budget", "search --out {root}/s1 --dataset fsdd --max-ms 0.01",
     "nothing in the search space fits the budget on the cortex-m0plus: the smallest configuration"),
    ("search-user-folder", "search --out {root}/project --dataset fsdd", "exists"),
    ("search-resume-nothing", "search --resume {run}", "no search to resume here"),
    ("search-resume-foreign", "search --resume {root}/notasearch", "search.json: not the settings of a tinyaudio search"),
    ("search-out-and-resume", "search --out {root}/s2 --resume {root}/s3", "give --out DIR for a new search or --resume DIR"),
    ("search-cpu", "search --out {root}/s4 --cpu m0", "--cpu 'm0' is not one of cortex-m0plus"),
    ("search-teacher-classes", "search --out {root}/s5 --teacher {run}", "are not this run's ['_silence_'"),
    ("train-width-multiplier", "train --out {root}/n22 --model cnn3 --width-multiplier 0.5", "width_multiplier / depth_multiplier scale"),
    ("codegen-missing", "codegen {root}/missing.tflite --out {root}/c2", "missing.tflite"),
    # step-model: a model that does not stream, or no run at all
    ("step-model-not-causal", "step-model {run}", "looks ahead in time (same padding along time)"),
    ("step-model-no-run", "step-model {root}/missing", "missing: not a folder"),
    # synthesize
    ("synthesize-empty", "synthesize '' --out {root}/s1", "nothing to synthesize"),
    ("synthesize-non-english", "synthesize stöp --out {root}/s2", "the voices are English"),
    ("synthesize-engine", "synthesize stop --engine say --out {root}/s3", "unknown TTS engine 'say'"),
    ("synthesize-n-negative", "synthesize stop --n -1 --out {root}/s4", "Invalid value for '--n'"),
    ("synthesize-nothing", "synthesize stop --n 0 --out {root}/s5", "nothing to synthesize"),
    ("synthesize-alarm-0", "synthesize smoke_alarm --n 0 --out {root}/s6", "smoke_alarm: --n must be at least 1"),
    ("synthesize-existing", "synthesize stop --n 1 --out {root}/project", "exists"),
    # speakers, recipes, plots
    ("enroll-no-embedding", "enroll {run} {wav} --name alice", "no embedding model"),
    ("verify-no-embedding", "verify {run} {wav} --name alice", "no embedding model"),
    ("enroll-no-name", "enroll {run} {wav}", "Missing option '--name'"),
    ("recipe-name", "recipe fire-drill --out {root}/r1", "unknown recipe 'fire-drill'"),
    ("plot-missing", "plot {root}/missing.wav --out {root}/p1", "missing.wav"),
    ("augment-preview-missing", "augment-preview {root}/missing.wav --out {root}/a.png", "missing.wav"),
    ("models-features", "models --features nope_preset", "nope_preset"),
]


def _args(template: str, world: dict) -> list[str]:
    import shlex

    return [a.format(**{k: str(v) for k, v in world.items()}) for a in shlex.split(template)]


@pytest.mark.parametrize("case_id, template, message", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_one_line_and_touches_nothing(world, case_id, template, message, monkeypatch):
    root = world["root"]
    monkeypatch.chdir(root / "mywords")  # "--out ." is the user's recordings
    before = _tree(root)
    result = CliRunner().invoke(app, _args(template, world))
    out = result.output
    assert result.exit_code == 2, f"{case_id}: exit {result.exit_code}\n{out}"
    assert "Traceback" not in out and result.exception is None or isinstance(result.exception, SystemExit), out
    assert any(message in line for line in out.splitlines()), f"{case_id}: {message!r} not on one line of:\n{out}"
    if out.startswith("error:"):  # tinyaudio's own errors: exactly one line
        assert len(out.strip().splitlines()) == 1, out
    assert _tree(root) == before, f"{case_id} changed files"
    assert not [p for p in root.rglob("*") if ".tmp-" in p.name], "temporary folder left behind"


def test_the_suite_covers_every_command_with_enough_cases():
    commands = {c[1].split()[0] for c in CASES}
    assert len(CASES) >= 70 and commands >= {"train", "predict", "evaluate", "listen", "stream-eval", "tune-detector",
                                              "export", "check-mcu", "codegen", "synthesize", "enroll", "verify"}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(option=st.sampled_from(["--threshold", "--smoothing", "--suppression", "--block-size", "--hop-ms", "--min-count"]),
       value=st.one_of(st.floats(max_value=-1e-6, allow_nan=False, allow_infinity=False), st.integers(max_value=0)))
def test_any_out_of_range_listen_option_is_refused_before_listening(world, option, value):
    if option in ("--smoothing", "--block-size", "--hop-ms", "--min-count") or value < 0:
        result = CliRunner().invoke(app, ["listen", str(world["run"]), "--wav", str(world["wav"]), option, str(value)])
        assert result.exit_code == 2 and f"Invalid value for '{option}'" in result.output, result.output


def test_an_edited_run_is_refused_and_named(world, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(world["run"], run)
    cfg = json.loads((run / "feature_config.json").read_text())
    (run / "feature_config.json").write_text(json.dumps({**cfg, "fmax": cfg["fmax"] - 500}))
    result = CliRunner().invoke(app, ["predict", str(run), str(world["wav"])])
    assert result.exit_code == 2 and "feature_config.json: changed since the run was written" in result.output


def test_overwrite_never_replaces_a_file_edited_by_hand(world, tmp_path):
    out = tmp_path / "c"
    runner = CliRunner()
    assert runner.invoke(app, ["codegen", str(world["run"]), "--out", str(out)]).exit_code == 0
    assert runner.invoke(app, ["codegen", str(world["run"]), "--out", str(out), "--overwrite"]).exit_code == 0  # its own: replaced
    with (out / "ta_nn.c").open("a") as f:
        f.write("/* my fix */\n")
    edited = (out / "ta_nn.c").read_text()
    result = runner.invoke(app, ["codegen", str(world["run"]), "--out", str(out), "--overwrite"])
    assert result.exit_code == 2 and "it holds files tinyaudio did not write (ta_nn.c (edited))" in result.output
    assert (out / "ta_nn.c").read_text() == edited
