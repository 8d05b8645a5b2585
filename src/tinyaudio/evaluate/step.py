"""Check a streaming step model against the full model it was rewritten from.

The step model (`tinyaudio.quantize.streaming.step_model`) must give, after each new frame, the
full model's output on the window that ends at that frame. `compare_step_model` feeds a frame
sequence through both with TFLite's reference kernels (bit-exact with TFLite Micro) and counts
the positions where they differ. Runtime extra only (no TensorFlow).
"""

from __future__ import annotations

import os
from typing import Callable

import numpy as np

from tinyaudio.runtime.litert import TFLiteModel, TFLiteStepModel


def compare_step_model(full_model: str | os.PathLike | bytes | Callable[[np.ndarray], np.ndarray],
                       step_model: str | os.PathLike | bytes, spec: dict, frames: np.ndarray) -> dict:
    """Feed ``frames`` through the step model; compare every output with the full model on its window.

    Args:
        full_model: ``.tflite`` path or bytes of the same kind as ``step_model`` (int8 or float),
            or a function from float windows (n, n_frames, n_features, 1) to float outputs (n, n_outputs)
            (e.g. a Keras model's ``predict``; the step model must then be float).
        step_model: ``.tflite`` path or bytes.
        spec: the step model's ``stream_step.json`` (`StepSpec.to_dict`).
        frames: float32 feature frames of a stream, shape (n, n_features); n > ``spec["n_frames"]``.

    Returns:
        ``{"positions": outputs compared (one per step once a whole window was fed),
        "equal": positions where the raw outputs are identical, "max_abs_diff": largest
        difference of the raw outputs (int8 steps or float values)}``.

    Raises:
        ValueError: fewer frames than one window.
    """
    step = TFLiteStepModel(step_model, spec, reference_kernels=True)
    n_frames, r = step.n_frames, step.frames_per_step
    frames = np.asarray(frames, dtype=np.float32)
    if len(frames) < n_frames:
        raise ValueError(f"{len(frames)} frames are fewer than one window ({n_frames}); give a longer stream")
    full = None if callable(full_model) else TFLiteModel(full_model, reference_kernels=True)
    q = full.quantize_input(frames) if full else frames  # the step input has the full input's quantization
    # steps end where the full model's last output does, on frame n_frames - 1 and every r frames
    # after: the stream is preceded by (-n_frames) % r zero frames (as the streaming engine does)
    pad = (-n_frames) % r
    padded = np.concatenate([np.zeros((pad, *q.shape[1:]), q.dtype), q]) if pad else q
    ys, ends = [], []
    for stop in range(r, len(padded) + 1, r):
        y = step.step_raw(padded[stop - r : stop])
        if stop - pad >= n_frames:  # a whole window of the stream seen
            ys.append(y.reshape(-1))
            ends.append(stop - pad)
    if full is None:
        zs = np.asarray(full_model(np.stack([frames[e - n_frames : e] for e in ends])[..., None]))
    else:
        zs = np.stack([full.invoke(q[e - n_frames : e]).reshape(-1) for e in ends])
    ys = np.stack(ys).astype(np.float64)
    zs = zs.reshape(ys.shape).astype(np.float64)
    return {"positions": len(ends), "equal": int(np.all(ys == zs, axis=1).sum()),
            "max_abs_diff": float(np.abs(ys - zs).max())}
