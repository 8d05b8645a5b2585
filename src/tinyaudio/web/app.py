"""`tinyaudio serve`: a local page to record training clips and watch live classification.

Endpoints (JSON; errors are ``{"error": "one line"}`` with a 4xx status):

- ``GET  /``                                  the page (static HTML + JS, no build step)
- ``GET  /api/dataset``                       root folder, its sample rate, labels and clip counts
- ``POST /api/clips?label=NAME``              body: a mono WAV (``Content-Type: audio/wav``) ->
                                              written as ``root/NAME/NNNN.wav``
- ``DELETE /api/clips/{label}/{name}``        delete a take
- ``GET  /api/runs``                          run folders (with ``feature_config.json``) under the runs dir
- ``WS   /ws/live?run=NAME&sample_rate=HZ&dtype=float32|int16``
                                              each binary audio block in, one JSON reply out:
                                              stream-engine scores and detections

The server binds to 127.0.0.1 unless told otherwise, only answers requests whose Host header is
one it listens on (DNS rebinding), and refuses cross-origin WebSockets.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket, WebSocketDisconnect

from tinyaudio.errors import TinyAudioError
from tinyaudio.runtime.run_folder import FEATURE_CONFIG, LABELS, METRICS, RunFolder
from tinyaudio.web.clips import UploadError, dataset_sample_rate, delete_clip, list_labels, save_clip

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
STATIC = Path(__file__).parent / "static"
WAV_TYPES = {"audio/wav", "audio/x-wav", "audio/wave", "audio/vnd.wave"}
RUN_NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}


def _error(message: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def list_runs(runs_dir: str | os.PathLike) -> list[dict]:
    """Run folders directly under ``runs_dir`` that hold ``feature_config.json`` and ``labels.txt``.

    Returns:
        ``[{"name", "labels", "sample_rate", "clip_duration", "int8_accuracy"}]`` sorted by name;
        ``int8_accuracy`` is None when the run has no ``metrics.json``.
    """
    runs_dir = Path(runs_dir)
    if not runs_dir.is_dir():
        return []
    out = []
    for d in sorted(p for p in runs_dir.iterdir() if p.is_dir() and RUN_NAME_RE.fullmatch(p.name)):
        run = RunFolder(d)
        if not (run.file(FEATURE_CONFIG).is_file() and run.file(LABELS).is_file() and run.model_path("int8").is_file()):
            continue
        try:
            fc = run.feature_config
            labels = run.labels
            metrics = run.metrics if run.file(METRICS).is_file() else {}
        except (OSError, ValueError, TinyAudioError):
            continue
        out.append({
            "name": d.name,
            "labels": labels,
            "sample_rate": fc.sample_rate,
            "clip_duration": fc.clip_duration,
            "int8_accuracy": metrics.get("int8_accuracy"),
        })
    return out


def allowed_hosts_for(host: str) -> list[str]:
    """Host headers the server answers: loopback names for a loopback bind, else any."""
    if host in LOOPBACK:
        return sorted(LOOPBACK | {host})
    return ["*"]


def create_app(
    root: str | os.PathLike,
    runs_dir: str | os.PathLike = "runs",
    *,
    sample_rate: int | None = None,
    max_clip_seconds: float = 2.0,
    clip_seconds: float = 1.0,
    allowed_hosts: list[str] | None = None,
    max_upload_bytes: int | None = None,
) -> Starlette:
    """The ASGI app.

    Args:
        root: recording folder, ``root/<label>/NNNN.wav`` (created on the first upload).
        runs_dir: folder whose sub-folders are run folders written by ``tinyaudio train``.
        sample_rate: rate (Hz) every clip must have; None: the rate of the clips already in
            ``root``, else 16000. The page resamples to it before upload.
        max_clip_seconds: longest clip accepted.
        clip_seconds: length of one take recorded by the page.
        allowed_hosts: Host headers answered; default the loopback names.
        max_upload_bytes: largest request body; default enough for ``max_clip_seconds`` of
            32-bit stereo plus headers.
    """
    root = Path(root)
    runs_dir = Path(runs_dir)
    rate = int(sample_rate or dataset_sample_rate(root))
    limit = max_upload_bytes or int(max_clip_seconds * rate * 8) + 64 * 1024
    hosts = allowed_hosts or allowed_hosts_for(DEFAULT_HOST)

    async def index(request: Request):
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-store"})

    async def dataset(request: Request):
        return JSONResponse({
            "root": str(root.resolve()),
            "sample_rate": rate,
            "clip_seconds": clip_seconds,
            "max_clip_seconds": max_clip_seconds,
            "labels": list_labels(root),
        })

    async def upload(request: Request):
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type not in WAV_TYPES:
            return _error(f"Content-Type {content_type or '(none)'!r} refused; send the clip as audio/wav", 415)
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > limit:
                return _error(f"upload larger than {limit} bytes refused; clips are at most {max_clip_seconds:g} s", 413)
        label = request.query_params.get("label", "")
        try:
            path = await run_in_threadpool(save_clip, root, label, bytes(body), sample_rate=rate, max_seconds=max_clip_seconds)
        except UploadError as exc:
            return _error(str(exc))
        import soundfile as sf

        info = sf.info(str(path))
        return JSONResponse({
            "label": label, "name": path.name, "path": f"{label}/{path.name}",
            "sample_rate": info.samplerate, "duration_s": round(info.frames / info.samplerate, 4),
        }, status_code=201)

    async def delete(request: Request):
        try:
            await run_in_threadpool(delete_clip, root, request.path_params["label"], request.path_params["name"])
        except UploadError as exc:
            return _error(str(exc), 404 if "no such clip" in str(exc) else 400)
        return JSONResponse({"deleted": f"{request.path_params['label']}/{request.path_params['name']}"})

    async def runs(request: Request):
        return JSONResponse({"runs_dir": str(runs_dir.resolve()), "runs": list_runs(runs_dir)})

    async def live(ws: WebSocket):
        origin = ws.headers.get("origin")
        host = ws.headers.get("host", "")
        if origin and urlsplit(origin).netloc != host:
            await ws.close(code=1008, reason="cross-origin WebSocket refused")
            return
        await ws.accept()
        params = ws.query_params
        try:
            name = params.get("run", "")
            if name not in {r["name"] for r in list_runs(runs_dir)}:
                raise UploadError(f"run {name!r} not found in {runs_dir}; pick one from /api/runs")
            dtype = params.get("dtype", "float32")
            input_rate = int(params.get("sample_rate", "0") or 0)
            if not 4000 <= input_rate <= 192000:
                raise UploadError(f"sample_rate {input_rate} refused; give the rate of the blocks in Hz (4000-192000)")
            from tinyaudio.runtime import Classifier
            from tinyaudio.web.live import LiveScorer, decode_block

            classifier = await run_in_threadpool(Classifier, runs_dir / name)
            scorer = LiveScorer(classifier, input_rate, rule=RunFolder(classifier.run_dir).decision_rule())
            decode_block(b"", dtype)
        except (TinyAudioError, ValueError) as exc:
            await ws.send_json({"type": "error", "error": str(exc).splitlines()[0]})
            await ws.close(code=1008)
            return
        await ws.send_json({"type": "ready", "run": name, "labels": scorer.labels, "sample_rate": scorer.rate,
                            "window_s": classifier.feature_config.clip_duration, "hop_s": scorer.engine.hop_s})
        try:
            while True:
                msg = await ws.receive()
                if msg["type"] == "websocket.disconnect":
                    break
                if msg.get("bytes") is None:
                    continue  # text messages are ignored
                try:
                    reply = await run_in_threadpool(scorer.push, decode_block(msg["bytes"], dtype))
                except TinyAudioError as exc:
                    await ws.send_json({"type": "error", "error": str(exc)})
                    continue
                await ws.send_json(reply)
        except WebSocketDisconnect:
            pass

    routes = [
        Route("/", index),
        Route("/api/dataset", dataset),
        Route("/api/clips", upload, methods=["POST"]),
        Route("/api/clips/{label}/{name}", delete, methods=["DELETE"]),
        Route("/api/runs", runs),
        WebSocketRoute("/ws/live", live),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    return Starlette(routes=routes, middleware=[Middleware(TrustedHostMiddleware, allowed_hosts=hosts)])


def serve(
    root: str | os.PathLike,
    runs_dir: str | os.PathLike = "runs",
    *,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    sample_rate: int | None = None,
    max_clip_seconds: float = 2.0,
    log_level: str = "info",
) -> None:
    """Run the app with uvicorn until interrupted; binds ``host`` (127.0.0.1 unless told otherwise)."""
    import uvicorn

    app = create_app(root, runs_dir, sample_rate=sample_rate, max_clip_seconds=max_clip_seconds,
                     allowed_hosts=allowed_hosts_for(host))
    uvicorn.run(app, host=host, port=port, log_level=log_level)
