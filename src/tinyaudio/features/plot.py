"""PNG plots: what one audio file looks like to the frontend, and how a training run went.

`plot_audio` draws one recording six ways (waveform, PSD, whole-clip FFT, STFT spectrogram, mel
spectrogram, MFCC), computing the last three with the project's own frontend
(`tinyaudio.features.extract`), so the pictures show exactly what a model is fed.
`plot_training_history` and `plot_confusion_matrix` are what the trainer writes into a run folder.

Rendering uses matplotlib's Agg canvas directly (``Figure`` + ``FigureCanvasAgg``), never
``pyplot``: no display is needed, the process-wide backend is left alone, and no figure outlives
its call. Every PNG goes through `tinyaudio._io.atomic_path`, so a file is either whole or absent.

Needs the ``train`` extra (matplotlib, scipy); nothing on the runtime path imports this module.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from tinyaudio._io import atomic_path
from tinyaudio.data.audio import load_audio
from tinyaudio.errors import AudioError
from tinyaudio.features.config import FeatureConfig
from tinyaudio.features.extract import compute_features, hz_to_mel, mel_to_hz

#: Plots written by `plot_audio`, in the order of the returned paths: ``<stem>_<kind>.png``.
AUDIO_PLOTS: tuple[str, ...] = ("waveform", "psd", "fft", "spectrogram", "mel", "mfcc")

_DPI = 110
_DYNAMIC_RANGE_DB = 100.0  # dB shown below the peak in spectra and spectrograms
_MAX_LINE_POINTS = 1000  # longer curves are drawn as a min / max envelope (about one per pixel column)
_TINY = 1e-20  # floor under power values before log10 (-200 dB), so silence does not give -inf


# -- public API ----------------------------------------------------------------------------------
def default_plot_config(sample_rate: int, duration_s: float = 1.0) -> FeatureConfig:
    """The `FeatureConfig` `plot_audio` uses when given none: speech-style framing at any rate.

    Args:
        sample_rate: Hz, the rate the clip is analysed at (the file's own rate by default).
        duration_s: clip length in seconds, stored as ``clip_duration`` (it does not crop).

    Returns:
        ``FeatureConfig(kind="mfcc")`` with a 25 ms Hann window (``win_length``) zero-padded to
        the next power of two (``n_fft``: 256 at 8 kHz, 512 at 16 kHz, 2048 at 44.1 / 48 kHz,
        i.e. 25-47 ms),
        10 ms hop, centred frames (so clips shorter than one frame still work), 40 Slaney mel
        bands from 20 Hz to Nyquist, 13 MFCC, power spectra, no ``top_db`` clipping and no
        normalisation.

    Raises:
        ValueError: sample_rate or duration_s is not positive, or the rate is too low for a
            20 Hz - Nyquist filter bank (below 41 Hz).

    Source: 25 ms / 10 ms framing, 40 bands and 13 coefficients are the classic ASR MFCC setup
    (Davis & Mermelstein 1980; HTK / Kaldi defaults), as in the ``mfcc_13x100`` preset.
    """
    if sample_rate <= 0 or duration_s <= 0:
        raise ValueError(f"need positive sample_rate and duration_s, got {sample_rate} Hz and {duration_s} s")
    win_length = max(1, int(round(0.025 * sample_rate)))
    n_fft = 1 << (win_length - 1).bit_length()
    return dataclasses.replace(
        FeatureConfig(),
        kind="mfcc",
        sample_rate=int(sample_rate),
        clip_duration=float(duration_s),
        n_fft=n_fft,
        win_length=win_length,
        hop_length=max(1, int(round(0.010 * sample_rate))),
        window="hann",
        center=True,
        n_mels=40,
        n_mfcc=13,
        fmin=20.0,
        fmax=None,
        power=2.0,
        top_db=None,
        normalization="none",
    )


def plot_audio(
    path: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    sample_rate: int | None = None,
    config: FeatureConfig | None = None,
) -> list[Path]:
    """Write six PNGs describing one audio file into ``out_dir``.

    Files (``stem`` is the audio file name without its suffix), in the order returned:

    - ``<stem>_waveform.png``: amplitude (full scale, [-1, 1]) against time in s.
    - ``<stem>_psd.png``: power spectral density in dB/Hz (re 1 FS^2/Hz) against Hz: the
      periodogram (Hann window, whole clip) and Welch's estimate (Hann, ``config.n_fft`` samples
      per segment, 50 % overlap) on one axis.
    - ``<stem>_fft.png``: single-sided amplitude spectrum of the whole clip (Hann window,
      normalised so a full-scale sine reads 0 dBFS) against Hz.
    - ``<stem>_spectrogram.png``: STFT power in dB against time (s) and frequency (Hz), from
      ``compute_features`` with ``kind="spectrogram"``, ``power=2``.
    - ``<stem>_mel.png``: mel-band power in dB, from ``compute_features`` with ``kind="logmel"``,
      ``power=2``; the y axis is labelled with band centre frequencies in Hz.
    - ``<stem>_mfcc.png``: ``compute_features`` with ``kind="mfcc"`` and the config's own power
      and normalisation, i.e. the coefficients a model trained on ``config`` would see.

    The spectrogram and mel plots always use ``normalization="none"`` so their colour bar is in
    dB; colour and spectrum axes show the top 100 dB. The whole file is analysed: the config's
    ``clip_duration`` neither pads nor crops. Everything is computed before anything is written,
    and the six files are renamed into place only after all six rendered, so a failure leaves
    no new PNG (and no temp file) in ``out_dir``; existing files of the same names are replaced
    on success.

    Args:
        path: audio file libsndfile reads (wav, flac, ogg); channels are averaged to mono.
        out_dir: folder for the PNGs, created if missing.
        sample_rate: Hz to analyse at (the file is resampled with soxr if it differs). None:
            ``config.sample_rate`` if a config is given, else the file's own rate.
        config: frontend settings (n_fft, win_length, hop_length in samples; mel and MFCC
            sizes). None: `default_plot_config` at the analysis rate.

    Returns:
        The six PNG paths, ``out_dir / f"{stem}_{kind}.png"`` for kind in `AUDIO_PLOTS`.

    Raises:
        AudioError: the file is missing, corrupt, not audio, empty or contains NaN / inf, or is
            shorter than one frame of a ``center=False`` config. The message names the file.
        ValueError: ``sample_rate`` and ``config.sample_rate`` are both given and differ, or the
            config cannot be switched to ``kind="logmel"`` / ``"mfcc"`` (e.g. n_mfcc > n_mels).

    Source: ``scipy.signal.periodogram`` / ``scipy.signal.welch`` (``scaling="density"``,
    Welch 1967); spectrogram, mel and MFCC from `tinyaudio.features.extract.compute_features`.
    """
    from scipy import signal

    path, out_dir = Path(path), Path(out_dir)
    if config is not None and sample_rate is not None and sample_rate != config.sample_rate:
        raise ValueError(
            f"sample_rate={sample_rate} Hz differs from config.sample_rate={config.sample_rate} Hz; "
            f"pass one of them, or dataclasses.replace the config"
        )
    if sample_rate is None:
        sample_rate = config.sample_rate if config is not None else _native_rate(path)
    samples = load_audio(path, sample_rate)
    if config is None:
        config = default_plot_config(sample_rate, len(samples) / sample_rate)
    sr = config.sample_rate

    # -- compute everything first: any bad input fails before a single file is touched -----------
    spec_config = dataclasses.replace(config, kind="spectrogram", power=2.0, normalization="none", top_db=None)
    mel_config = dataclasses.replace(config, kind="logmel", power=2.0, normalization="none", top_db=None)
    mfcc_config = dataclasses.replace(config, kind="mfcc")
    if not config.center and len(samples) < config.n_fft:
        raise AudioError(
            f"{path}: {len(samples)} samples at {sr} Hz is shorter than one frame (n_fft={config.n_fft}) "
            f"of this center=False config; pass a config with center=True or a smaller n_fft"
        )
    try:
        spec_db = compute_features(samples, spec_config)
        mel_db = compute_features(samples, mel_config)
        mfcc = compute_features(samples, mfcc_config)
    except AudioError as exc:
        raise AudioError(f"{path}: {exc}") from None

    hann = signal.get_window("hann", len(samples)) if len(samples) > 1 else np.ones(1)
    f_per, p_per = signal.periodogram(samples, fs=sr, window=hann, scaling="density")
    nperseg = min(len(samples), config.n_fft)
    f_welch, p_welch = signal.welch(samples, fs=sr, window="hann", nperseg=nperseg, scaling="density")
    f_fft = np.fft.rfftfreq(len(samples), 1.0 / sr)
    amp = 2.0 * np.abs(np.fft.rfft(samples * hann)) / hann.sum()
    amp[0] /= 2.0  # DC (and Nyquist for even lengths) appear once, not twice
    if len(samples) % 2 == 0 and len(amp) > 1:
        amp[-1] /= 2.0

    stem, tag = path.stem, f"{path.name} ({sr} Hz)"
    duration = len(samples) / sr
    targets = [out_dir / f"{stem}_{kind}.png" for kind in AUDIO_PLOTS]
    figures = []

    fig, ax = _figure(8.0, 3.0)
    t, lo, hi = _envelope(np.arange(len(samples)) / sr, samples)
    if lo is hi:
        ax.plot(t, lo, lw=0.6)
    else:
        ax.fill_between(t, lo, hi, lw=0.4)
    peak = float(np.max(np.abs(samples)))
    half = max(1.1 * peak, 1e-3)
    ax.set(xlim=(0, duration), ylim=(-half, half), xlabel="time (s)", ylabel="amplitude (full scale)")
    peak_db = 20.0 * np.log10(peak) if peak > 0 else float("-inf")
    ax.set_title(f"waveform: {tag}, {duration:.3f} s, peak {peak_db:.1f} dBFS")
    ax.grid(alpha=0.3)
    figures.append(fig)

    fig, ax = _figure(8.0, 3.5)
    per_db, welch_db = _power_db(p_per), _power_db(p_welch)
    ax.plot(*_envelope(f_per, per_db)[::2], lw=0.6, alpha=0.6, label="periodogram (Hann, whole clip)")
    ax.plot(f_welch, welch_db, lw=1.4, label=f"Welch (Hann, {nperseg}-sample segments, 50 % overlap)")
    ax.set(xlim=(0, sr / 2), xlabel="frequency (Hz)", ylabel="PSD (dB/Hz, re 1 FS²/Hz)")
    ax.set_ylim(_db_limits(per_db, welch_db))
    ax.set_title(f"power spectral density: {tag}")
    ax.legend(loc="upper right", fontsize="small")
    ax.grid(alpha=0.3)
    figures.append(fig)

    fig, ax = _figure(8.0, 3.5)
    amp_db = 20.0 * np.log10(np.maximum(amp, np.sqrt(_TINY)))
    ax.plot(*_envelope(f_fft, amp_db)[::2], lw=0.6)
    ax.set(xlim=(0, sr / 2), xlabel="frequency (Hz)", ylabel="magnitude (dBFS)")
    ax.set_ylim(_db_limits(amp_db))
    ax.set_title(f"FFT of whole clip (Hann, N={len(samples)}): {tag}")
    ax.grid(alpha=0.3)
    figures.append(fig)

    times = _frame_times(len(spec_db), config)
    hop_s = config.hop_length / sr
    t_extent = (times[0] - hop_s / 2, times[-1] + hop_s / 2)
    df = sr / config.n_fft

    fig, ax = _figure(8.0, 4.0)
    vmax = float(spec_db.max())
    im = ax.imshow(
        spec_db.T, origin="lower", aspect="auto", cmap="magma", interpolation="nearest",
        extent=(*t_extent, -df / 2, sr / 2 + df / 2), vmin=vmax - _DYNAMIC_RANGE_DB, vmax=vmax,
    )
    fig.colorbar(im, ax=ax, label="power (dB re 1 FS²)")
    ax.set(xlabel="time (s)", ylabel="frequency (Hz)")
    ax.set_title(
        f"STFT spectrogram: {tag}, n_fft={config.n_fft}, win={config.win_length}, hop={config.hop_length}"
    )
    figures.append(fig)

    fig, ax = _figure(8.0, 4.0)
    vmax = float(mel_db.max())
    im = ax.imshow(
        mel_db.T, origin="lower", aspect="auto", cmap="magma", interpolation="nearest",
        extent=(*t_extent, -0.5, config.n_mels - 0.5), vmin=vmax - _DYNAMIC_RANGE_DB, vmax=vmax,
    )
    fig.colorbar(im, ax=ax, label="mel-band power (dB re 1 FS²)")
    fmax = config.fmax if config.fmax is not None else sr / 2
    centres = mel_to_hz(np.linspace(hz_to_mel(config.fmin), hz_to_mel(fmax), config.n_mels + 2))[1:-1]
    ticks = np.unique(np.linspace(0, config.n_mels - 1, min(config.n_mels, 8)).round().astype(int))
    ax.set_yticks(ticks, [f"{centres[i]:.0f}" for i in ticks])
    ax.set(xlabel="time (s)", ylabel="mel band centre frequency (Hz)")
    ax.set_title(f"mel spectrogram: {tag}, {config.n_mels} bands, {config.fmin:g}-{fmax:g} Hz")
    figures.append(fig)

    figures.append(_mfcc_figure(mfcc, config, t_extent, times, tag))

    _save_all(figures, targets)
    return targets


def plot_training_history(history: Mapping[str, Sequence[float]], path: str | os.PathLike) -> Path:
    """Write a PNG of loss and accuracy per epoch, training against validation.

    Args:
        history: Keras ``History.history`` layout: ``"loss"``, ``"val_loss"``, ``"accuracy"``,
            ``"val_accuracy"`` (``"acc"`` / ``"val_acc"`` also accepted), one float per epoch,
            epoch 1 first. Any of them may be missing; other keys are ignored. NaN values show
            as gaps.
        path: PNG to write; its folder is created if missing.

    Returns:
        ``Path(path)``. One row of panels: loss (and accuracy, if present) against epoch.

    Raises:
        ValueError: history has neither a loss nor an accuracy series, or every series is empty.
    """
    panels = []
    for name, keys in (("loss", ("loss",)), ("accuracy", ("accuracy", "acc"))):
        train_key = next((k for k in keys if k in history), None)
        val_key = next((f"val_{k}" for k in keys if f"val_{k}" in history), None)
        series = [(label, np.asarray(history[key], dtype=np.float64).ravel())
                  for label, key in (("train", train_key), ("validation", val_key)) if key is not None]
        series = [(label, values) for label, values in series if len(values)]
        if series:
            panels.append((name, series))
    if not panels:
        raise ValueError(
            f"history has no non-empty 'loss' / 'accuracy' (or 'val_...') series, only keys {sorted(history)}; "
            f"pass keras.callbacks.History.history"
        )
    fig, axes = _figure(5.0 * len(panels), 3.6, ncols=len(panels))
    axes = np.atleast_1d(axes)
    n_epochs = max(len(values) for _, series in panels for _, values in series)
    for ax, (name, series) in zip(axes, panels):
        for label, values in series:
            epochs = np.arange(1, len(values) + 1)
            ax.plot(epochs, values, marker="o" if len(values) <= 30 else None, ms=3, label=label)
        if name == "accuracy":
            finite = np.concatenate([v[np.isfinite(v)] for _, v in series])
            if finite.size and finite.min() >= 0 and finite.max() <= 1:
                ax.set_ylim(0, 1.02)
            ax.set_ylabel("accuracy (fraction correct)")
        else:
            ax.set_ylabel("loss")
        ax.set_xlabel("epoch")
        ax.set_xlim(0.5, n_epochs + 0.5)
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.set_title(f"{name} per epoch")
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
    path = Path(path)
    _save_all([fig], [path])
    return path


def plot_confusion_matrix(
    matrix: np.ndarray, labels: Sequence[str], path: str | os.PathLike
) -> Path:
    """Write a PNG of a confusion matrix: counts in each cell, colour by fraction of the true class.

    Args:
        matrix: int array, shape (n, n); ``matrix[i, j]`` counts clips of true class ``labels[i]``
            predicted as ``labels[j]`` (rows true, columns predicted, as
            ``sklearn.metrics.confusion_matrix``).
        labels: n class names, in the matrix's order.
        path: PNG to write; its folder is created if missing.

    Returns:
        ``Path(path)``. Cell colour is the row-normalised rate (recall on the diagonal), so a
        rare class is as visible as a common one; counts are written in cells for n <= 30.

    Raises:
        ValueError: matrix is not square, not integer-valued, has negative entries, or its size
            differs from ``len(labels)``.
    """
    matrix = np.asarray(matrix)
    labels = [str(label) for label in labels]
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1] or matrix.shape[0] == 0:
        raise ValueError(f"confusion matrix must have shape (n, n) with n >= 1, got {matrix.shape}")
    if not (np.issubdtype(matrix.dtype, np.integer) or np.array_equal(matrix, np.round(matrix))):
        raise ValueError(f"confusion matrix must hold integer counts, got dtype {matrix.dtype} with fractions")
    matrix = matrix.astype(np.int64)
    if (matrix < 0).any():
        raise ValueError("confusion matrix has negative counts")
    n = matrix.shape[0]
    if len(labels) != n:
        raise ValueError(f"{len(labels)} labels for a {n} x {n} confusion matrix; pass one label per class")

    totals = matrix.sum(axis=1, keepdims=True)
    rates = matrix / np.maximum(totals, 1)
    size = min(max(4.0, 0.45 * n + 2.5), 24.0)
    fig, ax = _figure(size + 1.0, size)
    im = ax.imshow(rates, cmap="Blues", vmin=0.0, vmax=1.0, interpolation="nearest")
    fig.colorbar(im, ax=ax, label="fraction of true class", fraction=0.046, pad=0.04)
    if n <= 30:
        font = "small" if n <= 12 else "xx-small"
        for i in range(n):
            for j in range(n):
                ax.text(j, i, str(matrix[i, j]), ha="center", va="center", fontsize=font,
                        color="white" if rates[i, j] > 0.5 else "black")
    ax.set_xticks(np.arange(n), labels, rotation=45 if n > 4 else 0, ha="right" if n > 4 else "center")
    ax.set_yticks(np.arange(n), labels)
    ax.set(xlabel="predicted class", ylabel="true class")
    total = int(matrix.sum())
    accuracy = np.trace(matrix) / total if total else float("nan")
    ax.set_title(f"confusion matrix: {total} clips, accuracy {accuracy:.3f}")
    path = Path(path)
    _save_all([fig], [path])
    return path


# -- helpers ---------------------------------------------------------------------------------------
def _mfcc_figure(mfcc: np.ndarray, config: FeatureConfig, t_extent: tuple[float, float],
                 times: np.ndarray, tag: str):
    """MFCC figure: c0 (log energy, which dwarfs the rest) as a curve above an image of c1..

    The image's colour scale is symmetric about 0 and set by c1.. alone, so c0 does not wash
    out the coefficients that carry the spectral shape.
    """
    unit = "normalised" if config.normalization == "clip" else "dB"
    if config.n_mfcc == 1:
        fig, ax = _figure(8.0, 3.0)
        ax.plot(times, mfcc[:, 0], lw=1.2)
        ax.set(xlim=t_extent, xlabel="time (s)", ylabel=f"c0 ({unit})")
        ax.grid(alpha=0.3)
        ax.set_title(f"MFCC: {tag}, 1 coefficient")
        return fig
    fig, (ax0, ax) = _figure(8.0, 4.5, nrows=2, height_ratios=(1, 3), sharex=True)
    ax0.plot(times, mfcc[:, 0], lw=1.2)
    ax0.set(xlim=t_extent, ylabel=f"c0 ({unit})")
    ax0.grid(alpha=0.3)
    ax0.set_title(f"MFCC: {tag}, {config.n_mfcc} coefficients (DCT-II of log-mel)")
    rest = mfcc[:, 1:]
    limit = max(float(np.max(np.abs(rest))), 1e-6)
    im = ax.imshow(
        rest.T, origin="lower", aspect="auto", cmap="coolwarm", interpolation="nearest",
        extent=(*t_extent, 0.5, config.n_mfcc - 0.5), vmin=-limit, vmax=limit,
    )
    fig.colorbar(im, ax=[ax0, ax], label=f"c1..c{config.n_mfcc - 1} ({unit})")
    ax.set(xlabel="time (s)", ylabel="MFCC index")
    return fig


def _native_rate(path: Path) -> int:
    """Sample rate in Hz from the file header; `AudioError` (as `load_audio`) if unreadable."""
    import soundfile as sf

    if not path.exists():
        raise AudioError(f"{path}: file not found; check the path or re-download the dataset")
    try:
        return int(sf.info(str(path)).samplerate)
    except (sf.LibsndfileError, RuntimeError, ValueError, OSError) as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise AudioError(f"{path}: cannot decode audio ({msg}); the file is corrupt or not audio, re-download or delete it") from None


def _figure(width: float, height: float, *, nrows: int = 1, ncols: int = 1,
            height_ratios: tuple[float, ...] | None = None, sharex: bool = False):
    """A pyplot-free Figure (inches) on an Agg canvas, with its axes (a single Axes if 1 x 1)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=_DPI, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(nrows, ncols, sharex=sharex, height_ratios=height_ratios)
    return fig, axes


def _save_all(figures: list, targets: list[Path]) -> None:
    """Render every figure to a temp PNG, then rename them all; on any error, none is renamed."""
    with contextlib.ExitStack() as stack:
        for fig, target in zip(figures, targets, strict=True):
            tmp = stack.enter_context(atomic_path(target))
            fig.savefig(tmp, format="png", dpi=_DPI)


def _frame_times(n_frames: int, config: FeatureConfig) -> np.ndarray:
    """Centre of each STFT frame in seconds (librosa ``frames_to_time`` for ``center=True``)."""
    starts = np.arange(n_frames) * config.hop_length
    offset = 0 if config.center else config.n_fft // 2
    return (starts + offset) / config.sample_rate


def _power_db(power: np.ndarray) -> np.ndarray:
    """``10 * log10(power)``, floored at -200 dB so zeros stay finite."""
    return 10.0 * np.log10(np.maximum(power, _TINY))


def _db_limits(*curves: np.ndarray) -> tuple[float, float]:
    """y limits showing the top `_DYNAMIC_RANGE_DB` of the curves (whole range if narrower)."""
    top = max(float(np.max(c)) for c in curves)
    bottom = max(min(float(np.min(c)) for c in curves), top - _DYNAMIC_RANGE_DB)
    if top - bottom < 1.0:
        bottom, top = bottom - 1.0, top + 1.0
    return bottom - 3.0, top + 5.0


def _envelope(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(x, y_min, y_max)`` per bin of a long curve, so plotting cost does not grow with length.

    Curves of at most `_MAX_LINE_POINTS` come back unchanged with ``y_min is y_max``; longer ones
    are cut into that many bins (the trailing remainder is folded into the last bin).
    """
    if len(y) <= _MAX_LINE_POINTS:
        return x, y, y
    width = len(y) // _MAX_LINE_POINTS
    n = width * _MAX_LINE_POINTS
    lo = y[:n].reshape(-1, width).min(axis=1)
    hi = y[:n].reshape(-1, width).max(axis=1)
    lo[-1], hi[-1] = min(lo[-1], y[n:].min(initial=lo[-1])), max(hi[-1], y[n:].max(initial=hi[-1]))
    return x[:n:width], lo, hi
