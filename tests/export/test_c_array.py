"""The C array export round-trips the bytes and is 16-byte aligned."""

import re

from tinyaudio.export import c_identifier, to_c_array


def test_c_array_round_trip():
    data = bytes(range(256)) * 3 + b"\x07"
    text = to_c_array(data, "model_int8.tflite")
    assert "aligned(16)" in text and "const unsigned int model_int8_tflite_len = 769;" in text
    body = text[text.index("{") + 1 : text.index("};")]
    assert bytes(int(h, 16) for h in re.findall(r"0x([0-9a-f]{2})", body)) == data


def test_identifier():
    assert c_identifier("2-model.tflite") == "_2_model_tflite"
