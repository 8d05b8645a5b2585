"""Small file helpers: every artifact is written to a temp file, then renamed."""

from __future__ import annotations

import contextlib
import dataclasses
import fnmatch
import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Iterator, TypeVar

from tinyaudio.errors import ConfigError, FolderExistsError

T = TypeVar("T")


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temp file in the same folder and a rename."""
    write_bytes_atomic(path, text.encode())


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via ``path.tmp-<pid>`` and ``os.replace`` (never half a file)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temp path beside ``path``; rename it onto ``path`` only if the block succeeds.

    For writers that want a file name (``keras.Model.save``, ``matplotlib`` ``savefig``). The temp
    name keeps the suffix, since some writers choose the format from it.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".tmp-{os.getpid()}-{path.name}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def dataclass_from_dict(cls: type[T], data: dict[str, Any]) -> T:
    """``cls(**data)``, refusing unknown keys (a typo must not silently become a default).

    Raises:
        ConfigError: naming the unknown keys and listing the known fields.
    """
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ConfigError(f"unknown {cls.__name__} field(s) {unknown}; known: {sorted(names)}")
    try:
        return cls(**data)
    except TypeError as exc:  # e.g. a list where a number belongs
        raise ConfigError(f"{cls.__name__}: {exc}") from None


#: In every folder tinyaudio builds (run folders, recipe folders, exported projects): the names
#: of the entries tinyaudio wrote there, and the sha256 of each top-level file as it wrote it.
#: ``--overwrite`` replaces a folder only if nothing else is in it and nothing was edited.
MANIFEST = ".tinyaudio-manifest.json"


def _manifest(folder: Path) -> tuple[set[str], dict[str, str]]:
    path = folder / MANIFEST
    if not path.exists():
        return set(), {}
    try:
        data = json.loads(path.read_text())
        return set(data["entries"]), dict(data.get("sha256", {}))
    except (ValueError, KeyError, TypeError, AttributeError):
        return set(), {}


def sha256_file(path: str | os.PathLike) -> str:
    """Hex sha256 of a file's bytes (manifests, run-folder checksums)."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def record_entries(folder: str | os.PathLike, *names: str) -> None:
    """Add top-level entries of ``folder`` (files or sub-folders tinyaudio wrote) to its manifest,
    with the sha256 of each file as written now (a later edit by hand is then recognised)."""
    folder = Path(folder)
    entries, sums = _manifest(folder)
    top = {Path(n).parts[0] for n in names} - {MANIFEST}
    for name in top:
        if (folder / name).is_file():
            sums[name] = sha256_file(folder / name)
    write_text_atomic(folder / MANIFEST, json.dumps({"entries": sorted(entries | top), "sha256": dict(sorted(sums.items()))},
                                                    indent=1) + "\n")


#: How a folder written before manifests existed is recognised: ``(signature, patterns)``; a folder
#: holding every file of ``signature`` counts as tinyaudio's where its entries match ``patterns``.
Legacy = tuple[tuple[str, ...], tuple[str, ...]]


def foreign_entries(folder: str | os.PathLike, legacy: Legacy | None = None) -> list[str]:
    """Entries of ``folder`` that tinyaudio did not write (absent from its manifest), and files it
    wrote that were edited since (``"name (edited)"``: their sha256 differs from the manifest's).

    Args:
        legacy: for a folder without a manifest that holds every ``signature`` file, the
            ``fnmatch`` patterns of what tinyaudio wrote there; any other folder without a
            manifest is all foreign.
    """
    folder = Path(folder)
    known, sums = _manifest(folder)
    if not known and legacy and all((folder / name).is_file() for name in legacy[0]):
        return sorted(p.name for p in folder.iterdir() if not any(fnmatch.fnmatchcase(p.name, g) for g in legacy[1]))
    known.add(MANIFEST)
    foreign = [p.name for p in folder.iterdir() if p.name not in known]
    edited = [f"{name} (edited)" for name, digest in sums.items()
              if name != MANIFEST and (folder / name).is_file() and sha256_file(folder / name) != digest]
    return sorted(foreign + edited)


def check_output_folder(path: str | os.PathLike, *, overwrite: bool, what: str = "run folder",
                        legacy: Legacy | None = None, option: str = "--out") -> None:
    """Refuse, before any work, an output folder that must not be written (``option``: the command-line
    option that names it, for the message).

    Raises:
        FolderExistsError: ``path`` exists, is not empty and ``overwrite`` is False; or it holds
            anything tinyaudio did not write there (a user's recordings, a hand-edited file, a
            parent folder): ``--overwrite`` replaces only tinyaudio's own folders.
    """
    path = Path(path)
    if not path.exists():
        return
    if not path.is_dir():
        raise FolderExistsError(f"{path}: exists and is a file; choose another {option}")
    if not any(path.iterdir()):
        return
    if not overwrite:
        raise FolderExistsError(f"{path}: {what} exists; choose another {option} (or --overwrite to replace it)")
    foreign = foreign_entries(path, legacy)
    if foreign:
        shown = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
        raise FolderExistsError(
            f"{path}: not replaced: it holds files tinyaudio did not write ({shown}); "
            f"choose another {option} (--overwrite only replaces a {what} tinyaudio wrote)"
        )


@contextlib.contextmanager
def build_folder(path: str | os.PathLike, *, overwrite: bool = False, what: str = "run folder",
                 legacy: Legacy | None = None, option: str = "--out") -> Iterator[Path]:
    """Yield a temporary sibling of ``path`` to fill; rename it onto ``path`` when the block succeeds.

    On an exception or KeyboardInterrupt the temporary folder is removed and an existing ``path``
    is untouched. On success every entry of the new folder is recorded in its manifest, an existing
    ``path`` is moved aside, the new folder renamed into place, and the old one removed.

    Raises:
        FolderExistsError: see `check_output_folder` (checked on entry and again before the rename).
    """
    path = Path(path).absolute()  # "." and "" have no name to build a sibling from
    check_output_folder(path, overwrite=overwrite, what=what, legacy=legacy, option=option)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Fresh, unique names (mkdtemp): nothing that already exists is ever removed here.
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.tmp-", dir=path.parent))
    try:
        yield tmp
        record_entries(tmp, *(p.name for p in tmp.iterdir()))
        check_output_folder(path, overwrite=overwrite, what=what, legacy=legacy, option=option)
        if path.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{path.name}.old-", dir=path.parent))
            os.replace(path, old / path.name)
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
