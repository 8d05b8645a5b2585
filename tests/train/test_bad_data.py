"""A corrupt file in a training set: an error naming it and no run folder, or skipped and listed."""

import json

import pytest

from tinyaudio.errors import AudioError
from tinyaudio.pipeline import TrainConfig, train


@pytest.fixture()
def folder_with_a_corrupt_file(data_root, tmp_path):
    root = tmp_path / "words"
    for label in ("yes", "no"):
        (root / label).mkdir(parents=True)
        for p in sorted((data_root / "speech_commands_v0.02_test_dev" / label).glob("*.wav"))[:30]:
            (root / label / p.name).symlink_to(p)
    corrupt = root / "yes" / "zzzzzzzz_nohash_0.wav"
    corrupt.write_bytes(b"RIFF\x24\x00\x00\x00WAVEjunkjunk")
    return root, corrupt


def config(root, **kw):
    return TrainConfig(dataset=str(root), model="cnn_mfcc", features="mfcc_49x10", epochs=1,
                       validation_percent=30, test_percent=30, representative_size=10, **kw)


def test_corrupt_file_stops_training_and_writes_nothing(folder_with_a_corrupt_file, tmp_path):
    root, corrupt = folder_with_a_corrupt_file
    out = tmp_path / "run"
    with pytest.raises(AudioError, match="zzzzzzzz_nohash_0.wav: cannot decode audio"):
        train(config(root), out, verbose=0, log=lambda *_: None)
    assert not out.exists()
    assert not list(tmp_path.glob(".run*"))


def test_skip_bad_lists_the_file_in_metrics(folder_with_a_corrupt_file, tmp_path):
    root, corrupt = folder_with_a_corrupt_file
    metrics = train(config(root, skip_bad=True), tmp_path / "run", verbose=0, log=lambda *_: None)
    assert [s["path"] for s in metrics["skipped_files"]] == [str(corrupt)]
    saved = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert "cannot decode audio" in saved["skipped_files"][0]["error"]
