"""Fixed-point q15 frontend: the numbers a Cortex-M computes with CMSIS-DSP, computed here.

A model deployed on a microcontroller must be trained on the features the microcontroller
produces, not on a float approximation of them. This module runs the device's own arithmetic
through the ``cmsisdsp`` package (the CMSIS-DSP C library compiled for the host), and
`tinyaudio.export.mcu` writes the same constant tables into a C header, so the C frontend
(``ta_frontend.c``) and this module give bit-identical int16 features (tested in
``tests/export/test_mcu_frontend.py``).

Recipe per frame of ``n_fft`` int16 samples (``hop_length`` apart, zero-padded by
``n_fft // 2`` on both sides when ``center``):

* ``mfcc`` and ``logmel``: ``arm_mfcc_q15`` -- scale the frame to full range
  (``arm_absmax_q15`` / ``arm_divide_q15`` / ``arm_scale_q15``), ``arm_mult_q15`` by the q15
  window, ``arm_rfft_q15``, ``arm_cmplx_mag_q15``, mel filters as sparse q15 dot products,
  undo the input scaling, ``arm_vlog_q31`` (natural log), then ``arm_mat_vec_mult_q15`` by a
  q15 DCT matrix; finally ``arm_add_q15`` of a constant bias. ``logmel`` passes ``0.5 * I``
  as the DCT matrix, which drops one fractional bit.
* ``spectrogram``: the seed recipe -- ``arm_mult_q15`` by the window, ``arm_rfft_q15``,
  ``arm_cmplx_mag_q15``; no per-frame scaling, so quiet frames keep few significant bits.

Scales of the int16 outputs (``value * 2 ** -fraction_bits(config)``):

* ``mfcc``: q8.7, DCT-II (orthonormal) of ``ln(mel energy)``; times ``10 / ln 10`` this is
  `tinyaudio.features.compute_features` with ``power=1.0`` (magnitude mel spectrum in dB).
* ``logmel``: q9.6, ``ln(mel energy)`` per band.
* ``spectrogram``: ``|X[k]|`` with ``2 ** (log2(n_fft) - 14)`` per LSB, where X is the
  unnormalised DFT of the windowed float frame (samples / 32768).

``mel energy`` is ``sum_k filter[m, k] * |X[k]|`` with the Slaney filters of
`tinyaudio.features.mel_filterbank`. On the device each filter is stored scaled to a peak of
1.0 (full q15 precision); the constant bias puts back ``ln(peak)`` of every band.

Differences from the float frontend (measured in ``benchmarks/q15_vs_float.py``): the q15 FFT
keeps about 16 bits per frame, so bands more than ~50 dB below the frame's loudest band, and
frames of digital silence, are floored (``ln`` of ``MICRO_Q15``, about -14.4) instead of
following the float value down to ``log_floor``.

Source: ``arm_mfcc_q15.c`` of CMSIS-DSP 1.10 (pip package ``cmsisdsp==1.10.3``); Slaney mel
scale and DCT as `tinyaudio.features.extract`.
"""

from __future__ import annotations

import dataclasses
import functools
import math

import numpy as np

from tinyaudio.errors import AudioError
from tinyaudio.features.config import RFFT_Q15_SIZES, FeatureConfig, check_q15_config  # noqa: F401 (re-exported)
from tinyaudio.features.filters import dct_matrix, mel_filterbank

_FRACTION_BITS = {"mfcc": 7, "logmel": 6}
_DB_PER_NEPER = 10.0 / math.log(10.0)


def _import_cmsisdsp():
    try:
        import cmsisdsp
    except ImportError:
        raise ImportError(
            "the q15 frontend needs the cmsisdsp package: pip install 'cmsisdsp==1.10.3' "
            "(or pip install 'tinyaudio[mcu]')"
        ) from None
    return cmsisdsp


def base_kind(config: FeatureConfig) -> str:
    """``config.kind`` without a ``_q15`` suffix: ``"mfcc"``, ``"logmel"`` or ``"spectrogram"``."""
    return config.base_kind


def fraction_bits(config: FeatureConfig) -> int:
    """Fractional bits of the int16 output: 7 (mfcc), 6 (logmel), ``14 - log2(n_fft)`` (spectrogram).

    For spectrograms of n_fft > 16384 this would be negative; sizes stop at 8192, so it is >= 1.
    """
    kind = base_kind(config)
    if kind in _FRACTION_BITS:
        return _FRACTION_BITS[kind]
    return 14 - int(math.log2(config.n_fft))


@dataclasses.dataclass(frozen=True, eq=False)
class Q15Tables:
    """Every constant the device frontend needs; written verbatim into ``ta_frontend_config.h``.

    Attributes:
        kind: ``"mfcc"``, ``"logmel"`` or ``"spectrogram"``.
        window: int16, shape (n_fft,), q15 analysis window (periodic, centred, zero-padded).
        filter_pos: uint32, shape (n_mels,), first FFT bin of each mel filter.
        filter_len: uint32, shape (n_mels,), bins in each filter.
        filter_coefs: int16, shape (sum(filter_len),), q15 filter weights, each filter
            scaled to a peak of 1.0 (empty for spectrograms).
        dct: int16, shape (n_out, n_mels), q15 matrix applied to the q8.7 log-mel vector
            (orthonormal DCT-II for mfcc, ``0.5 * I`` for logmel; empty for spectrograms).
        bias: int16, shape (n_features,), added with saturation after the DCT (zeros for spectrograms).
    """

    kind: str
    n_fft: int
    hop_length: int
    center: bool
    n_features: int
    fraction_bits: int
    window: np.ndarray
    filter_pos: np.ndarray
    filter_len: np.ndarray
    filter_coefs: np.ndarray
    dct: np.ndarray
    bias: np.ndarray


def _to_q15(values: np.ndarray) -> np.ndarray:
    """Round to nearest and saturate to int16 (``cmsisdsp.fixedpoint.toQ15``)."""
    return np.clip(np.round(np.asarray(values, dtype=np.float64) * 32768.0), -32768, 32767).astype(np.int16)


def q15_window(window: str, win_length: int, n_fft: int) -> np.ndarray:
    """Periodic window from its formula with ``arm_cos_f32`` (float32), to q15, centred in n_fft.

    Returns:
        int16 array, shape (n_fft,); zeros outside the centred ``win_length`` samples.

    Source: seed firmware (Hann of 256 from ``0.5 - 0.5 cos(2 pi n / N)``, ``arm_cos_f32``);
    centring as `tinyaudio.features.extract.analysis_window` (librosa ``pad_center``).
    """
    dsp = _import_cmsisdsp()
    if window == "rectangular":
        w = np.ones(win_length, dtype=np.float32)
    else:
        a0, a1 = (np.float32(0.5), np.float32(0.5)) if window == "hann" else (np.float32(0.54), np.float32(0.46))
        two_pi = np.float32(2.0 * math.pi)
        w = np.array(
            [a0 - a1 * np.float32(dsp.arm_cos_f32(float(two_pi * np.float32(n) / np.float32(win_length))))
             for n in range(win_length)],
            dtype=np.float32,
        )
    out = np.zeros(n_fft, dtype=np.int16)
    left = (n_fft - win_length) // 2
    out[left : left + win_length] = _to_q15(w)
    return out


@functools.lru_cache(maxsize=16)
def q15_tables(config: FeatureConfig) -> Q15Tables:
    """The constant tables of the q15 frontend for ``config`` (cached; arrays are read-only).

    Raises:
        ValueError: see `check_q15_config`.
    """
    check_q15_config(config)
    kind = base_kind(config)
    window = q15_window(config.window, config.win_length, config.n_fft)
    pos, lengths, coefs = [], [], []
    dct = np.zeros((0, 0), dtype=np.int16)
    bias = np.zeros(config.n_fft // 2 + 1 if kind == "spectrogram" else config.n_features, dtype=np.int16)
    if kind in ("mfcc", "logmel"):
        bank = mel_filterbank(config.sample_rate, config.n_fft, config.n_mels, config.fmin, config.fmax)
        log_peak = np.empty(config.n_mels)
        for m, row in enumerate(bank):
            peak = row.max()
            q = _to_q15(row / peak)
            nonzero = np.flatnonzero(q)
            first, last = nonzero[0], nonzero[-1]
            pos.append(first)
            lengths.append(last - first + 1)
            coefs.append(q[first : last + 1])
            log_peak[m] = math.log(peak)
        if kind == "mfcc":
            basis = dct_matrix(config.n_mfcc, config.n_mels)
            dct = _to_q15(basis)
            bias_float = (basis @ log_peak) * 2.0 ** _FRACTION_BITS["mfcc"]
        else:
            dct = (np.eye(config.n_mels) * 16384).astype(np.int16)
            bias_float = log_peak * 2.0 ** _FRACTION_BITS["logmel"]
        bias = np.clip(np.round(bias_float), -32768, 32767).astype(np.int16)
    tables = Q15Tables(
        kind=kind,
        n_fft=config.n_fft,
        hop_length=config.hop_length,
        center=config.center,
        n_features=len(bias),
        fraction_bits=fraction_bits(config),
        window=window,
        filter_pos=np.array(pos, dtype=np.uint32),
        filter_len=np.array(lengths, dtype=np.uint32),
        filter_coefs=np.concatenate(coefs).astype(np.int16) if coefs else np.zeros(0, dtype=np.int16),
        dct=dct,
        bias=bias,
    )
    for name in ("window", "filter_pos", "filter_len", "filter_coefs", "dct", "bias"):
        getattr(tables, name).setflags(write=False)
    return tables


@functools.lru_cache(maxsize=16)
def _mfcc_instance(config: FeatureConfig):
    # cmsisdsp copies the tables into C memory it never frees: build each instance once.
    dsp = _import_cmsisdsp()
    t = q15_tables(config)
    instance = dsp.arm_mfcc_instance_q15()
    status = dsp.arm_mfcc_init_q15(
        instance, t.n_fft, len(t.filter_pos), t.dct.shape[0], t.dct.ravel(),
        t.filter_pos, t.filter_len, t.filter_coefs, t.window,
    )
    if status != 0:
        raise RuntimeError(f"arm_mfcc_init_q15 failed with status {status} for n_fft={t.n_fft}")
    return instance


@functools.lru_cache(maxsize=16)
def _rfft_instance(n_fft: int):
    dsp = _import_cmsisdsp()
    instance = dsp.arm_rfft_instance_q15()
    status = dsp.arm_rfft_init_q15(instance, n_fft, 0, 1)
    if status != 0:
        raise RuntimeError(f"arm_rfft_init_q15 failed with status {status} for n_fft={n_fft}")
    return instance


def float_to_q15(samples: np.ndarray) -> np.ndarray:
    """Float audio in [-1, 1] to int16 the way a 16-bit ADC / PDM driver delivers it.

    Returns:
        int16 array of the same shape: ``round(samples * 32768)``, saturated.
    """
    return _to_q15(samples)


def q15_frame_features(frame: np.ndarray, config: FeatureConfig) -> np.ndarray:
    """Features of one frame of ``n_fft`` int16 samples: one call of the device's frame function.

    Returns:
        int16 array, shape (n_features,), in the scale of `fraction_bits`.
    """
    dsp = _import_cmsisdsp()
    t = q15_tables(config)
    frame = np.array(frame, dtype=np.int16, copy=True)  # CMSIS-DSP overwrites its input
    if t.kind == "spectrogram":
        windowed = dsp.arm_mult_q15(frame, t.window)
        spectrum = dsp.arm_rfft_q15(_rfft_instance(t.n_fft), windowed)
        return np.asarray(dsp.arm_cmplx_mag_q15(spectrum[: 2 * t.n_features]), dtype=np.int16)
    status, out = dsp.arm_mfcc_q15(_mfcc_instance(config), frame, np.zeros(2 * t.n_fft, dtype=np.int32))
    if status != 0:
        raise RuntimeError(f"arm_mfcc_q15 failed with status {status}")
    return np.asarray(dsp.arm_add_q15(np.asarray(out, dtype=np.int16), t.bias), dtype=np.int16)


def compute_features_q15(samples: np.ndarray, config: FeatureConfig) -> np.ndarray:
    """q15 features of one clip or a batch, bit-identical to the C frontend on the device.

    Args:
        samples: int16 audio at ``config.sample_rate`` (``float_to_q15`` of float audio),
            shape (n_samples,) or (batch, n_samples). Clips of ``config.n_samples`` give
            ``config.shape`` per clip.
        config: the `FeatureConfig` saved with the model; see `check_q15_config` for the
            settings it must have. ``log_floor`` is not used (the floor is CMSIS-DSP's).

    Returns:
        int16 array, shape (..., n_frames, n_features); value * 2 ** -fraction_bits(config)
        is ln(mel energy) DCT (mfcc), ln(mel energy) (logmel) or |X| (spectrogram), see the
        module docstring. `q15_to_float` turns it into the float frontend's units.

    Raises:
        AudioError: samples not int16, empty, more than 2-D, or shorter than one frame.
        ValueError: config not supported (see `check_q15_config`).
        ImportError: cmsisdsp is not installed.

    Source: ``arm_mfcc_q15`` (CMSIS-DSP 1.10); framing as `tinyaudio.features.compute_features`.
    """
    samples = np.asarray(samples)
    if samples.dtype != np.int16:
        raise AudioError(
            f"samples: the q15 frontend takes int16 audio, got {samples.dtype}; "
            "convert float audio in [-1, 1] with tinyaudio.features.q15.float_to_q15"
        )
    if samples.ndim not in (1, 2) or samples.shape[-1] == 0:
        raise AudioError(f"samples: expected shape (n_samples,) or (batch, n_samples), got {samples.shape}")
    t = q15_tables(config)
    if samples.ndim == 2:
        return np.stack([compute_features_q15(clip, config) for clip in samples]) if len(samples) else (
            np.zeros((0, config.n_frames, t.n_features), dtype=np.int16)
        )
    if t.center:
        samples = np.pad(samples, (t.n_fft // 2, t.n_fft // 2))
    if len(samples) < t.n_fft:
        raise AudioError(f"samples: {len(samples)} samples is shorter than one frame (n_fft={t.n_fft})")
    n_frames = 1 + (len(samples) - t.n_fft) // t.hop_length
    out = np.empty((n_frames, t.n_features), dtype=np.int16)
    for i in range(n_frames):
        start = i * t.hop_length
        out[i] = q15_frame_features(samples[start : start + t.n_fft], config)
    return out


def q15_to_float(features: np.ndarray, config: FeatureConfig) -> np.ndarray:
    """int16 q15 features in the units of the float frontend, for training and comparison.

    mfcc / logmel: ``value * 2 ** -fraction_bits * 10 / ln(10)``, i.e. dB-scaled like
    `tinyaudio.features.compute_features` with ``power=1.0``. spectrogram:
    ``10 * log10(max(log_floor, |X| ** power))`` as the float ``"spectrogram"`` kind.

    Returns:
        float32 array, same shape.
    """
    values = np.asarray(features, dtype=np.float64) * 2.0 ** -fraction_bits(config)
    if base_kind(config) == "spectrogram":
        values = 10.0 * np.log10(np.maximum(config.log_floor, values**config.power))
    else:
        values = values * _DB_PER_NEPER
    return values.astype(np.float32)
