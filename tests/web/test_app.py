"""The ASGI app through Starlette's TestClient: endpoints, refusals, WebSocket scores, default host."""

import json

import numpy as np
import pytest

pytest.importorskip("starlette")
pytest.importorskip("httpx")
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
