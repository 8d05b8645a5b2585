"""int8 inference time per clip with ai-edge-litert, for a run folder (default runs/demo).

Run: python benchmarks/inference_speed.py runs/demo [n]
"""

import sys
import time

import numpy as np

from tinyaudio.runtime import Classifier


def main(run_dir: str = "runs/demo", n: int = 500) -> None:
    for kind in ("int8", "float"):
        for reference in (False, True):
            clf = Classifier(run_dir, model=kind, reference_kernels=reference)
            x = np.random.default_rng(0).normal(size=(1, *clf.feature_config.shape)).astype(np.float32) * 10
            q = clf.model.quantize_input(x)[0]
            for _ in range(20):
                clf.model.invoke(q)
            times = []
            for _ in range(int(n)):
                t = time.perf_counter()
                clf.model.invoke(q)
                times.append(time.perf_counter() - t)
            ms = 1000 * np.array(times)
            kernels = "reference kernels" if reference else "default kernels"
            print(f"{run_dir} {kind:5s} {kernels:18s}: median {np.median(ms):.3f} ms, p95 {np.percentile(ms, 95):.3f} ms per clip "
                  f"({clf.model.size_bytes} bytes)")


if __name__ == "__main__":
    main(*sys.argv[1:])
