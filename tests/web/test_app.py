"""The ASGI app through Starlette's TestClient: endpoints, refusals, WebSocket scores, default host."""

import json

import numpy as np
import pytest

pytest.importorskip("starlette")
pytest.importorskip("httpx2")
from starlette.testclient import TestClient  # noqa: E402

from tinyaudio.web.app import DEFAULT_HOST, create_app, list_runs  # noqa: E402

BASE = "http://127.0.0.1:8000"


@pytest.fixture
def client(tmp_path):
    (tmp_path / "data").mkdir()
    return TestClient(create_app(tmp_path / "data", tmp_path / "runs", sample_rate=16000), base_url=BASE)


def test_page_and_static_files_are_served(client):
    page = client.get("/")
    assert page.status_code == 200 and 'id="record-btn"' in page.text and "/static/app.js" in page.text
    for name in ("app.js", "worklet.js", "style.css"):
        assert client.get(f"/static/{name}").status_code == 200


def test_upload_list_and_delete(client, tmp_path, tone, make_wav):
    r = client.post("/api/clips?label=yes", content=make_wav(tone, 16000), headers={"Content-Type": "audio/wav"})
    assert r.status_code == 201, r.text
    assert r.json()["path"] == "yes/0001.wav" and r.json()["duration_s"] == 0.5
    assert (tmp_path / "data" / "yes" / "0001.wav").is_file()
    d = client.get("/api/dataset").json()
    assert d["sample_rate"] == 16000 and d["labels"] == [{"name": "yes", "clips": 1}]
    assert client.delete("/api/clips/yes/0001.wav").status_code == 200
    assert client.delete("/api/clips/yes/0001.wav").status_code == 404
    assert not (tmp_path / "data" / "yes" / "0001.wav").exists()


@pytest.mark.parametrize("label, body, content_type, status, message", [
    ("../evil", "ok", "audio/wav", 400, "label '../evil' refused"),
    ("..%2F..%2Fevil", "ok", "audio/wav", 400, "refused"),
    ("yes", b"", "audio/wav", 400, "empty upload"),
    ("yes", "long", "audio/wav", 400, "too long"),
    ("yes", "flac", "audio/wav", 400, "not a WAV file"),
    ("yes", "ok", "text/plain", 415, "audio/wav"),
    ("yes", b"x" * 400_000, "audio/wav", 413, "larger than"),
])
def test_bad_uploads_are_refused_and_write_nothing(client, tmp_path, tone, label, body, content_type, status, message, make_wav):
    bodies = {"ok": make_wav(tone, 16000), "long": make_wav(np.tile(tone, 6), 16000),
              "flac": make_wav(tone, 16000, fmt="FLAC")}
    r = client.post(f"/api/clips?label={label}", content=bodies.get(body, body), headers={"Content-Type": content_type})
    assert r.status_code == status, r.text
    assert message in r.json()["error"] and "\n" not in r.json()["error"]
    assert list((tmp_path / "data").rglob("*")) == []
    assert not (tmp_path / "evil").exists()


def test_foreign_host_header_is_refused(client):
    """DNS rebinding: a page on evil.example resolving to 127.0.0.1 gets nothing."""
    assert client.get("/api/dataset", headers={"Host": "evil.example"}).status_code == 400


def test_runs_listing_needs_feature_config(tmp_path):
    (tmp_path / "not_a_run").mkdir()
    run = tmp_path / "r1"
    run.mkdir()
    (run / "feature_config.json").write_text(json.dumps({"sample_rate": 8000, "clip_duration": 1.0}))
    (run / "labels.txt").write_text("a\nb\n")
    (run / "model_int8.tflite").write_bytes(b"")
    assert list_runs(tmp_path) == [{"name": "r1", "labels": ["a", "b"], "sample_rate": 8000,
                                    "clip_duration": 1.0, "int8_accuracy": None}]


def test_websocket_refuses_unknown_run(client):
    with client.websocket_connect("ws://127.0.0.1:8000/ws/live?run=../x&sample_rate=16000") as ws:
        msg = ws.receive_json()
    assert msg["type"] == "error" and "not found" in msg["error"]


def test_default_host_is_loopback(monkeypatch, tmp_path):
    import uvicorn
    from typer.testing import CliRunner

    from tinyaudio.cli import app

    seen = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: seen.update(kw))
    result = CliRunner().invoke(app, ["serve", "--root", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert DEFAULT_HOST == "127.0.0.1" and seen["host"] == "127.0.0.1" and seen["port"] == 8000
    result = CliRunner().invoke(app, ["serve", "--root", str(tmp_path), "--host", "0.0.0.0", "--port", "9000"])
    assert seen["host"] == "0.0.0.0" and seen["port"] == 9000 and "warning" in result.output


def test_websocket_streams_scores_and_detections_of_a_real_clip(tmp_path, data_root, fsdd_run):
    """int16 blocks at 16 kHz (resampled to the model's 8 kHz) of a looped FSDD '7' -> the engine says 7."""
    from tinyaudio.data.audio import fix_length, load_audio

    app = create_app(tmp_path / "data", fsdd_run.parent, sample_rate=8000)
    clip = fix_length(load_audio(data_root / "fsdd" / "recordings" / "7_jackson_0.wav", 16000), 16000)
    pcm = (np.tile(clip, 4) * 32767).astype("<i2")
    replies = []
    with TestClient(app, base_url=BASE) as client:
        with client.websocket_connect(f"ws://127.0.0.1:8000/ws/live?run={fsdd_run.name}&sample_rate=16000&dtype=int16") as ws:
            ready = ws.receive_json()
            assert ready["type"] == "ready" and ready["labels"] == [str(d) for d in range(10)] and ready["sample_rate"] == 8000
            ws.send_bytes(b"\x00")  # half a sample: refused, the stream goes on
            assert "whole number" in ws.receive_json()["error"]
            for start in range(0, len(pcm), 1600):
                ws.send_bytes(pcm[start:start + 1600].tobytes())
                replies.append(ws.receive_json())  # one reply per block
    assert [r["type"] for r in replies[:9]] == ["waiting"] * 9  # the first second fills the window
    replies = [r for r in replies if r["type"] == "scores"]
    assert len(replies) >= 25
    tops = [r["top"] for r in replies]
    assert tops.count("7") >= 0.8 * len(tops), tops
    assert all(len(r["scores"]) == 10 and abs(sum(r["raw"]) - 1) < 0.05 for r in replies)
    assert {d["label"] for r in replies for d in r["detections"]} == {"7"}


def test_server_and_live_view_do_not_import_tensorflow():
    import subprocess
    import sys

    code = ("import sys, tinyaudio.web.app, tinyaudio.web.live, tinyaudio.cli; "
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras', 'librosa')); "
            "assert not bad, bad")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr


def test_cross_origin_websocket_is_refused(client):
    from starlette.websockets import WebSocketDisconnect

    with pytest.raises(WebSocketDisconnect) as info:
        with client.websocket_connect("ws://127.0.0.1:8000/ws/live?run=x&sample_rate=16000",
                                      headers={"Origin": "http://evil.example"}):
            pass
    assert info.value.code == 1008
