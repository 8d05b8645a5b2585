"""Plots of real recordings and of a training run: files exist, are whole PNGs, failures write nothing."""

from __future__ import annotations

from pathlib import Path

import matplotlib.image
import numpy as np
import pytest
import soundfile as sf

from tinyaudio.errors import AudioError
from tinyaudio.features.config import PRESETS
from tinyaudio.features.plot import (
    AUDIO_PLOTS,
    default_plot_config,
    plot_audio,
    plot_confusion_matrix,
    plot_training_history,
)

DATA = Path(__file__).resolve().parents[3] / "shared" / "datasets"
FSDD_WAV = DATA / "fsdd" / "recordings" / "0_george_0.wav"  # 8 kHz, 2384 samples
SC_WAV = DATA / "speech_commands_v0.02_test_dev" / "yes" / "03401e93_nohash_0.wav"  # 16 kHz, 1 s
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

needs_data = pytest.mark.skipif(
    not (FSDD_WAV.exists() and SC_WAV.exists()), reason=f"shared datasets not found under {DATA}"
)


def assert_png(path: Path) -> None:
    assert path.is_file(), path
    with path.open("rb") as f:
        assert f.read(8) == PNG_SIGNATURE, f"{path} does not start with the PNG signature"
    image = matplotlib.image.imread(path)
    assert image.ndim == 3 and image.shape[2] in (3, 4), image.shape
    assert image.shape[0] >= 200 and image.shape[1] >= 400, image.shape
    assert np.ptp(image[..., :3]) > 0, f"{path} is a blank image"


def assert_only(out_dir: Path, expected: list[Path]) -> None:
    """out_dir holds exactly these files: no temp file or extra PNG left behind."""
    assert sorted(p.name for p in out_dir.iterdir()) == sorted(p.name for p in expected)


@pytest.fixture(scope="module", params=[FSDD_WAV, SC_WAV], ids=["fsdd_8k", "speech_commands_16k"])
def plotted(request, tmp_path_factory) -> tuple[Path, Path, list[Path]]:
    """Each real file is drawn once (rendering is the slow part); several tests inspect it."""
    if not request.param.exists():
        pytest.skip(f"{request.param} not found")
    out_dir = tmp_path_factory.mktemp("plots") / "nested" / "out"  # created by plot_audio
    return request.param, out_dir, plot_audio(request.param, out_dir)


@needs_data
def test_plot_audio_writes_six_named_pngs(plotted):
    wav, out_dir, paths = plotted
    assert paths == [out_dir / f"{wav.stem}_{kind}.png" for kind in AUDIO_PLOTS]
    assert [p.name.removeprefix(wav.stem) for p in paths] == [
        "_waveform.png", "_psd.png", "_fft.png", "_spectrogram.png", "_mel.png", "_mfcc.png",
    ]
    for path in paths:
        assert_png(path)
    assert_only(out_dir, paths)


def test_corrupt_file_raises_audio_error_and_writes_nothing(tmp_path):
    bad = tmp_path / "corrupt.wav"
    bad.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    out_dir = tmp_path / "out"
    with pytest.raises(AudioError, match="corrupt.wav"):
        plot_audio(bad, out_dir)
    assert not out_dir.exists() or not any(out_dir.iterdir())
    # With an explicit rate the error comes from load_audio instead of the header probe.
    with pytest.raises(AudioError, match="corrupt.wav"):
        plot_audio(bad, out_dir, sample_rate=16000)
    assert not out_dir.exists() or not any(out_dir.iterdir())


def test_missing_file_raises_audio_error(tmp_path):
    with pytest.raises(AudioError, match="not found"):
        plot_audio(tmp_path / "nope.wav", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_clip_shorter_than_a_frame_of_the_config_writes_nothing(tmp_path):
    short = tmp_path / "short.wav"
    sf.write(short, np.zeros(100, dtype=np.float32), 8000)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    # fsdd_mfcc frames from sample 0 (center=False) with n_fft=320: 100 samples give no frame.
    with pytest.raises(AudioError, match="short.wav.*shorter than one frame"):
        plot_audio(short, out_dir, config=PRESETS["fsdd_mfcc"])
    assert not any(out_dir.iterdir())


def test_failure_while_rendering_leaves_no_png(tmp_path, monkeypatch):
    """All six files or none; this also runs an explicit config at another rate (resampling)."""
    from matplotlib.figure import Figure

    wav = tmp_path / "tone.wav"
    t = np.arange(4000) / 8000
    sf.write(wav, (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), 8000)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    real_savefig, calls = Figure.savefig, []

    def savefig_then_fail(self, *args, **kwargs):
        calls.append(args[0])
        if len(calls) == 2:
            raise OSError("disk full")
        return real_savefig(self, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", savefig_then_fail)
    with pytest.raises(OSError, match="disk full"):
        plot_audio(wav, out_dir, config=PRESETS["mfcc_49x10"])  # 8 kHz file, 16 kHz config
    assert len(calls) == 2  # the first PNG rendered to a temp file ...
    assert not any(out_dir.iterdir())  # ... which was removed, not renamed into place


def test_sample_rate_conflicting_with_config_is_refused(tmp_path):
    with pytest.raises(ValueError, match="sample_rate=8000 Hz differs from config.sample_rate=16000 Hz"):
        plot_audio(tmp_path / "unused.wav", tmp_path, sample_rate=8000, config=PRESETS["mfcc_49x10"])


@pytest.mark.parametrize(
    ("rate", "n_fft", "win_length", "hop_length"),
    [(8000, 256, 200, 80), (16000, 512, 400, 160), (44100, 2048, 1102, 441), (48000, 2048, 1200, 480)],
)
def test_default_plot_config_is_25ms_window_10ms_hop(rate, n_fft, win_length, hop_length):
    config = default_plot_config(rate, 1.5)
    assert (config.sample_rate, config.n_fft, config.win_length, config.hop_length) == (
        rate, n_fft, win_length, hop_length,
    )
    assert 0.025 <= config.n_fft / rate < 0.047
    assert (config.kind, config.n_mels, config.n_mfcc, config.fmax, config.center) == ("mfcc", 40, 13, None, True)
    assert config.clip_duration == 1.5


def test_plot_training_history_writes_png(tmp_path):
    history = {
        "loss": [2.2, 1.4, 0.9, 0.7, 0.6],
        "val_loss": [2.1, 1.6, 1.2, 1.1, 1.15],
        "accuracy": [0.2, 0.5, 0.7, 0.78, 0.83],
        "val_accuracy": [0.25, 0.45, 0.62, 0.66, 0.65],
        "learning_rate": [1e-3] * 5,  # other keys are ignored
    }
    path = plot_training_history(history, tmp_path / "run" / "history.png")
    assert path == tmp_path / "run" / "history.png"
    assert_png(path)
    assert_only(path.parent, [path])


def test_plot_training_history_needs_a_series(tmp_path):
    with pytest.raises(ValueError, match="no non-empty 'loss'"):
        plot_training_history({"lr": [0.1]}, tmp_path / "h.png")
    with pytest.raises(ValueError):
        plot_training_history({"loss": [], "val_loss": []}, tmp_path / "h.png")
    assert not (tmp_path / "h.png").exists()


def test_plot_confusion_matrix_writes_png(tmp_path):
    matrix = np.array([[48, 1, 1], [3, 45, 2], [0, 4, 46]], dtype=np.int64)
    path = plot_confusion_matrix(matrix, ["yes", "no", "_unknown_"], tmp_path / "confusion_matrix.png")
    assert path == tmp_path / "confusion_matrix.png"
    assert_png(path)
    assert_only(tmp_path, [path])


@pytest.mark.parametrize(
    ("matrix", "labels", "message"),
    [
        (np.ones((2, 3), dtype=int), ["a", "b"], "shape"),
        (np.ones((2, 2), dtype=int), ["a", "b", "c"], "3 labels"),
        (np.array([[1, -1], [0, 2]]), ["a", "b"], "negative"),
        (np.array([[0.5, 0.5], [0.0, 1.0]]), ["a", "b"], "integer"),
    ],
)
def test_plot_confusion_matrix_rejects_bad_input(tmp_path, matrix, labels, message):
    with pytest.raises(ValueError, match=message):
        plot_confusion_matrix(matrix, labels, tmp_path / "cm.png")
    assert not (tmp_path / "cm.png").exists()
