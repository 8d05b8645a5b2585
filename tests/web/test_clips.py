"""Upload rules without a server: labels, formats, lengths, rates; refused means nothing written."""

import numpy as np
import pytest

from tinyaudio.web.clips import UploadError, check_label, delete_clip, list_labels, save_clip


def files_under(root):
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def test_valid_clip_is_numbered_and_written_as_pcm16(tmp_path, tone, make_wav):
    import soundfile as sf

    first = save_clip(tmp_path, "yes", make_wav(tone, 16000, subtype="FLOAT"), sample_rate=16000)
    second = save_clip(tmp_path, "yes", make_wav(tone, 16000), sample_rate=16000)
    assert (first.name, second.name) == ("0001.wav", "0002.wav")
    info = sf.info(str(second))
    assert (info.format, info.subtype, info.samplerate, info.channels, info.frames) == ("WAV", "PCM_16", 16000, 1, 8000)
    assert files_under(tmp_path) == ["yes", "yes/0001.wav", "yes/0002.wav"]
    assert list_labels(tmp_path) == [{"name": "yes", "clips": 2}]


@pytest.mark.parametrize("label", ["../evil", "..", ".", "a/b", "a\\b", "", " yes", "-rf", "x" * 65, "yes\n", "ab.c"])
def test_bad_labels_are_refused(tmp_path, tone, label, make_wav):
    with pytest.raises(UploadError, match="label .* refused"):
        save_clip(tmp_path, label, make_wav(tone, 16000), sample_rate=16000)
    assert files_under(tmp_path) == []
    assert not (tmp_path.parent / "evil").exists()


def _stereo(tone):
    return np.stack([tone, tone], axis=1)


@pytest.mark.parametrize("make, message", [
    (lambda t, w: b"", "empty upload"),
    (lambda t, w: w(t[:0], 16000), "empty clip"),
    (lambda t, w: b"RIFF\x00\x00\x00\x00WAVEjunkjunkjunk", "not a readable WAV"),
    (lambda t, w: b"hello, this is not audio at all" * 10, "not a readable WAV"),
    (lambda t, w: w(t, 16000, fmt="FLAC"), "not a WAV file"),
    (lambda t, w: w(np.tile(t, 5), 16000), "too long: 2.50 s > 2 s"),
    (lambda t, w: w(t, 8000), "sample rate is 8000 Hz but this dataset is 16000 Hz"),
    (lambda t, w: w(_stereo(t), 16000), "2 channels"),
    (lambda t, w: w(np.where(np.arange(len(t)) == 3, np.nan, t).astype(np.float32), 16000, subtype="FLOAT"), "NaN"),
])
def test_bad_clips_are_refused_with_one_line_and_nothing_written(tmp_path, tone, make, message, make_wav):
    with pytest.raises(UploadError, match=message) as info:
        save_clip(tmp_path, "yes", make(tone, make_wav), sample_rate=16000, max_seconds=2.0)
    assert "\n" not in str(info.value)
    assert files_under(tmp_path) == []


def test_symlinked_label_outside_root_is_refused(tmp_path, tone, make_wav):
    root, outside = tmp_path / "root", tmp_path / "outside"
    root.mkdir(); outside.mkdir()
    (root / "sneaky").symlink_to(outside)
    with pytest.raises(UploadError, match="outside"):
        save_clip(root, "sneaky", make_wav(tone, 16000), sample_rate=16000)
    assert list(outside.iterdir()) == []


def test_delete_clip(tmp_path, tone, make_wav):
    path = save_clip(tmp_path, "no", make_wav(tone, 16000), sample_rate=16000)
    with pytest.raises(UploadError, match="refused"):
        delete_clip(tmp_path, "no", "../../etc.wav")
    with pytest.raises(UploadError, match="no such clip"):
        delete_clip(tmp_path, "no", "0099.wav")
    delete_clip(tmp_path, "no", path.name)
    assert not path.exists()
    assert check_label("_silence_") == "_silence_"
