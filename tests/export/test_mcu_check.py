"""check_mcu: TFLite Micro loads the model, reports its arena, and names an op it lacks."""

from __future__ import annotations

from pathlib import Path

import pytest

tflite_micro = pytest.importorskip("tflite_micro", reason="check_mcu needs tflite-micro (pip install tflite-micro)")
flatbuffers = pytest.importorskip("flatbuffers")

from tinyaudio.export.mcu.check import BOARDS, McuCheckError, check_mcu  # noqa: E402

SINE = Path(tflite_micro.__file__).parent / "python" / "tflite_micro" / "sine_float.tflite"


def test_reports_arena_flash_ops_and_fit():
    report = check_mcu(SINE, board="nano33ble")
    assert report.ops == ("FULLY_CONNECTED",)
    assert report.flash_bytes == SINE.stat().st_size
    assert 256 <= report.arena_bytes <= 16 * 1024  # three 16-unit dense layers
    assert report.fits and report.board == BOARDS["nano33ble"]
    text = report.summary()
    assert "arena: " in text and "fits" in text


def test_unsupported_op_is_named():
    from tflite_micro import runtime

    model = runtime.convert_bytearray_to_object(bytearray(SINE.read_bytes()))
    code = runtime.schema_fb.BuiltinOperator.BIDIRECTIONAL_SEQUENCE_RNN
    for oc in model.operatorCodes:
        oc.builtinCode = oc.deprecatedBuiltinCode = code
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    with pytest.raises(McuCheckError, match="no kernel for BIDIRECTIONAL_SEQUENCE_RNN"):
        check_mcu(bytes(builder.Output()))


def test_garbage_is_refused():
    with pytest.raises(McuCheckError, match="not a valid .tflite"):
        check_mcu(b"not a model" * 10)
