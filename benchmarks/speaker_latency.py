"""Per-prediction latency of a speaker run with ai-edge-litert (the seed's 10-20 ms budget).

Times, per 1-window prediction: the float frontend, the int8 speaker-ID model (speaker-ID runs),
the int8 embedding model, and the scoring step of `verify` on one decoded 1 s recording (frontend +
embedding + centring + cosine, + s-norm against the cohort in a verification run).

BLAS is pinned to one thread (OPENBLAS_NUM_THREADS=1, unless set): the frontend's small matrix
products slow down ~10x when a threaded BLAS competes for busy cores.

Run: python benchmarks/speaker_latency.py runs/fsdd_speaker [audio.wav] [n]
"""

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from tinyaudio.data.audio import fix_length, load_audio  # noqa: E402
from tinyaudio.features.extract import compute_features  # noqa: E402
from tinyaudio.runtime import Classifier  # noqa: E402
from tinyaudio.runtime.speaker import SpeakerEmbedder  # noqa: E402


def timed(fn, n: int) -> np.ndarray:
    for _ in range(min(20, n)):
        fn()
    out = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return 1000 * np.array(out)


def report(name: str, ms: np.ndarray) -> None:
    print(f"  {name:34s} median {np.median(ms):7.3f} ms   p95 {np.percentile(ms, 95):7.3f} ms")


def main(run_dir: str, audio: str | None = None, n: int = 300) -> None:
    run = Path(run_dir)
    clf = Classifier(run) if (run / "model_int8.tflite").exists() else None  # a verification run has no classifier
    cfg = clf.feature_config if clf else SpeakerEmbedder(run).feature_config
    samples = (fix_length(load_audio(audio, cfg.sample_rate), cfg.n_samples) if audio
               else np.random.default_rng(0).normal(scale=0.1, size=cfg.n_samples).astype(np.float32))
    feats = compute_features(samples, cfg)
    print(f"{run}: input {cfg.shape} at {cfg.sample_rate} Hz, n={n}, LiteRT default kernels / threads, BLAS {os.environ['OPENBLAS_NUM_THREADS']} thread")
    report(f"frontend (float {cfg.kind}, 1 window)", timed(lambda: compute_features(samples, cfg), n))
    if clf is not None:
        q = clf.model.quantize_input(feats[None])[0]
        report(f"speaker ID int8 ({clf.model.size_bytes} B)", timed(lambda: clf.model.invoke(q), n))
        report("ID end to end (frontend + int8)", timed(lambda: clf.scores(compute_features(samples, cfg)[None]), n))
    if (run / "model_embedding_int8.tflite").exists():
        emb = SpeakerEmbedder(run)
        qe = emb.model.quantize_input(feats[None])[0]
        report(f"embedding int8 ({emb.model.size_bytes} B)", timed(lambda: emb.model.invoke(qe), n))
        ref = emb.embed(samples)
        scoring = "cosine + s-norm" if emb.cohort is not None else "cosine"
        report(f"verify scoring (frontend+emb+{scoring})", timed(lambda: emb.score(ref, emb.embed(samples)), n))
    else:
        print("  (no model_embedding_int8.tflite: run `tinyaudio speaker-eval` to export it)")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "runs/fsdd_speaker",
         sys.argv[2] if len(sys.argv) > 2 else None, int(sys.argv[3]) if len(sys.argv) > 3 else 300)
