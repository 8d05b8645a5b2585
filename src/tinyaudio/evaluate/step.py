"""Check a streaming step model against the full model it was rewritten from.

The step model (`tinyaudio.quantize.streaming.step_model`) must give, after each new frame, the
full model's output on the window that ends at that frame. `compare_step_model` feeds a frame
sequence through both with TFLite's reference kernels (bit-exact with TFLite Micro) and counts
the positions where they differ. Runtime extra only (no TensorFlow).
"""

from __future__ import annotations

import os

import numpy as np

from tinyaudio.runtime.litert import TFLiteModel, TFLiteStepModel


def compare_step_model(full_model: str | os.PathLike | bytes, step_model: str | os.PathLike | bytes, spec: dict,
                       frames: np.ndarray) -> dict:
    """Feed ``frames`` through the step model; compare every output with the full model on its window.

    Args:
        full_model, step_model: ``.tflite`` paths or bytes (int8 or float, the same kind).
        spec: the step model's ``stream_step.json`` (`StepSpec.to_dict`).
        frames: float32 feature frames of a stream, shape (n, n_features); n > ``spec["n_frames"]``.

    Returns:
        ``{"positions": outputs compared (one per step once a whole window was fed),
        "equal": positions where the raw outputs are identical, "max_abs_diff": largest
        difference of the raw outputs (int8 steps or float values)}``.

    Raises:
        ValueError: fewer frames than one window.
    """
    full = TFLiteModel(full_model, reference_kernels=True)
    step = TFLiteStepModel(step_model, spec, reference_kernels=True)
    n_frames = step.n_frames
    frames = np.asarray(frames, dtype=np.float32)
    if len(frames) < n_frames:
        raise ValueError(f"{len(frames)} frames are fewer than one window ({n_frames}); give a longer stream")
    q = full.quantize_input(frames)  # the step model's frame input has the full input's quantization
    r = step.frames_per_step
    equal, worst, positions = 0, 0.0, 0
    # steps end where the full model's last output does, on frame n_frames - 1 and every r frames
    # after: the stream is preceded by (-n_frames) % r zero frames (as the streaming engine does)
    pad = (-n_frames) % r
    padded = np.concatenate([np.zeros((pad, *q.shape[1:]), q.dtype), q]) if pad else q
    for stop in range(r, len(padded) + 1, r):
        y = step.step_raw(padded[stop - r : stop])
        end = stop - pad  # frames of the stream seen
        if end < n_frames:
            continue
        z = full.invoke(q[end - n_frames : end])
        positions += 1
        equal += int(np.array_equal(y, z))
        worst = max(worst, float(np.abs(y.astype(np.float64) - z.astype(np.float64)).max()))
    return {"positions": positions, "equal": equal, "max_abs_diff": worst}
