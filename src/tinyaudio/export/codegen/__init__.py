"""Dependency-free C99 for int8 ``.tflite`` models (what Edge Impulse's EON compiler does).

`generate_c` lowers a model to constant arrays, a static memory plan and one kernel call per op
(kernels in ``templates/ta_nn.c``, bit-exact with TensorFlow Lite Micro's reference kernels);
`build_host_model` / `run_host_model` compile and run it with the host gcc, for the tests.
"""

from tinyaudio.export.codegen.build import build_host_model, run_host_model
from tinyaudio.export.codegen.generate import SUPPORTED_OPS, GeneratedModel, generate_c, write_c, write_c_folder
from tinyaudio.export.codegen.graph import CodegenError, read_graph
from tinyaudio.export.codegen.plan import MemoryPlan, plan_memory

__all__ = [
    "SUPPORTED_OPS",
    "CodegenError",
    "GeneratedModel",
    "MemoryPlan",
    "build_host_model",
    "generate_c",
    "plan_memory",
    "read_graph",
    "run_host_model",
    "write_c",
    "write_c_folder",
]
