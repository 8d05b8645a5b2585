"""Speaker ID -> int8 embedding -> enrol / verify round trip on real FSDD clips."""

import json
import subprocess
import sys

import numpy as np
import pytest

from tinyaudio.errors import TinyAudioError
from tinyaudio.runtime.speaker import (
    FILL_NOISE_DBFS, SpeakerEmbedder, cosine, enroll, identify, load_profiles, verify, windows,
)
from tinyaudio.pipeline import TrainConfig, train
from tinyaudio.evaluate.speaker import speaker_eval

QUICK = TrainConfig(dataset="fsdd", task="speaker", model="ds_cnn", features="fsdd_mfcc", epochs=6, patience=6, batch_size=32,
                    max_clips_per_split=1200, representative_size=100)


@pytest.fixture(scope="module")
def run_dir(data_root, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "fsdd_speaker"
    train(QUICK, out, verbose=0, log=lambda *_: None)
    # calibrates the threshold on FSDD's own speakers (enrol: validation takes, trials: test takes)
    speaker_eval(out, "fsdd", n_enrol=5, log=lambda *_: None)
    return out


def rec(data_root, digit, speaker, take):
    return data_root / "fsdd" / "recordings" / f"{digit}_{speaker}_{take}.wav"


def test_speaker_run_has_speaker_labels_and_embedding(run_dir):
    assert (run_dir / "labels.txt").read_text().split() == ["george", "jackson", "lucas", "nicolas", "theo", "yweweler"]
    m = json.loads((run_dir / "metrics.json").read_text())
    assert m["int8_accuracy"] >= 0.6, m["int8_accuracy"]  # 6 epochs on 1200 clips; chance is 1/6
    emb = SpeakerEmbedder(run_dir)
    assert emb.model.input_dtype == np.int8 and emb.model.output_dtype == np.int8
    assert emb.dim == 64 and emb.mean.shape == (64,)
    ev = json.loads((run_dir / "speaker_eval_fsdd.json").read_text())
    assert ev["eer"] < 0.3 and ev["n_target"] == 300 and ev["n_nontarget"] == 1500
    assert (run_dir / "trials_fsdd.tsv").read_text().count("\n") == 1 + 1800
    assert (run_dir / "det_fsdd.png").stat().st_size > 1000


def test_enrol_then_verify_accepts_the_speaker_and_rejects_another(run_dir, data_root):
    enrolment = [rec(data_root, d, "george", 5) for d in range(10)]
    profile = enroll(run_dir, "george", enrolment)
    assert profile["n_windows"] == 10 and len(profile["embedding"]) == 64
    assert "george" in load_profiles(run_dir / "speakers.json")
    george = [rec(data_root, d, "george", 0) for d in range(10)]
    jackson = [rec(data_root, d, "jackson", 0) for d in range(10)]
    same = verify(run_dir, "george", george)
    other = verify(run_dir, "george", jackson)
    assert np.mean([v.accepted for v in same]) >= 0.8, [round(v.score, 3) for v in same]
    assert np.mean([v.accepted for v in other]) <= 0.2, [round(v.score, 3) for v in other]
    assert np.mean([v.score for v in same]) > np.mean([v.score for v in other]) + 0.2


def test_identify_rejects_a_voice_nobody_enrolled(run_dir, data_root):
    enroll(run_dir, "george", [rec(data_root, d, "george", 5) for d in range(10)])
    enroll(run_dir, "lucas", [rec(data_root, d, "lucas", 5) for d in range(10)])
    assert identify(run_dir, rec(data_root, 3, "lucas", 1)).name == "lucas"
    theo = [identify(run_dir, rec(data_root, d, "theo", 1)) for d in range(10)]
    assert np.mean([r.accepted for r in theo]) <= 0.3, [(r.name, round(r.score, 3)) for r in theo]
    with pytest.raises(TinyAudioError, match="'alice' is not enrolled"):
        verify(run_dir, "alice", [rec(data_root, 0, "theo", 1)])


CLI_WITHOUT_TF = """
import sys
from typer.testing import CliRunner
from tinyaudio.cli import app
run, enrol, probe = sys.argv[1], sys.argv[2:12], sys.argv[12]
r = CliRunner().invoke(app, ["enroll", run, "--name", "nico", *enrol])
assert r.exit_code == 0, r.output
r = CliRunner().invoke(app, ["verify", run, "--name", "nico", "--json", probe])
print(r.output)
assert r.exit_code == 0, r.output
bad = sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras"))
assert not bad, bad
"""


def test_enroll_and_verify_cli_do_not_import_tensorflow(run_dir, data_root):
    files = [rec(data_root, d, "nicolas", 6) for d in range(10)] + [rec(data_root, 4, "nicolas", 2)]
    out = subprocess.run([sys.executable, "-c", CLI_WITHOUT_TF, str(run_dir), *map(str, files)],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    result = json.loads(next(line for line in out.stdout.splitlines() if line.startswith("{")))
    assert result["speaker"] == "nico" and result["accepted"], result


def test_short_clips_are_centred_on_a_quiet_noise_floor_or_tiled_and_long_ones_cut():
    x = np.arange(1, 4, dtype=np.float32)
    assert windows(x, 7, fill="tile").tolist() == [[1, 2, 3, 1, 2, 3, 1]]
    assert windows(x, 7, fill="zero").tolist() == [[0, 0, 1, 2, 3, 0, 0]]
    filled = windows(np.ones(1000, np.float32), 16000)[0]
    floor = np.concatenate([filled[:7500], filled[8500:]])
    assert np.all(filled[7500:8500] != 1.0) and np.allclose(filled[7500:8500], 1.0, atol=0.01)  # centred, on the floor
    assert 20 * np.log10(np.sqrt(np.mean(floor ** 2))) == pytest.approx(FILL_NOISE_DBFS, abs=0.2)
    assert np.array_equal(filled, windows(np.ones(1000, np.float32), 16000)[0])  # the same noise every time
    with pytest.raises(TinyAudioError, match=r"^unknown fill 'pad' for short recordings; use one of noise, tile, zero$"):
        windows(x, 7, fill="pad")
    assert windows(np.zeros(25, np.float32), 10).shape == (3, 10)  # 2 full + a 5-sample tail kept
    assert windows(np.zeros(24, np.float32), 10).shape == (2, 10)
    assert cosine(np.array([1.0, 0.0]), np.array([2.0, 0.0])) == pytest.approx(1.0)
    assert cosine(np.zeros(2), np.ones(2)) == 0.0


def test_missing_embedding_model_says_how_to_export(tmp_path):
    with pytest.raises(TinyAudioError, match="speaker-eval"):
        SpeakerEmbedder(tmp_path)


def test_enrolling_silence_or_too_little_speech_is_refused_and_other_rates_are_resampled(run_dir, data_root, tmp_path):
    import soundfile as sf

    from tinyaudio.data import load_audio

    silence = tmp_path / "silence.wav"
    sf.write(silence, np.zeros(3 * 8000, dtype=np.float32), 8000)
    with pytest.raises(TinyAudioError, match=r"enrol 'nobody': .*silence.wav hold 0.0 s of speech .* record at least 1 s"):
        enroll(run_dir, "nobody", [silence], profiles=tmp_path / "p.json")
    with pytest.raises(TinyAudioError, match="hold 0.[0-9] s of speech"):
        enroll(run_dir, "george", [rec(data_root, 3, "george", 5)], profiles=tmp_path / "p.json")
    assert not (tmp_path / "p.json").exists()  # nothing saved
    import soxr

    clips = [load_audio(rec(data_root, d, "george", 5), 8000) for d in range(10)]
    loud = tmp_path / "george_44k.wav"
    sf.write(loud, soxr.resample(np.concatenate(clips), 8000, 44100), 44100)
    profile = enroll(run_dir, "george", [loud], profiles=tmp_path / "p.json")
    same = verify(run_dir, "george", [rec(data_root, d, "george", 0) for d in range(10)], profiles=tmp_path / "p.json")
    assert profile["n_windows"] >= 5 and np.mean([v.accepted for v in same]) >= 0.7
