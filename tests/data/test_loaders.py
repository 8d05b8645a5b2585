"""Split rules of the dataset loaders, on the real shared datasets."""

import pytest

from tinyaudio.data import esc50, folder, fsdd, load_dataset, speech_commands, stable_split
from tinyaudio.errors import DatasetError


def test_fsdd_official_split_puts_takes_0_to_4_in_test(data_root):
    ds = fsdd()
    test = ds.split("test")
    assert len(ds.clips) == 3000 and len(test) == 300
    assert {int(c.path.stem.split("_")[2]) for c in test} == set(range(5))
    assert all(int(c.path.stem.split("_")[2]) >= 5 for c in ds.split("train") + ds.split("validation"))
    assert ds.labels == tuple("0123456789")


def test_fsdd_holdout_speaker_is_alone_in_test(data_root):
    ds = fsdd(holdout_speaker="theo")
    assert ds.speakers("test") == {"theo"}
    assert "theo" not in ds.speakers("train") | ds.speakers("validation")
    assert len(ds.split("test")) == 500


def test_fsdd_unknown_speaker_names_the_choices(data_root):
    with pytest.raises(DatasetError, match="unknown FSDD speaker 'bob'.*george"):
        fsdd(holdout_speaker="bob")


def test_speech_commands_no_speaker_in_two_splits(data_root):
    ds = speech_commands()
    splits = {s: ds.speakers(s) for s in ("train", "validation", "test")}
    assert not splits["train"] & splits["test"]
    assert not splits["train"] & splits["validation"]
    assert not splits["validation"] & splits["test"]
    assert len(ds.labels) == 12 and ds.labels[:2] == ("_silence_", "_unknown_")
    counts = {s: sum(v.values()) for s, v in ds.counts().items()}
    assert counts["train"] > 2000 and counts["test"] > 150 and sum(counts.values()) == 3441
    # unknown-word files are keyed by the speaker hash, not the word prefix
    unknown = [c for c in ds.clips if c.label == "_unknown_"][0]
    assert "_" not in unknown.speaker


def test_speech_commands_all_words_mode(data_root):
    ds = speech_commands(mode="all")
    assert "stop" in ds.labels and len(ds.clips) == 3441


def test_speech_commands_silence_from_background_noise(data_root, tmp_path):
    # a v0.02-style folder without _silence_: silence windows come from _background_noise_
    (tmp_path / "stop").mkdir()
    src = sorted((data_root / "speech_commands_v0.02_test_dev" / "stop").glob("*.wav"))[:20]
    for p in src:
        (tmp_path / "stop" / p.name).symlink_to(p)
    (tmp_path / "_background_noise_").symlink_to(data_root / "speech_commands_background_noise")
    ds = speech_commands(tmp_path, silence_percent=50)
    silence = [c for c in ds.clips if c.label == "_silence_"]
    assert silence and all(c.path.parent.name == "_background_noise_" for c in silence)
    assert all(0 <= c.gain <= 0.1 for c in silence)
    x = silence[0].load(16000, 16000)
    assert x.shape == (16000,) and abs(x).max() <= 0.1


def test_stable_split_matches_tensorflow_which_set():
    # TensorFlow's which_set with 10 % / 10 %: sha1 of the speaker id, mod 2**27.
    import hashlib

    for speaker in ("0a7c2a8d", "fffcabd1", "c1d39ce8", "3b4f8f24"):
        pct = (int(hashlib.sha1(speaker.encode()).hexdigest(), 16) % 2**27) * (100.0 / (2**27 - 1))
        expected = "validation" if pct < 10 else "test" if pct < 20 else "train"
        assert stable_split(speaker, 10, 10) == expected


def test_esc50_single_fold_split_by_source_file(data_root):
    ds = esc50()
    assert len(ds.labels) == 50 and len(ds.clips) == 400
    for a in ("train", "validation", "test"):
        for b in ("train", "validation", "test"):
            if a < b:
                assert not ds.speakers(a) & ds.speakers(b), (a, b)


def test_folder_loader_and_unknown_dataset(data_root, tmp_path):
    for label in ("yes", "no"):
        (tmp_path / label).mkdir()
        for p in sorted((data_root / "speech_commands_v0.02_test_dev" / label).glob("*.wav"))[:5]:
            (tmp_path / label / p.name).symlink_to(p)
    ds = folder(tmp_path)
    assert ds.labels == ("no", "yes") and len(ds.clips) == 10
    with pytest.raises(DatasetError, match="unknown dataset 'nope'"):
        load_dataset("nope")
    with pytest.raises(DatasetError, match="unknown label 'maybe'"):
        ds.label_index("maybe")


def test_speech_commands_digits_add_real_speakers_to_fsdd_training_only(data_root, tmp_path):
    from tinyaudio.errors import ConfigError
    from tinyaudio.train import TrainConfig
    from tinyaudio.train.data import load_training_data

    plain = load_training_data(TrainConfig(dataset="fsdd", holdout_speaker="nicolas"), data_root)
    more = load_training_data(TrainConfig(dataset="fsdd", holdout_speaker="nicolas", extra_speakers="speech_commands"), data_root)
    added = more.clips[len(plain.clips):]
    assert more.clips[: len(plain.clips)] == plain.clips and more.split("test") == plain.split("test")
    # the shared subset's digits live in _unknown_/{word}_{speaker}_nohash_{n}.wav: 166 clips, 81 speakers
    assert len(added) == 166 and len({c.speaker for c in added}) == 81
    assert all(c.speaker.startswith("speech_commands:") and len(c.speaker) == len("speech_commands:") + 8 for c in added)
    assert {c.label for c in added} == set(plain.labels)
    assert all(c.path.name.startswith(("zero_", "one_", "two_", "three_", "four_", "five_", "six_", "seven_", "eight_", "nine_"))
               and c.path.name.split("_")[0] == ("zero one two three four five six seven eight nine".split())[int(c.label)]
               for c in added)
    splits = {}
    for c in added:
        splits.setdefault(c.speaker, set()).add(c.split)
    assert all(len(s) == 1 for s in splits.values()) and {next(iter(s)) for s in splits.values()} == {"train", "validation"}
    with pytest.raises(ConfigError, match="extra_speakers adds Speech Commands' digits to --dataset fsdd's digit classes only"):
        TrainConfig(dataset="speech_commands", extra_speakers="speech_commands")
    with pytest.raises(ConfigError, match=r"extra_speakers='librispeech' is not one of \('speech_commands',\)"):
        TrainConfig(extra_speakers="librispeech")
    (tmp_path / "_unknown_").mkdir()
    with pytest.raises(DatasetError, match=r"no Speech Commands recordings of \['seven'\]"):
        from tinyaudio.data.loaders import speech_commands_words

        speech_commands_words({"seven": "7"}, tmp_path)
