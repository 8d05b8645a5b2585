"""Integer parameters of each int8 op, computed the way TFLite Micro's ``Prepare`` computes them.

Every function mirrors one TFLite routine (named in its docstring), including where it rounds
in float32 and where in double, because a multiplier one unit off changes outputs by 1 LSB.
"""

from __future__ import annotations

import math

import numpy as np

from tinyaudio.export.codegen.graph import CodegenError

#: TFLite fused activation codes (schema ActivationFunctionType).
ACTIVATIONS = {0: "NONE", 1: "RELU", 2: "RELU_N1_TO_1", 3: "RELU6"}


def _round_half_away(x: float) -> float:
    """``std::round`` (TfLiteRound): halves away from zero."""
    return math.copysign(math.floor(abs(x) + 0.5), x)


def quantize_multiplier(real: float) -> tuple[int, int]:
    """``tflite::QuantizeMultiplier``: ``real ~= multiplier * 2^(shift - 31)``.

    Returns:
        ``(multiplier, shift)``, multiplier a Q31 integer in [2^30, 2^31) (0 for ``real == 0``).
    """
    if real == 0.0:
        return 0, 0
    q, shift = math.frexp(real)
    q_fixed = int(_round_half_away(q * (1 << 31)))
    if q_fixed == 1 << 31:
        q_fixed //= 2
        shift += 1
    if shift < -31:
        return 0, 0
    return q_fixed, shift


def conv_multipliers(input_scale: float, filter_scales: np.ndarray, output_scale: float, n_channels: int
                     ) -> tuple[list[int], list[int]]:
    """``tflite::PopulateConvolutionQuantizationParams`` (CONV_2D, DEPTHWISE_CONV_2D, per-channel FC).

    effective scale = double(input_scale) * double(filter_scale[c]) / double(output_scale).
    """
    scales = np.broadcast_to(np.asarray(filter_scales, dtype=np.float32), (n_channels,))
    pairs = [quantize_multiplier(float(np.float32(input_scale)) * float(s) / float(np.float32(output_scale)))
             for s in scales]
    return [m for m, _ in pairs], [s for _, s in pairs]


def fc_multiplier(input_scale: float, filter_scale: float, output_scale: float) -> tuple[int, int]:
    """``tflite::GetQuantizedConvolutionMultipler`` (per-tensor FULLY_CONNECTED).

    The input x filter product is taken in float32, then divided in double.
    """
    product = float(np.float32(input_scale) * np.float32(filter_scale))
    return quantize_multiplier(product / float(np.float32(output_scale)))


def activation_range(activation: int, scale: float, zero_point: int) -> tuple[int, int]:
    """``tflite::CalculateActivationRangeQuantized`` for int8 outputs.

    Raises:
        CodegenError: an activation other than NONE / RELU / RELU6 / RELU_N1_TO_1.
    """
    def quantize(f: float) -> int:
        return int(zero_point) + int(_round_half_away(float(np.float32(f) / np.float32(scale))))

    name = ACTIVATIONS.get(activation)
    if name == "NONE":
        return -128, 127
    if name == "RELU":
        return max(-128, quantize(0.0)), 127
    if name == "RELU6":
        return max(-128, quantize(0.0)), min(127, quantize(6.0))
    if name == "RELU_N1_TO_1":
        return max(-128, quantize(-1.0)), min(127, quantize(1.0))
    raise CodegenError(f"fused activation {activation} is not supported; use ReLU, ReLU6 or none")


def same_padding(stride: int, dilation: int, in_size: int, filter_size: int, out_size: int) -> int:
    """``tflite::ComputePaddingWithOffset``: top / left padding of SAME (extra pixel goes bottom / right)."""
    effective = (filter_size - 1) * dilation + 1
    total = max(0, (out_size - 1) * stride + effective - in_size)
    return total // 2


def valid_tap_ranges(in_size: int, out_size: int, filter_size: int, stride: int, pad: int) -> list[tuple[int, int]]:
    """Per output position along one axis, the filter taps ``[start, end)`` that fall inside the
    input (the generated kernels visit only these; ``valid_taps`` in ``ta_nn.c``)."""
    ranges = []
    for o in range(out_size):
        origin = o * stride - pad
        ranges.append((max(0, -origin), min(filter_size, in_size - origin)))
    return ranges


def softmax_params(beta: float, input_scale: float) -> tuple[int, int, int]:
    """``tflite::PreprocessSoftmaxScaling`` and ``CalculateInputRadius`` with 5 integer bits.

    Returns:
        ``(input_multiplier, input_left_shift, diff_min)``.
    """
    integer_bits = 5
    real = min(float(np.float32(beta)) * float(np.float32(input_scale)) * (1 << (31 - integer_bits)), (1 << 31) - 1.0)
    multiplier, shift = quantize_multiplier(real)
    if shift < 0:
        raise CodegenError(f"SOFTMAX input scale {input_scale} is too small for TFLite's int8 softmax")
    radius = math.floor(((1 << integer_bits) - 1) * (1 << (31 - integer_bits)) / (1 << shift))
    return multiplier, shift, -radius


def logistic_params(input_scale: float) -> tuple[int, int, int]:
    """TFLite Micro ``CalculateArithmeticOpDataLogistic`` for int8 (4 integer bits).

    Returns:
        ``(input_multiplier, input_left_shift, input_range_radius)``.
    """
    q, shift = math.frexp(float(np.float32(input_scale)) * (1 << 27))
    multiplier = int(_round_half_away(q * (1 << 31)))
    if multiplier >= 1 << 31 or shift < 0:
        raise CodegenError(f"LOGISTIC input scale {input_scale} is outside what TFLite's int8 kernel handles")
    radius = math.floor(15 * (1 << 27) / (1 << shift))
    return multiplier, shift, radius


def add_sub_params(scale1: float, scale2: float, output_scale: float) -> dict[str, int]:
    """TFLite Micro ``CalculateOpDataAdd`` / ``CalculateOpDataSub`` for int8 (left shift 20).

    The ratios are computed in float32 and then widened, as TFLite does.
    """
    s1, s2, so = np.float32(scale1), np.float32(scale2), np.float32(output_scale)
    twice_max = np.float32(2) * max(s1, s2)
    left_shift = 20
    m1, sh1 = quantize_multiplier(float(np.float32(s1 / twice_max)))
    m2, sh2 = quantize_multiplier(float(np.float32(s2 / twice_max)))
    mo, sho = quantize_multiplier(float(np.float32(twice_max / (np.float32(1 << left_shift) * so))))
    if max(sh1, sh2, sho) > 0:
        raise CodegenError("ADD/SUB scales give a multiplier above 1; TFLite's int8 kernel does not handle them")
    return {"input1_multiplier": m1, "input1_shift": sh1, "input2_multiplier": m2, "input2_shift": sh2,
            "output_multiplier": mo, "output_shift": sho, "left_shift": left_shift}


def mean_multiplier(input_scale: float, output_scale: float, n_elements: int) -> tuple[int, int]:
    """TFLite ``QuantizedMeanOrSum`` (integer version): 1/n folded into the scale ratio's multiplier.

    ``QuantizeMultiplier(double(input_scale) / double(output_scale))``, then the multiplier is
    shifted left by floor(log2 n) (at most 32, and at most 31 + shift) and divided by n.
    """
    multiplier, shift = quantize_multiplier(float(np.float32(input_scale)) / float(np.float32(output_scale)))
    extra = min(n_elements.bit_length() - 1, 32, 31 + shift)
    return (multiplier << extra) // n_elements, shift - extra


def _wrap_int32(x: int) -> int:
    return (x + 2**31) % 2**32 - 2**31


def multiply_by_quantized_multiplier(x: int, multiplier: int, shift: int) -> int:
    """``tflite::MultiplyByQuantizedMultiplier`` (double rounding, TFLite Micro's default build):
    SaturatingRoundingDoublingHighMul of ``x * 2^max(shift, 0)`` by ``multiplier``, then
    RoundingDivideByPOT by ``max(-shift, 0)`` (gemmlowp ``fixedpoint.h``), on Python integers."""
    a = _wrap_int32(x << shift) if shift > 0 else x
    if a == multiplier == -(2**31):
        high = 2**31 - 1
    else:
        product = a * multiplier
        nudge = 2**30 if product >= 0 else 1 - 2**30
        total = product + nudge
        high = abs(total) // 2**31 * (1 if total >= 0 else -1)  # C++ division truncates toward zero
    exponent = max(-shift, 0)
    mask = (1 << exponent) - 1
    threshold = (mask >> 1) + (1 if high < 0 else 0)
    return (high >> exponent) + (1 if (high & mask) > threshold else 0)


def add_sub_table(params: dict[str, int], offsets: tuple[int, int, int], activation: tuple[int, int], constant: int,
                  constant_first: bool, subtract: bool) -> np.ndarray:
    """The int8 output of TFLite's int8 ADD / SUB (``reference_integer_ops::AddElementwise``) for every
    int8 value of one input, the other input being the constant ``constant``.

    Args:
        params: `add_sub_params`.
        offsets: (-input1 zero point, -input2 zero point, output zero point).
        activation: (act_min, act_max) in output units.
        constant_first: the constant is input1 (``constant - x``), else input2 (``x - constant``).

    Returns:
        int8, shape (256,): entry ``x + 128`` is the output for input value x.
    """
    p, (o1, o2, oo), (lo, hi) = params, offsets, activation
    shift = p["left_shift"]
    out = np.empty(256, np.int8)
    for i, x in enumerate(range(-128, 128)):
        x1, x2 = (constant, x) if constant_first else (x, constant)
        a = multiply_by_quantized_multiplier((x1 + o1) << shift, p["input1_multiplier"], p["input1_shift"])
        b = multiply_by_quantized_multiplier((x2 + o2) << shift, p["input2_multiplier"], p["input2_shift"])
        raw = a - b if subtract else a + b
        value = multiply_by_quantized_multiplier(raw, p["output_multiplier"], p["output_shift"]) + oo
        out[i] = min(max(value, lo), hi)
    return out


def resize_bilinear_taps(in_size: int, out_size: int, align_corners: bool, half_pixel_centers: bool) -> np.ndarray:
    """TFLite's integer RESIZE_BILINEAR source taps along one axis (``ResizeBilinearInteger``: 10
    fractional bits, C division truncating toward zero), per output index.

    Returns:
        int16, shape (out_size, 3): lower input index, upper input index, and the weight of the upper
        one in 1/1024 (the lower one weighs 1024 minus it).
    """
    def c_div(a: int, b: int) -> int:
        return abs(a) // b * (1 if a >= 0 else -1)

    scale = ((1 << 10) * in_size + out_size // 2) // out_size
    if align_corners and out_size > 1:
        scale = ((1 << 10) * (in_size - 1) + (out_size - 1) // 2) // (out_size - 1)
    taps = np.empty((out_size, 3), np.int16)
    for i in range(out_size):
        scaled = i * scale + scale // 2 - (1 << 9) if half_pixel_centers else i * scale
        lower = max(c_div(scaled, 1 << 10), 0)
        upper = min(c_div(scaled + (1 << 10) - 1, 1 << 10), in_size - 1)
        taps[i] = lower, upper, scaled - (1 << 10) * lower
    return taps
