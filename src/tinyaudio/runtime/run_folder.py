"""`RunFolder`: the one owner of a run folder's layout (NumPy only, no TensorFlow).

A run folder is what ``tinyaudio train`` (and the recipes) write and what everything else reads:
the runtime, the exporter, the web page, evaluation and the speaker tools. Every file name of the
layout is defined here and nowhere else::

    config.json            the TrainConfig of the run
    feature_config.json    the FeatureConfig the model was trained on
    labels.txt             one label per line, in model-output order
    model.keras            the trained Keras model
    model_<kind>.tflite    kind in float, dynamic, int8, int8_qat
    model_<kind>.h         int8 C arrays
    metrics.json           test-split metrics of every .tflite (run with ai-edge-litert)
    threshold.json         binary detectors: the operating threshold chosen on validation
    model_embedding_<kind>.tflite, embedding.json, speaker_eval.json, speakers.json  (speaker runs)
    speaker_cohort.npy     verification runs: one unit embedding per training speaker (score normalisation)
    model_step_<kind>.tflite, stream_step.json  models whose time axis streams: the one-frame step
                           model (kind float, int8) with external states, and how to drive it
    .tinyaudio-manifest.json  every entry tinyaudio wrote, so that ``--overwrite`` replaces
                           only tinyaudio's own folders and never a user's files

`RunFolder.create` builds a new folder under a temporary sibling name and renames it into place
when the block succeeds, so an interrupted or failed run (an exception, Ctrl-C) leaves an existing
folder exactly as it was.
"""

from __future__ import annotations

import contextlib
import fnmatch
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

from tinyaudio._io import build_folder, check_output_folder, record_entries, sha256_file, write_bytes_atomic, write_text_atomic
from tinyaudio.errors import RunFolderError
from tinyaudio.features.config import FeatureConfig

if TYPE_CHECKING:
    from tinyaudio.runtime.stream import DecisionRule

CONFIG = "config.json"
FEATURE_CONFIG = "feature_config.json"
LABELS = "labels.txt"
KERAS_MODEL = "model.keras"
METRICS = "metrics.json"
THRESHOLD = "threshold.json"
EMBEDDING_META = "embedding.json"
SPEAKER_EVAL = "speaker_eval.json"
SPEAKER_PROFILES = "speakers.json"
SPEAKER_COHORT = "speaker_cohort.npy"
STREAM_EVAL = "stream_eval.json"
STREAM_DET = "stream_det.png"
DETECTOR = "detector.json"
DETECTOR_DET = "detector_det.png"
STEP_SPEC = "stream_step.json"
#: sha256 of the files that define what a model computes (`CHECKED`), written with them.
CHECKSUMS = "checksums.json"
#: Model kinds of a run folder, in the order they are reported.
MODEL_KINDS = ("float", "dynamic", "int8", "int8_qat")
EMBEDDING_KINDS = ("float", "int8")
#: Files whose edit or swap changes what the run computes: checked on `RunFolder.open`.
CHECKED = (FEATURE_CONFIG, LABELS, "model_*.tflite", "model_embedding_*.tflite", SPEAKER_COHORT, STEP_SPEC)
#: Run folders written before they had a manifest (tinyaudio 0.1 before this layout module): a
#: folder with config.json, feature_config.json and labels.txt may be replaced with ``--overwrite``
#: if it holds nothing but these names. A recipe folder of that time is not recognised.
LEGACY_ENTRIES = ((CONFIG, FEATURE_CONFIG, LABELS), (
    CONFIG, FEATURE_CONFIG, LABELS, KERAS_MODEL, METRICS, THRESHOLD, EMBEDDING_META, SPEAKER_PROFILES, SPEAKER_EVAL,
    STREAM_EVAL, STREAM_DET, "model_*.tflite", "model_*.h", "history.png", "history_stage[12].png",
    "confusion_int8.png", "roc_*.png", "pr_*.png", "det_*.png", "speaker_eval_*.json", "trials_*.tsv"))


class RunFolder:
    """A run folder on disk: its paths and parsed contents.

    Args:
        path: the folder (need not exist yet for `RunFolder.create`).

    Attributes read lazily raise `RunFolderError` naming the missing or malformed file and what
    to do; nothing is cached, so a reader sees the folder as it is now.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"RunFolder({str(self.path)!r})"

    # -- opening -------------------------------------------------------------------------------
    @classmethod
    def open(cls, path: str | os.PathLike, *, need: tuple[str, ...] = (FEATURE_CONFIG, LABELS)) -> RunFolder:
        """An existing run folder that holds at least the files ``need`` names.

        Raises:
            RunFolderError: ``path`` is not a folder, or a needed file is missing.
        """
        run = cls(path)
        if not run.path.is_dir():
            raise RunFolderError(f"{run.path}: not a folder; give a run folder written by `tinyaudio train`")
        for name in need:
            if not (run.path / name).exists():
                raise RunFolderError(f"{run.path / name}: missing; is {run.path} a folder written by `tinyaudio train`?")
        run.verify()
        return run

    def verify(self) -> None:
        """Check the files of `CHECKED` against ``checksums.json`` (written with them).

        A run folder from before checksums existed (no ``checksums.json``) passes unchecked.

        Raises:
            RunFolderError: a recorded file is missing, or was edited or swapped since it was
                written (the message names it and says how to fix it).
        """
        path = self.file(CHECKSUMS)
        if not path.exists():
            return
        for name, digest in self.read_json(CHECKSUMS).items():
            file = self.file(name)
            if not file.exists():
                raise RunFolderError(f"{file}: missing, but the run was written with it ({CHECKSUMS}); restore it or train again")
            if sha256_file(file) != digest:
                raise RunFolderError(f"{file}: changed since the run was written (sha256 differs from {CHECKSUMS}); "
                                     "restore the original, or train again with the settings you want")

    def seal(self, *names: str) -> None:
        """Record the sha256 of ``names`` (default: every existing file of `CHECKED`) in ``checksums.json``."""
        if not names:
            names = tuple(p.name for p in sorted(self.path.iterdir()) if any(fnmatch.fnmatch(p.name, pat) for pat in CHECKED))
        path = self.file(CHECKSUMS)
        sums = self.read_json(CHECKSUMS) if path.exists() else {}
        sums.update({name: sha256_file(self.file(name)) for name in names})
        write_text_atomic(path, json.dumps(dict(sorted(sums.items())), indent=2) + "\n")
        self.record(CHECKSUMS)

    # -- paths -----------------------------------------------------------------------------------
    def file(self, name: str) -> Path:
        """``path / name`` for one of this module's file-name constants."""
        return self.path / name

    def model_path(self, kind: str = "int8") -> Path:
        """``model_<kind>.tflite``; ``kind`` in `MODEL_KINDS`, or a path to any ``.tflite``."""
        if kind in MODEL_KINDS:
            return self.path / f"model_{kind}.tflite"
        if kind.endswith(".tflite"):
            return Path(kind)
        raise RunFolderError(f"model {kind!r}: use one of {', '.join(MODEL_KINDS)} or a path to a .tflite file")

    def step_model_path(self, kind: str = "int8") -> Path:
        """``model_step_<kind>.tflite``: the streaming step model (`tinyaudio.quantize.streaming`)."""
        return self.path / f"model_step_{kind}.tflite"

    def c_array_path(self, kind: str = "int8") -> Path:
        """``model_<kind>.h``: the int8 model as a C array."""
        return self.path / f"model_{kind}.h"

    def embedding_path(self, kind: str = "int8") -> Path:
        """``model_embedding_<kind>.tflite`` of a speaker run."""
        if kind not in EMBEDDING_KINDS:
            raise RunFolderError(f"embedding model {kind!r}: use one of {', '.join(EMBEDDING_KINDS)}")
        return self.path / f"model_embedding_{kind}.tflite"

    def model_kinds(self) -> list[str]:
        """The kinds in `MODEL_KINDS` whose ``.tflite`` exists, in that order."""
        return [k for k in MODEL_KINDS if self.model_path(k).exists()]

    # -- contents --------------------------------------------------------------------------------
    @property
    def labels(self) -> list[str]:
        """Class names in model-output order: one per line of ``labels.txt`` (spaces allowed).

        Raises:
            RunFolderError: missing file, a blank line between labels, or a repeated label.
        """
        path = self.file(LABELS)
        if not path.exists():
            raise RunFolderError(f"{path}: missing; is {self.path} a folder written by `tinyaudio train`?")
        lines = path.read_text(encoding="utf-8").split("\n")
        while lines and lines[-1] == "":
            lines.pop()
        for i, line in enumerate(lines, 1):
            if not line.strip():
                raise RunFolderError(f"{path}: line {i} is blank; labels.txt holds one label per line in model-output order")
        if len(set(lines)) != len(lines):
            raise RunFolderError(f"{path}: a label appears twice; labels.txt holds each class once")
        return lines

    @property
    def feature_config(self) -> FeatureConfig:
        """The `FeatureConfig` in ``feature_config.json`` (validated on load)."""
        return FeatureConfig.load(self.file(FEATURE_CONFIG))

    @property
    def train_config(self) -> dict[str, Any]:
        """``config.json`` as a dict (`tinyaudio.train.TrainConfig.from_dict` validates it)."""
        return self.read_json(CONFIG)

    @property
    def metrics(self) -> dict[str, Any]:
        """``metrics.json`` as a dict."""
        return self.read_json(METRICS)

    @property
    def binary(self) -> bool:
        """True for a one-keyword detector (labels ``[_other_, keyword]``, one sigmoid output)."""
        labels = self.labels
        return len(labels) == 2 and labels[0] == "_other_"

    def threshold(self, kind: str = "int8") -> float | None:
        """The operating threshold chosen on validation for ``kind`` (``threshold.json``), if any."""
        path = self.file(THRESHOLD)
        if not path.exists():
            return None
        entry = self.read_json(THRESHOLD).get(kind)
        return float(entry["threshold"]) if entry else None

    def decision_rule(self) -> DecisionRule | None:
        """The streaming decision rule tuned for this run (``detector.json``), if any.

        Raises:
            RunFolderError: ``detector.json`` is malformed (the message names the field).
        """
        from tinyaudio.runtime.stream import DecisionRule

        if not self.file(DETECTOR).exists():
            return None
        try:
            return DecisionRule.from_dict(self.read_json(DETECTOR)["rule"])
        except (KeyError, TypeError, ValueError) as exc:
            raise RunFolderError(f"{self.file(DETECTOR)}: {exc}; re-run `tinyaudio tune-detector {self.path}`") from None

    def read_json(self, name: str) -> dict[str, Any]:
        """A JSON file of the folder as a dict.

        Raises:
            RunFolderError: missing or not valid JSON.
        """
        path = self.file(name)
        if not path.exists():
            raise RunFolderError(f"{path}: missing; is {self.path} a folder written by `tinyaudio train`?")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise RunFolderError(f"{path}: not valid JSON ({exc.msg}, line {exc.lineno}); re-run the command that wrote it") from None
        if not isinstance(data, dict):
            raise RunFolderError(f"{path}: expected a JSON object; re-run the command that wrote it")
        return data

    # -- writing ---------------------------------------------------------------------------------
    def write_json(self, name: str, data: Any) -> Path:
        """Write ``data`` as indented JSON to ``name`` (temp file + rename) and record it in the manifest."""
        path = self.file(name)
        write_text_atomic(path, json.dumps(data, indent=2) + "\n")
        self.record(name)
        return path

    def write_text(self, name: str, text: str) -> Path:
        """Write a text file into the folder (temp file + rename) and record it in the manifest."""
        write_text_atomic(self.file(name), text)
        self.record(name)
        return self.file(name)

    def write_bytes(self, name: str, data: bytes) -> Path:
        """Write a binary file into the folder (temp file + rename) and record it in the manifest;
        a model file written into an existing run (e.g. an embedding model) joins ``checksums.json``."""
        write_bytes_atomic(self.file(name), data)
        self.record(name)
        if self.file(CHECKSUMS).exists() and name.endswith(".tflite"):
            self.seal(name)
        return self.file(name)

    def write_labels(self, labels: list[str]) -> Path:
        """``labels.txt``: one label per line.

        Raises:
            RunFolderError: a label is empty or contains a line break.
        """
        for label in labels:
            if not label.strip() or "\n" in label or "\r" in label:
                raise RunFolderError(f"label {label!r}: labels must be non-empty single lines")
        return self.write_text(LABELS, "\n".join(labels) + "\n")

    def record(self, *names: str) -> None:
        """Add entries written by other code (a PNG, a sub-folder) to the folder's manifest."""
        record_entries(self.path, *names)

    @staticmethod
    def check_target(path: str | os.PathLike, *, overwrite: bool) -> None:
        """Refuse, before any work, an output folder that must not be written (`tinyaudio._io.check_output_folder`).

        Raises:
            FolderExistsError: ``path`` exists and ``overwrite`` is False; or it holds anything
                tinyaudio did not write there: ``--overwrite`` replaces only tinyaudio's own run folders.
        """
        check_output_folder(path, overwrite=overwrite, legacy=LEGACY_ENTRIES)

    @classmethod
    @contextlib.contextmanager
    def create(cls, path: str | os.PathLike, *, overwrite: bool = False) -> Iterator[RunFolder]:
        """Build a run folder under a temporary sibling name; rename it onto ``path`` on success.

        Usage::

            with RunFolder.create(out, overwrite=True) as run:
                run.write_labels(labels)          # writes into out's temporary sibling

        On an exception or KeyboardInterrupt inside the block the temporary folder is removed and
        an existing ``path`` is untouched (`tinyaudio._io.build_folder`). At the end, the sha256 of
        the feature config, labels and models go to ``checksums.json`` (`seal`), which `open`
        checks so that an edited or swapped file is refused by every reader.

        Raises:
            FolderExistsError: see `check_target` (checked on entry and again before the rename).
        """
        with build_folder(path, overwrite=overwrite, legacy=LEGACY_ENTRIES) as tmp:
            run = cls(tmp)
            yield run
            run.seal()
        run.path = Path(path)

