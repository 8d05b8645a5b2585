"""Download the public datasets into a cache, with resume and size + sha256 checks.

Cache layout, under ``$TINYAUDIO_CACHE`` (default ``~/.cache/tinyaudio``)::

    downloads/<archive>          the archive as downloaded (``<archive>.part`` while in flight)
    datasets/<name>/             the extracted archive, with a ``.tinyaudio-complete.json`` marker

Not every official archive has a published checksum. GitHub-generated archives (FSDD's tag,
ESC-50's ``master`` branch) are built on request and GitHub does not promise stable bytes, so
their manifest entries say ``sha256=None``. Those are refused unless the caller opts in with
``allow_unverified=True`` or ``TINYAUDIO_ALLOW_UNVERIFIED=1``; they are then checked only by the
number of files extracted (catches a truncated or re-laid-out archive, not a tampered one), and
the sha256 actually received is logged and written to the marker so it can be pinned.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gzip
import hashlib
import http.client
import json
import logging
import os
import shutil
import tarfile
import urllib.error
import urllib.request
import zipfile
import zlib
from pathlib import Path
from typing import Callable, Iterator, Mapping

from tinyaudio._io import write_text_atomic
from tinyaudio.errors import DatasetError, DownloadError
from tinyaudio.paths import cache_root

log = logging.getLogger(__name__)

MARKER = ".tinyaudio-complete.json"
CHUNK_BYTES = 1 << 20
TIMEOUT_S = 60
USER_AGENT = "tinyaudio (+https://pypi.org/project/tinyaudio)"


@dataclasses.dataclass(frozen=True)
class Source:
    """Where one dataset's official archive lives and how it is checked.

    Attributes:
        url: official download URL.
        filename: name of the archive under ``<cache>/downloads`` (and on a ``base_url`` mirror).
        archive: ``"tar"`` (any compression `tarfile` reads) or ``"zip"``.
        subdir: the dataset root inside the archive; ``""`` when the archive has no top folder.
        size: archive size in bytes, or None where no published figure is known.
        sha256: hex digest of the archive, or None where none is published (see module doc).
        expected_files: ``(glob relative to subdir, count)`` pairs checked after extraction.
        checksum_source: where ``size`` / ``sha256`` / ``expected_files`` come from.
    """

    url: str
    filename: str
    archive: str
    subdir: str
    size: int | None = None
    sha256: str | None = None
    expected_files: tuple[tuple[str, int], ...] = ()
    checksum_source: str = ""


MANIFEST: dict[str, Source] = {
    "fsdd": Source(
        url="https://github.com/Jakobovski/free-spoken-digit-dataset/archive/refs/tags/v1.0.10.tar.gz",
        filename="free-spoken-digit-dataset-1.0.10.tar.gz",
        archive="tar",
        subdir="free-spoken-digit-dataset-1.0.10",
        expected_files=(("recordings/*.wav", 3000),),
        checksum_source="no published sha256 (GitHub-generated tag archive); "
        "3000 = 6 speakers x 10 digits x 50 takes (FSDD README)",
    ),
    "speech_commands": Source(
        url="http://download.tensorflow.org/data/speech_commands_v0.02.tar.gz",
        filename="speech_commands_v0.02.tar.gz",
        archive="tar",
        subdir="",
        size=2428923189,
        sha256="af14739ee7dc311471de98f5f9d2c9191b18aedfe957f4a6ff791c709868ff58",
        checksum_source="sha256: torchaudio.datasets.speechcommands _CHECKSUMS; "
        "size: ESPnet egs2/speechcommands local/data.sh",
    ),
    "esc50": Source(
        url="https://github.com/karoldvl/ESC-50/archive/master.zip",
        filename="ESC-50-master.zip",
        archive="zip",
        subdir="ESC-50-master",
        expected_files=(("audio/*.wav", 2000), ("meta/esc50.csv", 1)),
        checksum_source="no sha256 possible (branch archive, changes with each commit); "
        "2000 clips (Piczak 2015)",
    ),
    "librispeech_test_other": Source(
        url="https://www.openslr.org/resources/12/test-other.tar.gz",
        filename="librispeech-test-other.tar.gz",
        archive="tar",
        subdir="LibriSpeech/test-other",
        size=328757843,
        sha256="d09c181bba5cf717b3dee7d4d592af11a3ee3a09e08ae025c5506f6ebe961c29",
        expected_files=(("*/*/*.flac", 2939),),
        checksum_source="sha256: torchaudio.datasets.librispeech _CHECKSUMS; size: Kaldi "
        "egs/librispeech download_and_untar.sh (OpenSLR publishes md5 fb5a50374b501bb3bac4815ee91d3135)",
    ),
}


def download(
    url: str,
    dest: str | os.PathLike,
    *,
    sha256: str | None = None,
    size: int | None = None,
    progress: bool = True,
) -> Path:
    """Download ``url`` to ``dest``, resuming an interrupted ``dest.part``, and verify it.

    Bytes go to ``<dest>.part``; an existing one is continued with an HTTP ``Range`` request
    (restarted from byte 0 if the server ignores it). Only a file that passes the size and
    sha256 checks is renamed to ``dest``, so ``dest`` never holds half a file. A ``dest``
    that already exists and passes the checks is returned without a request.

    Args:
        url: http(s) URL; redirects are followed.
        dest: final path of the file.
        sha256: expected hex digest; None skips the digest check.
        size: expected size in bytes; None skips the size check.
        progress: show a rich progress bar on stderr.

    Returns:
        ``dest`` as a Path.

    Raises:
        DownloadError: HTTP error, network failure or early close (the ``.part`` file is kept
            and the next call resumes), or a size / sha256 mismatch (the file is deleted).
    """
    dest = Path(dest)
    if dest.exists():
        if _problem(dest, sha256, size) is None:
            return dest
        dest.unlink()
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    if part.exists() and size is not None and part.stat().st_size > size:
        part.unlink()
    _fetch_into(url, part, size, progress)
    problem = _problem(part, sha256, size)
    if problem is not None:
        part.unlink()
        raise DownloadError(
            f"{url}: {problem}; the download was deleted: run again, and if it repeats the upstream file changed"
        )
    os.replace(part, dest)
    return dest


def fetch_dataset(
    name: str,
    *,
    cache_dir: str | os.PathLike | None = None,
    base_url: str | None = None,
    manifest: Mapping[str, Source] | None = None,
    allow_unverified: bool | None = None,
    progress: bool = True,
) -> Path:
    """Download and extract one dataset into the cache; a no-op once its marker exists.

    Args:
        name: a key of ``manifest``: ``"fsdd"``, ``"speech_commands"``, ``"esc50"``,
            ``"librispeech_test_other"``.
        cache_dir: cache folder; default `cache_root`.
        base_url: a mirror holding ``<base_url>/<Source.filename>`` instead of ``Source.url``.
        manifest: ``{name: Source}``; default `MANIFEST`.
        allow_unverified: accept an archive with no known sha256; None reads
            ``TINYAUDIO_ALLOW_UNVERIFIED`` (``1`` / ``true`` / ``yes``).
        progress: show a rich progress bar on stderr.

    Returns:
        the dataset root, ``<cache>/datasets/<name>/<Source.subdir>``: for fsdd the folder holding
        ``recordings/``; speech_commands the word folders; esc50 ``meta/`` and ``audio/``;
        librispeech_test_other the speaker folders.

    Raises:
        DatasetError: ``name`` is not in the manifest.
        DownloadError: the archive has no sha256 and unverified archives are not allowed; or
            the download, its checks, extraction or the file count fail.
    """
    sources = MANIFEST if manifest is None else manifest
    if name not in sources:
        raise DatasetError(f"unknown dataset {name!r}; downloadable ones are {sorted(sources)}")
    src = sources[name]
    cache = cache_root(cache_dir)
    target = cache / "datasets" / name
    root = target / src.subdir if src.subdir else target
    if _is_complete(target, src) and root.is_dir():
        return root
    url = f"{base_url.rstrip('/')}/{src.filename}" if base_url else src.url
    if allow_unverified is None:
        allow_unverified = os.environ.get("TINYAUDIO_ALLOW_UNVERIFIED", "").lower() in ("1", "true", "yes")
    if src.sha256 is None and not allow_unverified:
        raise DownloadError(
            f"{url}: no published sha256 for {name}; set TINYAUDIO_ALLOW_UNVERIFIED=1 (or pass "
            "allow_unverified=True) to accept it with only a file-count check, or use a local copy (--data-dir)"
        )
    archive = download(url, cache / "downloads" / src.filename, sha256=src.sha256, size=src.size, progress=progress)
    digest = src.sha256 or _sha256(archive)
    if src.sha256 is None:
        log.warning("%s: %s is unverified (no published sha256); received sha256 %s", name, archive, digest)
    _extract(archive, src, target, {"url": url, "sha256": digest, "verified": src.sha256 is not None})
    return root


def _is_complete(target: Path, src: Source) -> bool:
    try:
        marker = json.loads((target / MARKER).read_text())
    except (OSError, ValueError):
        return False
    return src.sha256 is None or marker.get("sha256") == src.sha256


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def _problem(path: Path, sha256: str | None, size: int | None) -> str | None:
    """Why ``path`` fails the checks, or None when it passes."""
    actual_size = path.stat().st_size
    if size is not None and actual_size != size:
        return f"size mismatch: got {actual_size} bytes, expected {size}"
    if sha256 is not None and (actual := _sha256(path)) != sha256.lower():
        return f"sha256 mismatch: got {actual}, expected {sha256}"
    return None


def _fetch_into(url: str, part: Path, size: int | None, progress: bool) -> None:
    """Append the rest of ``url`` to ``part`` (Range request), or rewrite it if Range is ignored."""
    offset = part.stat().st_size if part.exists() else 0
    if offset and offset == size:
        return
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    if offset:
        request.add_header("Range", f"bytes={offset}-")
    received = 0
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
            if offset and response.status != 206:
                offset = 0  # the server ignored the Range header: start again from byte 0
            elif offset and not response.headers.get("Content-Range", "").startswith(f"bytes {offset}-"):
                part.unlink()
                raise DownloadError(f"{url}: the server answered a different byte range; run again to restart")
            length = response.headers.get("Content-Length")
            expected = int(length) if length is not None else None
            total = size if size is not None else (offset + expected if expected is not None else None)
            label = part.name.removesuffix(".part")
            with open(part, "ab" if offset else "wb") as f, _progress_bar(progress, total, offset, label) as advance:
                while chunk := response.read(CHUNK_BYTES):
                    f.write(chunk)
                    received += len(chunk)
                    advance(len(chunk))
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and offset:  # the part file is not a prefix of what is served now
            part.unlink()
            return _fetch_into(url, part, size, progress)
        raise DownloadError(f"{url}: HTTP {exc.code} {exc.reason}; check the URL, or try again later") from None
    except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DownloadError(f"{url}: {reason}; check the network and run again (it resumes from {part})") from None
    if expected is not None and received != expected:
        raise DownloadError(f"{url}: connection closed after {received} of {expected} bytes; run again to resume")


@contextlib.contextmanager
def _progress_bar(enabled: bool, total: int | None, done: int, label: str) -> Iterator[Callable[[int], None]]:
    if not enabled:
        yield lambda n: None
        return
    from rich.console import Console
    from rich import progress as rp

    columns = (rp.TextColumn("{task.description}"), rp.BarColumn(), rp.DownloadColumn(), rp.TransferSpeedColumn())
    with rp.Progress(*columns, rp.TimeRemainingColumn(), console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(label, total=total, completed=done)
        yield lambda n: bar.advance(task, n)


def _extract(archive: Path, src: Source, target: Path, meta: dict) -> None:
    """Extract into a temp folder beside ``target``, check it, write the marker, rename it."""
    tmp = target.with_name(f".tmp-{target.name}-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        try:
            if src.archive == "zip":
                with zipfile.ZipFile(archive) as zf:
                    for member in zf.namelist():
                        if not (tmp / member).resolve().is_relative_to(tmp.resolve()):
                            raise zipfile.BadZipFile(f"member {member!r} would land outside the folder")
                    zf.extractall(tmp)
            else:
                with tarfile.open(archive) as tf:
                    tf.extractall(tmp, filter="data")  # refuses absolute paths, '..', links outside
        except (tarfile.TarError, zipfile.BadZipFile, EOFError, zlib.error, gzip.BadGzipFile) as exc:
            archive.unlink(missing_ok=True)
            raise DownloadError(f"{archive}: cannot extract ({exc}); the archive was deleted, run again") from None
        root = tmp / src.subdir
        if not root.is_dir():
            raise DownloadError(f"{archive}: no folder {src.subdir!r} inside; update MANIFEST in {__file__}")
        for pattern, count in src.expected_files:
            found = sum(1 for _ in root.glob(pattern))
            if found != count:
                raise DownloadError(
                    f"{archive}: {found} files match {pattern!r}, expected {count}; delete it and run again, "
                    f"or update MANIFEST in {__file__} if upstream changed"
                )
        write_text_atomic(tmp / MARKER, json.dumps(meta, indent=2))
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
