"""Quantize: float / dynamic-range / full-int8 conversion (TensorFlow needed)."""

from tinyaudio.quantize.ptq import convert_float, quantize_dynamic, quantize_int8, representative_set

__all__ = ["convert_float", "quantize_dynamic", "quantize_int8", "representative_set"]
