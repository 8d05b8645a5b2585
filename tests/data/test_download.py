"""tinyaudio.data.download against a local HTTP server: checksums, resume, extraction, caching."""

from __future__ import annotations

import hashlib
import io
import json
import re
import tarfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest
import soundfile as sf

import tinyaudio.data
from tinyaudio.data import download as dl
from tinyaudio.data.download import MANIFEST, Source, download, fetch_dataset
from tinyaudio.errors import DownloadError

TOP = "free-spoken-digit-dataset-1.0.10"
N_WAVS = 9  # digits 0-2 x takes 0 (test), 5 (validation), 10 (train)


class _Handler(BaseHTTPRequestHandler):
    """Serves ``server.files``; honours ``Range: bytes=N-`` unless ``server.honour_range`` is False."""

    def do_GET(self):
        srv = self.server
        rng = self.headers.get("Range")
        srv.requests.append((self.path, rng))
        body = srv.files.get(self.path.lstrip("/"))
        if body is None:
            self.send_error(404)
            return
        start = 0
        if rng and srv.honour_range:
            start = int(re.fullmatch(r"bytes=(\d+)-", rng).group(1))
            if start >= len(body):
                self.send_error(416)
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(body) - start))
        self.end_headers()
        srv.bytes_sent += len(body) - start  # before writing: the client may finish first
        self.wfile.write(body[start:])

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.files, httpd.requests, httpd.honour_range, httpd.bytes_sent = {}, [], True, 0
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    httpd.base_url = f"http://127.0.0.1:{httpd.server_port}"
    yield httpd
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path, monkeypatch):
    monkeypatch.setenv("TINYAUDIO_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("TINYAUDIO_ALLOW_UNVERIFIED", raising=False)
    monkeypatch.delenv("TINYAUDIO_DATA", raising=False)


def _tar_gz(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


@pytest.fixture(scope="module")
def fsdd_archive() -> bytes:
    """An FSDD-shaped tar.gz: ``<TOP>/recordings/{digit}_{speaker}_{take}.wav`` at 8 kHz."""
    rng = np.random.default_rng(0)
    members = {f"{TOP}/README.md": b"test copy\n"}
    for digit in range(3):
        for take in (0, 5, 10):
            buf = io.BytesIO()
            sf.write(buf, (0.1 * rng.standard_normal(2000)).astype(np.float32), 8000, format="WAV", subtype="PCM_16")
            members[f"{TOP}/recordings/{digit}_jackson_{take}.wav"] = buf.getvalue()
    return _tar_gz(members)


def _manifest(data: bytes, **overrides) -> dict[str, Source]:
    fields = dict(
        url="http://example.invalid/unused.tar.gz",
        filename="fsdd-test.tar.gz",
        archive="tar",
        subdir=TOP,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        expected_files=(("recordings/*.wav", N_WAVS),),
    )
    return {"fsdd": Source(**{**fields, **overrides})}


def test_fetch_verifies_extracts_and_loads(server, fsdd_archive, tmp_path):
    server.files["fsdd-test.tar.gz"] = fsdd_archive
    root = fetch_dataset("fsdd", base_url=server.base_url, manifest=_manifest(fsdd_archive), progress=False)
    cache = tmp_path / "cache"
    assert root == cache / "datasets" / "fsdd" / TOP
    assert len(list((root / "recordings").glob("*.wav"))) == N_WAVS
    assert (cache / "downloads" / "fsdd-test.tar.gz").read_bytes() == fsdd_archive
    marker = json.loads((cache / "datasets" / "fsdd" / dl.MARKER).read_text())
    assert marker["verified"] and marker["sha256"] == hashlib.sha256(fsdd_archive).hexdigest()
    leftovers = [p.name for p in cache.rglob("*") if p.name.endswith(".part") or p.name.startswith(".tmp-")]
    assert leftovers == []

    ds = tinyaudio.data.fsdd(root=root, download=False)
    assert len(ds.clips) == N_WAVS
    assert {c.split for c in ds.clips} == {"train", "validation", "test"}


def test_sha256_mismatch_deletes_and_raises(server, fsdd_archive, tmp_path):
    server.files["a.tar.gz"] = fsdd_archive
    url, dest = f"{server.base_url}/a.tar.gz", tmp_path / "a.tar.gz"
    with pytest.raises(DownloadError, match="sha256") as info:
        download(url, dest, sha256="0" * 64, progress=False)
    assert url in str(info.value) and "0" * 64 in str(info.value)
    assert not dest.exists() and not (tmp_path / "a.tar.gz.part").exists()

    bad = _manifest(fsdd_archive, sha256="f" * 64, filename="a.tar.gz")
    with pytest.raises(DownloadError, match="sha256"):
        fetch_dataset("fsdd", base_url=server.base_url, manifest=bad, progress=False)
    assert not (tmp_path / "cache" / "datasets" / "fsdd").exists()
    assert not (tmp_path / "cache" / "downloads" / "a.tar.gz").exists()


def test_resume_continues_part_file_with_range(server, fsdd_archive, tmp_path):
    server.files["a.tar.gz"] = fsdd_archive
    dest, n = tmp_path / "a.tar.gz", len(fsdd_archive) // 3
    (tmp_path / "a.tar.gz.part").write_bytes(fsdd_archive[:n])
    sha = hashlib.sha256(fsdd_archive).hexdigest()
    download(f"{server.base_url}/a.tar.gz", dest, sha256=sha, size=len(fsdd_archive), progress=False)
    assert server.requests == [("/a.tar.gz", f"bytes={n}-")]
    assert server.bytes_sent == len(fsdd_archive) - n
    assert dest.read_bytes() == fsdd_archive
    assert not (tmp_path / "a.tar.gz.part").exists()


def test_server_ignoring_range_restarts_from_zero(server, fsdd_archive, tmp_path):
    server.files["a.tar.gz"] = fsdd_archive
    server.honour_range = False
    dest = tmp_path / "a.tar.gz"
    (tmp_path / "a.tar.gz.part").write_bytes(b"stale bytes from another file")
    sha = hashlib.sha256(fsdd_archive).hexdigest()
    download(f"{server.base_url}/a.tar.gz", dest, sha256=sha, size=len(fsdd_archive), progress=True)
    assert dest.read_bytes() == fsdd_archive


def test_second_fetch_does_not_hit_the_server(server, fsdd_archive):
    server.files["fsdd-test.tar.gz"] = fsdd_archive
    kwargs = dict(base_url=server.base_url, manifest=_manifest(fsdd_archive), progress=False)
    first = fetch_dataset("fsdd", **kwargs)
    n_requests = len(server.requests)
    assert n_requests == 1
    assert fetch_dataset("fsdd", **kwargs) == first
    assert len(server.requests) == n_requests


def test_unverified_archive_refused_unless_allowed(server, fsdd_archive, tmp_path, monkeypatch):
    server.files["fsdd-test.tar.gz"] = fsdd_archive
    unverified = _manifest(fsdd_archive, sha256=None, size=None)
    with pytest.raises(DownloadError, match="TINYAUDIO_ALLOW_UNVERIFIED"):
        fetch_dataset("fsdd", base_url=server.base_url, manifest=unverified, progress=False)
    assert server.requests == []

    monkeypatch.setenv("TINYAUDIO_ALLOW_UNVERIFIED", "1")
    root = fetch_dataset("fsdd", base_url=server.base_url, manifest=unverified, progress=False)
    assert (root / "recordings").is_dir()
    marker = json.loads((root.parent / dl.MARKER).read_text())
    assert marker == {
        "url": f"{server.base_url}/fsdd-test.tar.gz",
        "sha256": hashlib.sha256(fsdd_archive).hexdigest(),
        "verified": False,
    }


def test_file_count_mismatch_leaves_no_dataset(server, fsdd_archive, tmp_path):
    server.files["fsdd-test.tar.gz"] = fsdd_archive
    wrong = _manifest(fsdd_archive, expected_files=(("recordings/*.wav", 3000),))
    with pytest.raises(DownloadError, match="expected 3000"):
        fetch_dataset("fsdd", base_url=server.base_url, manifest=wrong, progress=False)
    assert list((tmp_path / "cache" / "datasets").iterdir()) == []


def test_archive_escaping_its_folder_is_refused(server, tmp_path):
    evil = _tar_gz({f"{TOP}/recordings/0_a_0.wav": b"x", "../escaped.txt": b"gotcha"})
    server.files["fsdd-test.tar.gz"] = evil
    with pytest.raises(DownloadError, match="cannot extract"):
        fetch_dataset("fsdd", base_url=server.base_url, manifest=_manifest(evil), progress=False)
    assert not any(p.name == "escaped.txt" for p in tmp_path.rglob("*"))
    assert not (tmp_path / "cache" / "datasets" / "fsdd").exists()


def test_manifest_is_official_and_honest():
    assert set(MANIFEST) == {"fsdd", "speech_commands", "esc50", "librispeech_test_other"}
    assert MANIFEST["fsdd"].url.endswith("free-spoken-digit-dataset/archive/refs/tags/v1.0.10.tar.gz")
    assert MANIFEST["speech_commands"].subdir == ""
    for name, src in MANIFEST.items():
        assert src.archive in ("tar", "zip"), name
        if src.sha256 is None:
            assert src.expected_files, f"{name}: unverified source needs a file-count check"
        else:
            assert re.fullmatch(r"[0-9a-f]{64}", src.sha256) and src.size, name
        assert src.checksum_source, name
