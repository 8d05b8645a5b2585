"""Export: C arrays (and firmware templates) of trained models."""

from tinyaudio.export.c_array import c_identifier, to_c_array

__all__ = ["c_identifier", "to_c_array"]
