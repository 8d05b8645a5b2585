"""LibriSpeech windows split by utterance, and FSDD labelled by speaker (real data)."""

import soundfile as sf
import pytest

from tinyaudio.data import load_dataset
from tinyaudio.data.librispeech import librispeech, utterance_split, window_offsets
from tinyaudio.data.loaders import fsdd
from tinyaudio.errors import DatasetError

FSDD_SPEAKERS = ("george", "jackson", "lucas", "nicolas", "theo", "yweweler")


@pytest.fixture(scope="module")
def libri(data_root):
    if not (data_root / "librispeech_test-other_10spk").is_dir():
        pytest.skip("librispeech_test-other_10spk not in the shared datasets")
    return load_dataset("librispeech", label_by="speaker")


def test_librispeech_has_ten_speakers_in_every_split(libri):
    assert len(libri.labels) == 10 and libri.labels == tuple(sorted(libri.labels))
    for split in ("train", "validation", "test"):
        assert libri.speakers(split) == set(libri.labels), split
    assert all(c.label == c.speaker == c.path.parent.name for c in libri.clips)


def test_librispeech_no_utterance_in_two_splits(libri):
    split_of = {}
    for c in libri.clips:
        assert split_of.setdefault(c.path.stem, c.split) == c.split, c.path.stem
    assert len(split_of) == 100


def test_librispeech_windows_lie_inside_their_file(libri):
    durations = {}
    for c in libri.clips[::7]:
        d = durations.setdefault(c.path, sf.info(str(c.path)).duration)
        assert 0.0 <= c.offset and c.offset + 1.0 <= d + 1e-6
    counts = {s: len(libri.split(s)) for s in ("train", "validation", "test")}
    assert counts["train"] > 4 * counts["test"] > 0, counts  # half-overlapping train windows


def test_librispeech_window_length_is_a_parameter(libri, data_root):
    two = librispeech(window_s=2.0, hop_s=2.0, train_hop_s=2.0)
    assert 0 < len(two.clips) < len(libri.clips)
    assert all(c.offset % 2.0 == pytest.approx(0.0, abs=1e-6) for c in two.clips)


def test_librispeech_refuses_word_labels(data_root):
    with pytest.raises(DatasetError, match="only 'speaker'"):
        librispeech(label_by="words")


def test_window_offsets_and_utterance_split_rules():
    assert window_offsets(0.4, 1.0, 1.0) == [0.0]
    assert window_offsets(3.5, 1.0, 1.0) == [0.0, 1.0, 2.0]
    assert window_offsets(2.0, 1.0, 0.5) == [0.0, 0.5, 1.0]
    split = utterance_split([f"1-2-{i:04d}" for i in range(10)], 10.0, 20.0)
    assert sorted(split.values()).count("test") == 2 and list(split.values()).count("validation") == 1
    assert split == utterance_split(sorted(split, reverse=True), 10.0, 20.0)  # order-independent
    assert set(utterance_split(["a", "b"], 10.0, 20.0).values()) == {"train"}


def test_fsdd_label_by_speaker_keeps_the_official_split(data_root):
    ds = fsdd(label_by="speaker")
    assert ds.labels == FSDD_SPEAKERS
    assert all(c.label == c.speaker for c in ds.clips)
    digits = fsdd()
    assert [c.split for c in ds.clips] == [c.split for c in digits.clips]
    assert {s: sum(v.values()) for s, v in ds.counts().items()} == {"train": 2400, "validation": 300, "test": 300}
    with pytest.raises(DatasetError, match="label_by"):
        fsdd(label_by="speaker", holdout_speaker="theo")
