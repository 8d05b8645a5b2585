"""A microcontroller project folder for an int8 model (``tinyaudio export --target pico|arduino|c``).

`export_project` writes the model as an aligned C array (``model_data.{h,cc}``), ``labels.h``,
``feature_config.h`` (the generated ``ta_frontend_config.h`` plus the model-input quantization),
``model_settings.h`` (arena, op list, output scale), the q15 frontend and the CMSIS-DSP sources it
needs, the streaming loop (``ta_pipeline.c``, ``ta_app.c``), the TFLite Micro glue
(``ta_model_tflm.cc``) and a main for the Pico SDK (CMake) or Arduino (sketch + library), with a
README. TFLite Micro itself, the Pico SDK and the Arduino core are not shipped: the generated build
fetches them on the user's machine.

The int16 frontend output becomes the int8 model input through a table of thresholds
(`input_quantizer`): the mapping is computed here by running the Python path
(`tinyaudio.features.q15.q15_to_float`, then `quantize_features`) on all 65 536 int16 values,
so the C pipeline's input tensor equals `model_input_q15` bit for bit, with integer code only.
"""

from __future__ import annotations

import dataclasses
import math
import os
import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from tinyaudio._io import build_folder, check_output_folder, write_bytes_atomic, write_text_atomic
from tinyaudio.errors import ExportError
from tinyaudio.export.c_array import c_identifier, to_c_array
from tinyaudio.export.cpus import DEFAULT_CPU, cpu_target
from tinyaudio.export.codegen import CodegenError, GeneratedModel, generate_c
from tinyaudio.export.codegen.generate import TEMPLATE_DIR as CODEGEN_TEMPLATES
from tinyaudio.export.mcu.check import McuReport, check_mcu, model_io, quantize_features
from tinyaudio.export.mcu.frontend import TEMPLATE_DIR, c_array, write_frontend
from tinyaudio.export.mcu.sources import CMSIS_DSP_SOURCES, CMSISDSP_VERSION, cmsis_dsp_root
from tinyaudio.features.config import FeatureConfig
from tinyaudio.features.q15 import check_q15_config, compute_features_q15, q15_to_float

TARGETS = ("pico", "arduino", "c")
#: Board whose memory the export checks against, per target.
DEFAULT_BOARD = {"pico": "rp2040", "arduino": "nano33ble", "c": "rp2040"}
PROJECT_TEMPLATES = TEMPLATE_DIR / "project"
#: Loop sources shared by every target (from templates/project; ta_model.h from tinyaudio.export.codegen).
COMMON_SOURCES = ("ta_pipeline.h", "ta_pipeline.c", "ta_detector.h", "ta_detector.c", "ta_app.h", "ta_app.c", "ta_board.h",
                  "ta_model.h")
#: The model behind ta_model.h with TensorFlow Lite Micro (pico, arduino; c when codegen fails).
TFLM_SOURCES = ("ta_model_tflm.cc",)
#: Labels treated as "nothing detected" by the loop (LED off, nothing printed).
BACKGROUND_LABELS = ("_other_", "_silence_", "_unknown_", "_background_noise_", "silence", "unknown", "background")
#: MicroMutableOpResolver method of each builtin op (tensorflow/lite/micro/micro_mutable_op_resolver.h).
TFLM_ADD_METHODS = {
    "ADD": "AddAdd", "AVERAGE_POOL_2D": "AddAveragePool2D", "BATCH_MATMUL": "AddBatchMatMul",
    "CONCATENATION": "AddConcatenation", "CONV_2D": "AddConv2D", "DEPTHWISE_CONV_2D": "AddDepthwiseConv2D",
    "DEQUANTIZE": "AddDequantize", "EXPAND_DIMS": "AddExpandDims", "FULLY_CONNECTED": "AddFullyConnected",
    "HARD_SWISH": "AddHardSwish", "LOGISTIC": "AddLogistic", "MAX_POOL_2D": "AddMaxPool2D", "MEAN": "AddMean",
    "MUL": "AddMul", "PAD": "AddPad", "QUANTIZE": "AddQuantize", "RELU": "AddRelu", "RELU6": "AddRelu6",
    "RESHAPE": "AddReshape", "RESIZE_NEAREST_NEIGHBOR": "AddResizeNearestNeighbor", "SHAPE": "AddShape",
    "SOFTMAX": "AddSoftmax", "SQUEEZE": "AddSqueeze", "STRIDED_SLICE": "AddStridedSlice", "SUB": "AddSub",
    "TANH": "AddTanh", "TRANSPOSE": "AddTranspose", "PACK": "AddPack", "UNPACK": "AddUnpack", "SUM": "AddSum",
}
PICO_TFLM_TAG = "main"



@dataclasses.dataclass(frozen=True)
class ExportResult:
    """What `export_project` wrote.

    Attributes:
        out_dir: the project folder.
        target: ``"pico"``, ``"arduino"`` or ``"c"``.
        files: paths relative to ``out_dir``, sorted.
        report: the TFLite Micro check (ops, arena, flash, fits) of the model.
        arena_bytes: ``TA_ARENA_BYTES`` written to ``model_settings.h``.
        step_samples: new samples per loop step (``TA_STEP_SAMPLES``).
        codegen: for target ``"c"``, the plain-C model written instead of TFLite Micro
            (``ta_model_c.c``, ``ta_nn.c``); None when the model needs an op it lacks (then the
            TFLM files are written and ``codegen_error`` says why).
        codegen_error: why the plain-C model was not generated, else None.
    """

    out_dir: Path
    target: str
    files: tuple[str, ...]
    report: McuReport
    arena_bytes: int
    step_samples: int
    codegen: GeneratedModel | None = None
    codegen_error: str | None = None

    @property
    def source_dir(self) -> Path:
        """Folder holding the generated C sources (model_data.cc, labels.h, ta_*.c ...)."""
        return self.out_dir / {"c": ".", "pico": "src", "arduino": "libraries/TinyAudioModel/src"}[self.target]


# -- the int16 feature -> int8 input mapping --------------------------------------------------------


def input_quantizer(config: FeatureConfig, scale: float, zero_point: int) -> tuple[int, np.ndarray]:
    """The int16 -> int8 input mapping of the device, as a low level and sorted thresholds.

    ``q(v) = quantize_features(q15_to_float(v, config), scale, zero_point)`` is monotone in the
    int16 frontend value v, so it is ``low + #{thresholds <= v}``. A threshold repeats when q
    jumps by more than one level between neighbouring int16 values.

    Returns:
        ``(low, thresholds)``: q(-32768), and int16 thresholds, ascending, at most 255.

    Raises:
        ExportError: the mapping is not monotone (a negative input scale).
    """
    values = np.arange(-32768, 32768, dtype=np.int16)
    q = quantize_features(q15_to_float(values, config), scale, zero_point).astype(np.int32)
    steps = np.diff(q)
    if np.any(steps < 0):
        raise ExportError(f"model input scale {scale} makes the feature -> int8 mapping decrease; re-quantize the model")
    return int(q[0]), np.repeat(values[1:], steps).astype(np.int16)


def model_input_q15(clips: np.ndarray, config: FeatureConfig, scale: float, zero_point: int) -> np.ndarray:
    """The int8 model input the exported firmware computes for int16 clips (Python reference).

    Args:
        clips: int16, shape (n, n_samples) or (n_samples,).

    Returns:
        int8, shape (..., n_frames, n_features): q15 features in the float frontend's units,
        quantized with the model's input scale and zero point.
    """
    return quantize_features(q15_to_float(compute_features_q15(clips, config), config), scale, zero_point)


# -- generated headers -------------------------------------------------------------------------------


def _c_string(text: str) -> str:
    out = []
    for b in text.encode("utf-8"):
        ch = chr(b)
        out.append(ch if 32 <= b < 127 and ch not in '"\\?' else f"\\{b:03o}")
    return '"' + "".join(out) + '"'


def labels_header(labels: list[str]) -> str:
    """Text of ``labels.h``: ``TA_N_LABELS`` and ``ta_labels[]`` in model-output order (UTF-8, escaped)."""
    rows = "\n".join(f"    {_c_string(label)}," for label in labels)
    return (
        "/* Generated by tinyaudio export from labels.txt: class names in model-output order. */\n"
        "#ifndef TA_LABELS_H\n#define TA_LABELS_H\n\n"
        f"#define TA_N_LABELS {len(labels)}\n\n"
        f"static const char *const ta_labels[TA_N_LABELS] = {{\n{rows}\n}};\n\n"
        "#endif /* TA_LABELS_H */\n"
    )


def _float_literal(x: float) -> str:
    return f"{float(np.float32(x))!r}f"


#: Values the direct table of `_input_level_tables` covers.
DENSE_LEVELS = 1024


def _input_level_tables(thresholds: Sequence[int]) -> list[str]:
    """C tables that find the number of thresholds <= an int16 value quickly (``ta_quantize_feature``):
    the count itself for the 1024 values where the thresholds are densest, and for every bucket of
    256 values the count below it, so that a binary search elsewhere spans one bucket's thresholds."""
    t = np.asarray(thresholds, np.int64)
    starts = np.clip(t, -32768, 32767 - DENSE_LEVELS + 1)
    counts = np.searchsorted(t, starts + DENSE_LEVELS, side="left") - np.searchsorted(t, starts, side="left")
    low = int(starts[np.argmax(counts)]) if len(t) else 0
    dense = np.searchsorted(t, np.arange(low, low + DENSE_LEVELS), side="right")
    buckets = np.searchsorted(t, np.arange(257) * 256 - 32768, side="left")
    return [
        f"#define TA_INPUT_DENSE_LOW {low} /* ta_input_dense_levels[v - TA_INPUT_DENSE_LOW]: thresholds <= v */",
        f"#define TA_INPUT_DENSE_LEVELS {DENSE_LEVELS}",
        c_array("uint8_t", "ta_input_dense_levels", dense).rstrip(),
        "/* ta_input_bucket_start[b]: the thresholds below -32768 + 256 b; b = 256: all of them */",
        c_array("uint16_t", "ta_input_bucket_start", buckets).rstrip(),
    ]


def feature_config_header(config: FeatureConfig, scale: float, zero_point: int, step_frames: int) -> str:
    """Text of ``feature_config.h``: the frontend constants (``ta_frontend_config.h``) and the
    model-input side: loop step, input scale / zero point, and the threshold table."""
    low, thresholds = input_quantizer(config, scale, zero_point)
    step_samples = step_frames * config.hop_length
    trained_q15 = str(config.kind).endswith("_q15")
    return "\n".join([
        "/*",
        " * Generated by tinyaudio export from feature_config.json and the model's input tensor.",
        " * The frontend constants are in ta_frontend_config.h (same generator as the tests use).",
        " * int16 frontend value v -> int8 model input: TA_INPUT_Q_LOW + number of thresholds <= v,",
        " * equal to round(q15_to_float(v) / TA_INPUT_SCALE) + TA_INPUT_ZERO_POINT (saturated) for all v.",
        " */",
        "#ifndef TA_FEATURE_CONFIG_H",
        "#define TA_FEATURE_CONFIG_H",
        "",
        "#include <stdint.h>",
        "",
        '#include "ta_frontend_config.h"',
        "",
        f"#define TA_TRAINED_ON_Q15 {int(trained_q15)} /* 0: trained on float features, the device computes their q15 approximation */",
        f"#define TA_STEP_FRAMES {step_frames} /* new frames per loop step */",
        "#define TA_STEP_SAMPLES (TA_STEP_FRAMES * TA_HOP_LENGTH)",
        f"#define TA_STEP_MS {int(math.ceil(1000 * step_samples / config.sample_rate))} /* audio per step; the step must finish within it */",
        f"#define TA_INPUT_SCALE {_float_literal(scale)}",
        f"#define TA_INPUT_ZERO_POINT {zero_point}",
        f"#define TA_INPUT_Q_LOW {low}",
        f"#define TA_INPUT_N_THRESHOLDS {len(thresholds)}",
        "",
        "#ifdef TA_FEATURE_TABLES /* defined by ta_pipeline.c only */",
        c_array("int16_t", "ta_input_thresholds", thresholds).rstrip(),
        *_input_level_tables(thresholds),
        "#endif",
        "",
        "#endif /* TA_FEATURE_CONFIG_H */",
        "",
    ])


@dataclasses.dataclass(frozen=True)
class DecisionSteps:
    """A decision rule (`tinyaudio.runtime.stream.DecisionRule`) counted in firmware loop steps.

    Attributes:
        smoothing_steps: steps averaged (the window of ``smoothing_s``, as `PosteriorSmoother` keeps it).
        min_count: steps needed in the window (the rule's hops of the engine's ~20 ms, in steps).
        suppression_steps: steps after a detection before the next one may fire.
    """

    smoothing_steps: int
    min_count: int
    suppression_steps: int

    @classmethod
    def of(cls, config: FeatureConfig, step_frames: int, *, smoothing_s: float, min_count: int,
           suppression_s: float) -> DecisionSteps:
        """Convert a rule tuned on the Python engine (hop: the smallest whole number of feature hops
        >= 20 ms) to a loop of ``step_frames`` feature hops."""
        step_s = step_frames * config.hop_length / config.sample_rate
        engine_hop_s = math.ceil(0.02 * config.sample_rate / config.hop_length - 1e-9) * config.hop_length / config.sample_rate
        smoothing_steps = max(1, math.ceil((smoothing_s - 1e-9) / step_s))
        return cls(smoothing_steps, max(1, min(smoothing_steps, math.ceil(min_count * engine_hop_s / step_s - 1e-9))),
                   max(0, math.ceil(suppression_s / step_s - 1e-9)))


def decision_defines(steps: DecisionSteps, keyword_mask: Sequence[bool], threshold: float) -> list[str]:
    """The ``#define`` lines of `ta_detector.h`'s settings (part of ``model_settings.h``)."""
    return [
        f"#define TA_DETECTION_THRESHOLD {float(threshold)!r}f /* smoothed score a keyword must exceed */",
        f"#define TA_SMOOTHING_STEPS {steps.smoothing_steps} /* loop steps averaged */",
        f"#define TA_MIN_COUNT {steps.min_count} /* steps in the window before anything fires */",
        f"#define TA_SUPPRESSION_STEPS {steps.suppression_steps} /* steps after a detection */",
        f"#define TA_KEYWORD_MASK {{{', '.join('1' if k else '0' for k in keyword_mask)}}} /* classes that may fire */",
    ]


def model_settings_header(report: McuReport, arena_bytes: int, n_outputs: int, output_scale: float,
                          output_zero_point: int, threshold: float, decision: DecisionSteps,
                          keyword_mask: Sequence[bool], streaming_frames: int = 0) -> str:
    """Text of ``model_settings.h``: arena, op registration macro, output quantization, decision rule."""
    adds = []
    for op in report.ops:
        if op.startswith("CUSTOM:"):
            raise ExportError(f"model uses custom op {op[7:]}; register it by hand in ta_model_tflm.cc")
        method = TFLM_ADD_METHODS.get(op) or "Add" + "".join(part.capitalize() for part in op.split("_"))
        adds.append(f"(r).{method}();")
    return "\n".join([
        "/* Generated by tinyaudio export from model_int8.tflite and `tinyaudio check-mcu`. */",
        "#ifndef TA_MODEL_SETTINGS_H",
        "#define TA_MODEL_SETTINGS_H",
        "",
        f"/* TFLM arena: {report.arena_bytes} bytes measured by the tflite-micro interpreter on the host",
        " * (64-bit pointers: a 32-bit MCU needs a little less), plus 1 KB, rounded up to 1 KB. */",
        f"#define TA_ARENA_BYTES {arena_bytes}",
        f"#define TA_MODEL_FLASH_BYTES {report.flash_bytes}",
        f"/* ops: {', '.join(report.ops)} */",
        f"#define TA_MODEL_N_OPS {len(report.ops)}",
        f"#define TA_MODEL_ADD_OPS(r) do {{ {' '.join(adds)} }} while (0)",
        f"#define TA_N_OUTPUTS {n_outputs}",
        f"#define TA_STREAMING {int(streaming_frames > 0)} /* 1: a streaming step model (ta_pipeline.h) */",
        f"#define TA_MODEL_STEP_FRAMES {max(streaming_frames, 1)} /* new frames per invoke */",
        f"#define TA_OUTPUT_SCALE {_float_literal(output_scale)}",
        f"#define TA_OUTPUT_ZERO_POINT {output_zero_point}",
        *decision_defines(decision, keyword_mask, threshold),
        "",
        "#endif /* TA_MODEL_SETTINGS_H */",
        "",
    ])


def model_data_files(model: bytes) -> dict[str, str]:
    """``model_data.h`` (declarations) and ``model_data.cc`` (the 16-byte aligned array, ``xxd -i`` layout)."""
    header = (
        "/* Generated by tinyaudio export: the int8 .tflite flatbuffer (model_data.cc). */\n"
        "#ifndef TA_MODEL_DATA_DECL_H\n#define TA_MODEL_DATA_DECL_H\n\n"
        "#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n"
        "extern const unsigned char ta_model_data[];\nextern const unsigned int ta_model_data_len;\n\n"
        "#ifdef __cplusplus\n}\n#endif\n\n#endif /* TA_MODEL_DATA_DECL_H */\n"
    )
    body = '#include "model_data.h" /* gives the definitions below external linkage in C++ too */\n\n'
    return {"model_data.h": header, "model_data.cc": body + to_c_array(model, "ta_model_data")}


# -- the folder ------------------------------------------------------------------------------------


def _readme(target: str, source: str, config: FeatureConfig, report: McuReport, arena_bytes: int,
            step_frames: int, labels: list[str], project: str, codegen: GeneratedModel | None = None,
            codegen_error: str | None = None, cpu: str = DEFAULT_CPU) -> str:
    step_samples = step_frames * config.hop_length
    c_build = f"""## Build (any board, or a PC)

The model's C is laid out for the {cpu} (`tinyaudio export --cpu`); build with `-mcpu={cpu} -O2`
(on a Cortex-M4 / M7 the kernels use the DSP extension's SMLAD when `__ARM_FEATURE_DSP` is set).

Everything here is plain C: the q15 frontend (`ta_frontend.c` + CMSIS-DSP), the loop
(`ta_pipeline.c`, `ta_app.c`) and the model (`ta_model_c.c`, generated by `tinyaudio.export.codegen`, with
its kernels in `ta_nn.c`): no TensorFlow Lite Micro. Add every `.c` file here and
`third_party/CMSIS-DSP/Source/*/*.c` to your firmware, with include paths `.`,
`third_party/CMSIS-DSP/Include`, `third_party/CMSIS-DSP/PrivateInclude` and the defines
`__GNUC_PYTHON__ ARM_MATH_LOOPUNROLL`. Implement the three functions of `ta_board.h`, call
`ta_app_audio()` from your microphone interrupt, `ta_app_setup()` once and `ta_app_loop()` forever.
Everything compiles with any C99 compiler, e.g. on a PC:
```
gcc -std=c11 -O2 -D__GNUC_PYTHON__ -DARM_MATH_LOOPUNROLL -I. -Ithird_party/CMSIS-DSP/Include \\
    -Ithird_party/CMSIS-DSP/PrivateInclude -c *.c
```""" if codegen else f"""## Build (any board)

The plain-C model could not be generated ({codegen_error}), so the model runs on TensorFlow Lite
Micro. Add every `.c` / `.cc` file here and `third_party/CMSIS-DSP/Source/*/*.c` to your firmware, with
include paths `.`, `third_party/CMSIS-DSP/Include`, `third_party/CMSIS-DSP/PrivateInclude` and
TensorFlow Lite Micro's (https://github.com/tensorflow/tflite-micro), and the defines
`__GNUC_PYTHON__ ARM_MATH_LOOPUNROLL`. Implement the three functions of `ta_board.h`, call
`ta_app_audio()` from your microphone interrupt, `ta_app_setup()` once and `ta_app_loop()` forever.
The frontend and loop alone build with any C99 compiler, e.g. on a PC:
```
gcc -std=c11 -D__GNUC_PYTHON__ -DARM_MATH_LOOPUNROLL -I. -Ithird_party/CMSIS-DSP/Include \\
    -Ithird_party/CMSIS-DSP/PrivateInclude -c ta_frontend.c ta_pipeline.c ta_detector.c ta_app.c
```"""
    if codegen:
        model_impl = "`ta_model_c.c`, plain C generated by tinyaudio.export.codegen"
        ram = (f"RAM: model arena {codegen.arena_size} bytes (`ta_model_c.c`; TFLite Micro would need "
               f"{report.arena_bytes}) + frontend and buffers; flash: {codegen.weights_bytes} bytes of weights + code")
    else:
        model_impl = "`ta_model_tflm.cc`, TensorFlow Lite Micro"
        ram = (f"flash: {report.flash_bytes} bytes of model; RAM: TFLM arena {report.arena_bytes} bytes measured "
               f"(`TA_ARENA_BYTES` = {arena_bytes}) + frontend and buffers")
    trained_q15 = str(config.kind).endswith("_q15")
    build = {
        "pico": f"""## Build (Raspberry Pi Pico, Pico SDK)

```
git clone --recurse-submodules https://github.com/raspberrypi/pico-sdk   # once
export PICO_SDK_PATH=$PWD/pico-sdk
cmake -S . -B build && cmake --build build -j      # fetches pico-tflmicro (TFLite Micro for RP2040)
# copy build/{project}.uf2 to the Pico in BOOTSEL mode; serial: 115200 baud (USB or UART)
```
Microphone: an analog electret breakout (e.g. MAX9814) on GPIO 26 (ADC0), read by the ADC in
free-running mode at {config.sample_rate} Hz (`src/pico_main.cc`); the on-board LED shows the score.""",
        "arduino": f"""## Build (Arduino, e.g. Nano 33 BLE Sense)

1. Copy `libraries/TinyAudioModel` into your Arduino `libraries/` folder.
2. Install TensorFlow Lite Micro for Arduino (not in the Library Manager any more):
   `git clone https://github.com/tensorflow/tflite-micro-arduino-examples Arduino_TensorFlowLite`
   inside the same `libraries/` folder.
3. Open `{project}/{project}.ino`, select the board (Arduino Mbed OS Nano Boards core), upload,
   open the serial monitor at 115200 baud.
The sketch reads the on-board PDM microphone (`PDM.h`) at {config.sample_rate} Hz; the built-in LED shows the score.""",
        "c": c_build,
    }[target]
    feature_note = (
        "The model was trained on these q15 features: the board computes its training inputs bit for bit."
        if trained_q15 else
        "The model was trained on tinyaudio's float frontend; the board computes the q15 CMSIS-DSP "
        "approximation of the same features (distance in tinyaudio's docs/mcu.md: a median of about "
        "0.2 dB for MFCC). Train on q15 features to remove that difference."
    )
    codegen_note = (
        "* Verified by tinyaudio's tests: the generated model (`ta_model_c.c` + `ta_nn.c`) gives the same int8\n"
        "  outputs as TensorFlow Lite Micro, bit for bit, on real clips (host gcc, and with the frontend on a\n"
        "  Cortex-M3 under QEMU); `tinyaudio check-mcu` repeats the comparison for this model.\n"
        if codegen else ""
    )
    if codegen is not None and codegen.state_bytes:
        codegen_note += (
            f"* Streaming: `ta_model_c.c` is the run's step model. Each invoke takes the newest "
            f"{codegen.input_shape[1]} frames and\n  keeps what its layers look back at in static windows "
            f"({codegen.state_bytes} bytes beside the {codegen.arena_size}-byte arena); its outputs equal the\n"
            "  whole-window model's (tinyaudio's tests, on the Cortex-M0+ under QEMU). `--no-streaming` exports that one.\n"
        )
    return f"""# {project}: tinyaudio model for {target}

Generated by `tinyaudio export {source} --target {target}` (tinyaudio does not build or flash it).

* labels ({len(labels)}): {', '.join(labels)}
* input {config.n_frames} frames x {config.n_features} ({config.kind}, {config.sample_rate} Hz, n_fft {config.n_fft}, hop {config.hop_length}); one loop step = {step_frames} new frames = {step_samples} samples = {1000 * step_samples / config.sample_rate:.0f} ms of audio
* ops: {', '.join(report.ops)}
* {ram}; {report.board.name}: {'fits' if report.fits else 'DOES NOT FIT'}

{build}

## What runs on the board

`ta_app_loop()` (ta_app.c): wait for {step_samples} new samples in the ring buffer the microphone
interrupt fills, compute {step_frames} new feature frames with the q15 CMSIS-DSP frontend
(`ta_frontend.c`, constants in `ta_frontend_config.h`), shift the model's int8 input window by as
many rows (`ta_pipeline.c`; int16 feature -> int8 via the threshold table of `feature_config.h`),
invoke the model ({model_impl}), and apply the run's decision rule (`ta_detector.c`: scores
averaged over `TA_SMOOTHING_STEPS` steps, a keyword above `TA_DETECTION_THRESHOLD` with at least
`TA_MIN_COUNT` steps in the window and `TA_SUPPRESSION_STEPS` steps since the last one; values in
`model_settings.h`, from the run's `detector.json` when `tinyaudio tune-detector` wrote one); on a
detection set the LED brightness to the score and print the label over serial.

{feature_note}

## Verified, and not

* Verified by tinyaudio's tests on the host (gcc): the C array in `model_data.cc` holds the exact
  `.tflite` bytes; `labels.h` matches `labels.txt`; the frontend + pipeline C code, fed real clips,
  produces the model input tensor that tinyaudio computes in Python, bit for bit; the q15 frontend
  equals the Python one bit for bit on the host and on a Cortex-M3 under QEMU.
* Checked in Python by `tinyaudio check-mcu`: TFLite Micro's int8 outputs against LiteRT's
  reference kernels on real clips; they agree within 1 LSB (bit for bit on most models, one
  requantization step rounds differently on rare ties), and the command prints the counts.
{codegen_note}* NOT verified: `ta_model_tflm.cc`, the board mains and the build files were not compiled by
  tinyaudio (TensorFlow Lite Micro, the Pico SDK and the Arduino core are not available to it).
  They follow TFLM's current API (`MicroInterpreter(model, resolver, arena, size)`); with an older
  TFLM add a `MicroErrorReporter`. pico-tflmicro and Arduino_TensorFlowLite carry their own copy of
  CMSIS-DSP headers; this folder's CMSIS-DSP {CMSISDSP_VERSION} include paths must come first.

## Third-party code

* `third_party/CMSIS-DSP` (or the `arm_*` files of the library): the CMSIS-DSP {CMSISDSP_VERSION} files the
  frontend needs, from the `cmsisdsp` source distribution on PyPI; Apache-2.0 (Arm Limited).
  Built with `__GNUC_PYTHON__` (CMSIS-DSP's portable C path, the one tinyaudio verified; no
  CMSIS-Core needed; no DSP-extension SIMD, so slower on a Cortex-M4 than it could be).
* TensorFlow Lite Micro (Apache-2.0), the Pico SDK (BSD-3-Clause) and the Arduino core are fetched
  by your build, not included.
"""


def _copy_cmsis(dest: Path, *, flat_headers: bool, cache_dir: str | os.PathLike | None) -> None:
    """Copy the CMSIS-DSP headers and the `CMSIS_DSP_SOURCES` files under ``dest``.

    flat_headers (Arduino): headers go to ``dest`` itself and sources to ``dest/cmsis_dsp`` with
    the portable-path defines prepended (Arduino libraries have no per-library compile flags).
    """
    root = cmsis_dsp_root(cache_dir)
    if flat_headers:
        for folder in ("Include", "PrivateInclude"):
            shutil.copytree(root / folder, dest, dirs_exist_ok=True)
        (dest / "cmsis_dsp").mkdir(parents=True, exist_ok=True)
        for src in CMSIS_DSP_SOURCES:
            text = (root / "Source" / src).read_text(encoding="utf-8", errors="surrogateescape")
            (dest / "cmsis_dsp" / Path(src).name).write_text(
                _PORTABLE_PREFIX + text, encoding="utf-8", errors="surrogateescape")
        return
    base = dest / "third_party" / "CMSIS-DSP"
    for folder in ("Include", "PrivateInclude"):
        shutil.copytree(root / folder, base / folder, dirs_exist_ok=True)
    for src in CMSIS_DSP_SOURCES:
        (base / "Source" / src).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(root / "Source" / src, base / "Source" / src)


_PORTABLE_PREFIX = (
    "/* tinyaudio: CMSIS-DSP's portable C path (the code verified bit for bit); see ta_pipeline.h. */\n"
    "#ifndef TA_CMSIS_CORE\n#ifndef __GNUC_PYTHON__\n#define __GNUC_PYTHON__\n#endif\n"
    "#ifndef ARM_MATH_LOOPUNROLL\n#define ARM_MATH_LOOPUNROLL\n#endif\n#endif\n"
)


def export_project(
    model: bytes,
    config: FeatureConfig,
    labels: Sequence[str],
    out_dir: str | os.PathLike,
    *,
    source: str = "model",
    target: str = "c",
    board: str | None = None,
    step_ms: float = 32.0,
    threshold: float = 0.6,
    smoothing_s: float = 0.5,
    min_count: int = 3,
    suppression_s: float = 1.5,
    overwrite: bool = False,
    cache_dir: str | os.PathLike | None = None,
    cpu: str = DEFAULT_CPU,
    step_model: bytes | None = None,
) -> ExportResult:
    """Write a microcontroller project for an int8 model and the features it was trained on.

    `tinyaudio.pipeline.export_run` opens a run folder and calls this with its contents.

    Args:
        model: the int8 ``.tflite`` bytes (int8 input and output).
        config: the model's `FeatureConfig`; it must have a q15 twin (`check_q15_config`).
        labels: class names in model-output order (two for a one-output detector).
        out_dir: project folder to create; built under a temporary name beside it and renamed
            at the end.
        source: where the model comes from (the run folder), for messages and the project name.
        target: ``"pico"`` (Pico SDK, CMake), ``"arduino"`` (sketch + library) or ``"c"``
            (sources only).
        board: memory budget to check (`tinyaudio.export.mcu.check.BOARDS`); default per target.
        step_ms: audio per loop step; rounded to whole hops (the seed: 32 ms = 512 samples at 16 kHz
            = 4 hops of 128).
        threshold: smoothed score in [0, 1] the top class must exceed to count as a detection.
        smoothing_s, min_count, suppression_s: the rest of the decision rule (`ta_detector.h`;
            `tinyaudio.runtime.stream.DecisionRule`, min_count in ~20 ms engine hops), converted to
            loop steps (`DecisionSteps`).
        overwrite: replace an existing ``out_dir``.
        cache_dir: tinyaudio cache holding (or receiving) the CMSIS-DSP sources.
        cpu: the core the generated C is laid out for (target ``"c"``; `tinyaudio.export.cpus.CPUS`,
            default the RP2040's Cortex-M0+); its outputs are the same on any core.
        step_model: the streaming step model of ``model`` (`tinyaudio.quantize.streaming.step_model`),
            target ``"c"`` only: the generated C runs it once per step of new frames
            (``TA_STREAMING``) instead of ``model`` on the whole window once per loop step; same outputs.

    Returns:
        `ExportResult`.

    Raises:
        ExportError: the feature config has no q15 frontend (the message names each setting and
            the fix), labels and model outputs disagree, the model has float I/O, or a custom op.
        McuCheckError: the model does not load in TFLite Micro.
        BuildError: an unknown ``cpu``, or the CMSIS-DSP sources cannot be fetched (first use needs PyPI).
        FolderExistsError: ``out_dir`` exists and ``overwrite`` is False, or holds files tinyaudio did not write.
    """
    if target not in TARGETS:
        raise ExportError(f"unknown target {target!r}; use one of {TARGETS}")
    if step_model is not None and target != "c":
        raise ExportError(f"a streaming step model needs the generated C (--target c), not {target!r}; "
                          "export without streaming for TensorFlow Lite Micro")
    cpu_target(cpu)  # an unknown core is refused before any work
    if not 0.0 <= threshold <= 1.0:
        raise ExportError(f"threshold {threshold}: must be a score in [0, 1]")
    if step_ms <= 0:
        raise ExportError(f"step_ms {step_ms}: must be > 0 (the audio per loop step, e.g. 32)")
    out_dir = Path(out_dir)
    check_output_folder(out_dir, overwrite=overwrite, what="project folder")
    try:
        check_q15_config(config)
    except ValueError as exc:
        raise ExportError(f"{source}: the device frontend cannot compute its features. {exc}") from None
    if config.hop_length > config.n_fft:
        raise ExportError(f"hop_length {config.hop_length} > n_fft {config.n_fft}: the streaming frontend needs overlapping or adjacent frames")
    labels = list(labels)
    report = check_mcu(model, board=board or DEFAULT_BOARD[target])
    inp, outp = model_io(model)
    if inp.dtype != "int8" or outp.dtype != "int8":
        raise ExportError(f"{source}: the model has {inp.dtype} input / {outp.dtype} output; the firmware needs int8 I/O")
    config.check_input_shape(inp.shape, source=source)
    n_outputs = int(np.prod(outp.shape[1:]))
    binary = n_outputs == 1 and len(labels) == 2
    if n_outputs != len(labels) and not binary:
        raise ExportError(f"{source}: the model has {n_outputs} outputs but {len(labels)} labels; re-train or fix the labels")
    step_frames = max(1, min(config.n_frames, round(step_ms / 1000 * config.sample_rate / config.hop_length)))
    streaming_frames = 0
    if step_model is not None:  # frames per invoke: the step model's input rows; a loop step is whole invokes
        streaming_frames = int(model_io(step_model)[0].shape[1])
        step_frames = max(streaming_frames, round(step_frames / streaming_frames) * streaming_frames)
    decision = DecisionSteps.of(config, step_frames, smoothing_s=smoothing_s, min_count=min_count, suppression_s=suppression_s)
    keyword_mask = [False, True] if binary else [not (lab.startswith("_") or lab in BACKGROUND_LABELS) for lab in labels]
    arena_bytes = int(math.ceil((report.arena_bytes + 1024) / 1024) * 1024)
    project = c_identifier(f"tinyaudio_{Path(source).resolve().name}")

    with build_folder(out_dir, overwrite=overwrite, what="project folder") as tmp:
        src = tmp / {"c": ".", "pico": "src", "arduino": "libraries/TinyAudioModel/src"}[target]
        src.mkdir(parents=True, exist_ok=True)
        write_frontend(config, src)
        for name in COMMON_SOURCES:
            shutil.copyfile((CODEGEN_TEMPLATES if name == "ta_model.h" else PROJECT_TEMPLATES) / name, src / name)
        codegen, codegen_error = None, None
        if target == "c":
            try:
                codegen = generate_c(model if step_model is None else step_model, cpu=cpu)
            except CodegenError as exc:
                if step_model is not None:
                    raise ExportError(f"{source}: the streaming step model cannot be generated as C ({exc}); "
                                      "export without streaming") from None
                codegen_error = str(exc)
        model_files = {k: v for k, v in codegen.files.items() if k != "ta_model.h"} if codegen else model_data_files(model)
        if codegen is None:
            for name in TFLM_SOURCES:
                shutil.copyfile(PROJECT_TEMPLATES / name, src / name)
        generated = {
            "labels.h": labels_header(labels),
            "feature_config.h": feature_config_header(config, inp.scale, inp.zero_point, step_frames),
            "model_settings.h": model_settings_header(report, arena_bytes, n_outputs, outp.scale, outp.zero_point, threshold,
                                                      decision, keyword_mask, streaming_frames),
            **model_files,
        }
        for name, text in generated.items():
            write_text_atomic(src / name, text)
        if target == "pico":
            cmake = (PROJECT_TEMPLATES / "pico_CMakeLists.txt").read_text()
            write_text_atomic(tmp / "CMakeLists.txt", cmake.replace("@PROJECT@", project).replace("@TFLM_TAG@", PICO_TFLM_TAG))
            shutil.copyfile(PROJECT_TEMPLATES / "pico_main.cc", src / "pico_main.cc")
            _copy_cmsis(tmp, flat_headers=False, cache_dir=cache_dir)
        elif target == "arduino":
            lib = tmp / "libraries" / "TinyAudioModel"
            shutil.copyfile(PROJECT_TEMPLATES / "arduino_library.properties", lib / "library.properties")
            shutil.copyfile(PROJECT_TEMPLATES / "arduino_TinyAudioModel.h", src / "TinyAudioModel.h")
            # Arduino compiles every .c of the library: the defines go into the files themselves.
            frontend_c = src / "ta_frontend.c"
            frontend_c.write_text(_PORTABLE_PREFIX + frontend_c.read_text())
            sketch = tmp / project
            sketch.mkdir()
            shutil.copyfile(PROJECT_TEMPLATES / "arduino_sketch.ino", sketch / f"{project}.ino")
            _copy_cmsis(src, flat_headers=True, cache_dir=cache_dir)
        else:
            _copy_cmsis(tmp, flat_headers=False, cache_dir=cache_dir)
        write_text_atomic(tmp / "README.md", _readme(target, source, config, report, arena_bytes, step_frames, labels, project,
                                                     codegen, codegen_error, cpu))
        write_bytes_atomic(tmp / "model_int8.tflite", model)
        files = tuple(sorted(str(p.relative_to(tmp)) for p in tmp.rglob("*") if p.is_file()))
    return ExportResult(out_dir=out_dir, target=target, files=files, report=report, arena_bytes=arena_bytes,
                        step_samples=step_frames * config.hop_length, codegen=codegen, codegen_error=codegen_error)
