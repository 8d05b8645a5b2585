"""`tinyaudio` command line: parse, call one library function, print.

Imports are inside the commands so that ``tinyaudio predict`` never loads TensorFlow.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
from pathlib import Path
from typing import List, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from tinyaudio.errors import ConfigError
from tinyaudio.export.cpus import CPUS, DEFAULT_CPU
from tinyaudio.runtime.run_folder import DETECTOR, RunFolder

app = typer.Typer(add_completion=False, no_args_is_help=True, help="From audio recordings to a tiny int8 model.")
console = Console()
err = Console(stderr=True, soft_wrap=True)  # an error is one line, however narrow the terminal

DataDir = typer.Option(None, "--data-dir", help="Local dataset root (default $TINYAUDIO_DATA, else download).")
# The streaming decision rule: each option overrides the run's detector.json (`tinyaudio tune-detector`).
RuleThreshold = typer.Option(None, min=0.0, max=0.9999, help="Smoothed score a keyword must exceed (default: the run's rule, else 0.7).")
RuleSmoothing = typer.Option(None, min=0.01, help="Posterior averaging window, seconds (default: the run's rule, else 0.5).")
RuleMinCount = typer.Option(None, min=1, help="Hops in the window before anything fires (default: the run's rule, else 3).")
RuleSuppression = typer.Option(None, min=0.0, help="Refractory time after a detection, seconds (default: the run's rule, else 1.5).")


def _fail(exc: Exception) -> None:
    """The one error report: ``error: <message>`` on stderr (no traceback, no Rich markup), exit 2."""
    err.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False)
    raise typer.Exit(2)


def command(*args, **kwargs):
    """``app.command`` whose function reports `TinyAudioError` (bad input) with `_fail`, not a traceback."""

    def decorate(fn):
        @functools.wraps(fn)
        def wrapper(*a, **k):
            from tinyaudio.errors import TinyAudioError

            try:
                return fn(*a, **k)
            except TinyAudioError as exc:
                _fail(exc)

        return app.command(*args, **kwargs)(wrapper)

    return decorate


def _decision_rule(run_dir: Path, threshold, smoothing, min_count, suppression):
    """The run's decision rule (or the default) with the options given on the command line; None if none given."""
    from tinyaudio.runtime.stream import DecisionRule

    given = {k: v for k, v in (("threshold", threshold), ("smoothing_s", smoothing), ("min_count", min_count),
                               ("suppression_s", suppression)) if v is not None}
    if not given:
        return None
    base = RunFolder(run_dir).decision_rule() if run_dir.is_dir() else None
    return dataclasses.replace(base or DecisionRule(), **given)


def _quiet_tensorflow(verbose: bool = False) -> None:
    """Keep TensorFlow's C++ info / warning logs off the terminal unless ``--verbose``."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "0" if verbose else "3")
    if not verbose:
        import logging
        import warnings

        logging.getLogger("absl").setLevel(logging.ERROR)
        logging.getLogger("tensorflow").setLevel(logging.ERROR)
        warnings.filterwarnings("ignore", message=".* had to be resampled from .*")  # audiomentations, per noise file


@command()
def train(
    out: Path = typer.Option(..., "--out", help="Run folder to write."),
    dataset: str = typer.Option("fsdd", help="fsdd | speech_commands | esc50 | librispeech | speakers (a verification "
                                "embedding on hundreds of voices) | path to label/*.wav folders."),
    model: str = typer.Option("ds_cnn", help="Zoo model: ds_cnn, tc_resnet, bc_resnet, cnn_mfcc, cnn3, cnn_resize32, tiny_conv."),
    width: Optional[int] = typer.Option(None, min=1, help="ds_cnn channels (default 64)."),
    width_multiplier: float = typer.Option(1.0, help="Scale the model's channels (ds_cnn, ds_cnn_stream, tc_resnet, bc_resnet)."),
    depth_multiplier: float = typer.Option(1.0, help="Scale the model's blocks (ds_cnn, ds_cnn_stream, tc_resnet, bc_resnet)."),
    features: str = typer.Option("fsdd_mfcc", help="Feature preset name or FeatureConfig JSON file."),
    task: str = typer.Option("words", help="words | speaker (labels are speakers)."),
    keyword: Optional[str] = typer.Option(None, help="Train a one-vs-rest detector for this label."),
    holdout_speaker: Optional[str] = typer.Option(None, help="FSDD: test on this speaker only."),
    holdout_recording: Optional[str] = typer.Option(None, help="fire_alarm: test on this alarm recording (file stem) only."),
    validation_percent: Optional[float] = typer.Option(None, help="Speaker-hash split: validation share."),
    test_percent: Optional[float] = typer.Option(None, help="Speaker-hash split: test share."),
    epochs: int = typer.Option(40),
    batch_size: int = typer.Option(64),
    learning_rate: float = typer.Option(3e-3),
    patience: int = typer.Option(8, help="Early-stopping patience in epochs."),
    seed: int = typer.Option(0),
    augment: str = typer.Option("none", help="none | noise | default (speed, shift, rooms, channel, noise, gain, "
                                "SpecAugment; see tinyaudio.augment.recipes.DEFAULT_POLICY)."),
    augment_off: str = typer.Option("", help="--augment default: comma-separated parts to switch off (ablation)."),
    augment_copies: int = typer.Option(1, help="Augmented copies of each training clip."),
    min_snr_db: float = typer.Option(3.0, help="--augment noise: lowest background-noise SNR (dB)."),
    max_snr_db: float = typer.Option(20.0, help="--augment noise: highest background-noise SNR (dB)."),
    tile_segment_p: float = typer.Option(0.0, help="--augment noise: share of copies cut to 0.3-0.7 s of speech and "
                                         "tiled (speaker embeddings; tried, not adopted: the runtime centres a short recording on a quiet noise floor)."),
    speech_negatives: int = typer.Option(0, help="1 s windows of running speech added to the negative class (hard negatives)."),
    speech_corpora: str = typer.Option("librispeech_train_clean_5,speechocean762", help="Comma-separated corpora for --speech-negatives (or synthetic_sentences)."),
    sound_negatives: int = typer.Option(0, help="Up to this many 1 s windows of everyday sounds (ESC-50 train / validation) added to the negative class."),
    synthetic: int = typer.Option(0, min=0, help="Synthetic renderings of --keyword (without one: of every spoken class, e.g. FSDD's digits) by every installed TTS engine (see `tinyaudio synthesize`)."),
    synthetic_near_misses: int = typer.Option(0, min=0, help="Synthetic words that sound like --keyword, as negatives."),
    extra_speakers: Optional[str] = typer.Option(None, help="speech_commands: its recordings of FSDD's digits join train / validation (more voices)."),
    real_positives: bool = typer.Option(True, "--real-positives/--no-real-positives", help="Keep the dataset's own keyword clips in train / validation."),
    max_clips_per_split: Optional[int] = typer.Option(None, help="Subsample each split (quick runs)."),
    train_speakers_percent: float = typer.Option(100.0, help="Train on this share of the training speakers only (a learning curve)."),
    skip_bad: bool = typer.Option(False, help="Skip unreadable files and list them in metrics.json."),
    overwrite: bool = typer.Option(False, help="Replace an existing run folder."),
    base: Optional[Path] = typer.Option(None, "--base", help="Transfer from this run folder (new head; its features)."),
    freeze_backbone_epochs: int = typer.Option(20, help="Transfer stage 1: head only, backbone frozen."),
    fine_tune_epochs: int = typer.Option(20, help="Transfer stage 2: everything trainable at --fine-tune-lr."),
    fine_tune_lr: float = typer.Option(1e-4, help="Transfer stage 2 learning rate."),
    teacher: Optional[List[Path]] = typer.Option(None, "--teacher", help="Distil from this run folder: same classes and "
                                                 "audio, any features (knowledge distillation); repeat for an ensemble."),
    distill_alpha: float = typer.Option(0.5, help="--teacher: weight of the labels (1 - alpha: of the teacher)."),
    distill_temperature: float = typer.Option(4.0, help="--teacher: softening temperature T of both models' outputs."),
    qat: bool = typer.Option(False, "--qat", help="Also quantization-aware fine-tune and write model_int8_qat.tflite."),
    qat_epochs: int = typer.Option(10, help="QAT epochs (early stopping)."),
    target_max_fpr: Optional[float] = typer.Option(None, help="Binary detectors: threshold with at most this validation FPR."),
    target_min_recall: Optional[float] = typer.Option(None, help="Binary detectors: threshold with at least this validation recall."),
    monitor: str = typer.Option("val_loss", help="Early stopping / LR halving watch: val_loss | val_accuracy "
                                "(--dataset speakers: always val_eer)."),
    embedding_dim: int = typer.Option(128, min=1, help="--dataset speakers: embedding size."),
    loss: Optional[str] = typer.Option(None, help="--dataset speakers: aam (default) | ge2e."),
    target_false_accept_rate: float = typer.Option(0.01, help="--dataset speakers: false-accept rate of the stored "
                                                   "threshold, on validation speakers."),
    verbose: bool = typer.Option(False, "--verbose", help="Keras' per-epoch lines and TensorFlow / converter output."),
    data_dir: Optional[Path] = DataDir,
) -> None:
    """Train a model, quantize it to int8 and write a run folder."""
    _quiet_tensorflow(verbose)
    from tinyaudio.pipeline import TrainConfig
    from tinyaudio.pipeline import train as run_training
    from tinyaudio.train.config import SPEAKER_CORPUS

    speakers = {"task": "speaker", "loss": loss or "aam", "monitor": "val_eer"} if dataset == SPEAKER_CORPUS else {}
    if loss and dataset != SPEAKER_CORPUS:
        speakers["loss"] = loss  # TrainConfig refuses it with the reason
    config = TrainConfig(**{
        "task": task, "monitor": monitor, **speakers}, embedding_dim=embedding_dim, width=width,
        width_multiplier=width_multiplier, depth_multiplier=depth_multiplier, target_false_accept_rate=target_false_accept_rate,
        dataset=dataset, model=model, features=features, keyword=keyword, holdout_speaker=holdout_speaker,
        holdout_recording=holdout_recording,
        validation_percent=validation_percent, test_percent=test_percent, epochs=epochs, batch_size=batch_size,
        learning_rate=learning_rate, patience=patience, seed=seed, augment=augment, augment_copies=augment_copies,
        augment_off=augment_off,
        min_snr_db=min_snr_db, max_snr_db=max_snr_db, tile_segment_p=tile_segment_p,
        speech_negatives=speech_negatives, speech_corpora=speech_corpora, sound_negatives=sound_negatives, synthetic=synthetic,
        synthetic_near_misses=synthetic_near_misses, extra_speakers=extra_speakers, real_positives=real_positives, max_clips_per_split=max_clips_per_split,
        train_speakers_percent=train_speakers_percent, skip_bad=skip_bad, base=str(base) if base else None,
        freeze_backbone_epochs=freeze_backbone_epochs, fine_tune_epochs=fine_tune_epochs, fine_tune_lr=fine_tune_lr,
        teacher=",".join(map(str, teacher)) if teacher else None, distill_alpha=distill_alpha, distill_temperature=distill_temperature,
        qat=qat, qat_epochs=qat_epochs, target_max_fpr=target_max_fpr, target_min_recall=target_min_recall,
    )
    metrics = run_training(config, out, data_dir=data_dir, overwrite=overwrite, log=console.print, verbose=2 if verbose else 1)
    if dataset == SPEAKER_CORPUS:
        _print_verification_summary(out, metrics)
    else:
        _print_summary(out, metrics)


def _print_verification_summary(out: Path, metrics: dict) -> None:
    op = metrics["operating_point"]
    table = Table(title=f"{metrics['model']} speaker embedding ({metrics['train_speakers']} training speakers): "
                        f"unseen speakers, threshold {op['threshold']:.3f}"
                        + (f" ({op['short_threshold']:.3f} for tests shorter than the window)" if op.get("short_threshold") is not None else "")
                        + f" (s-norm, {op['target_false_accept_rate']:.1%} false accepts on validation speakers)")
    for col in ("trials", "unit", "EER int8", "EER float", "false accepts", "false rejects"):
        table.add_column(col)
    for tag, m in metrics["evaluations"].items():
        if not tag.endswith("_float"):
            at = m["at_threshold"]
            table.add_row(tag, m["trial_unit"], f"{m['eer']:.2%}", f"{metrics['evaluations'][tag + '_float']['eer']:.2%}",
                          f"{at['false_accepts']} / {m['n_nontarget']}", f"{at['false_rejects']} / {m['n_target']}")
    console.print(table)
    console.print(f"{metrics['params']} parameters, {metrics['macs']:,} MACs per 1 s window; run folder: [bold]{out}[/bold]")


def _print_summary(out: Path, metrics: dict) -> None:
    table = Table(title=f"{metrics['model']} on {metrics['dataset']} (test split, {metrics['counts']['test']} clips)")
    for col in ("model file", "size (bytes)", "accuracy"):
        table.add_column(col)
    for kind in [k for k in ("float", "dynamic", "int8", "int8_qat") if k in metrics["test"]]:
        table.add_row(RunFolder(out).model_path(kind).name, str(metrics["sizes_bytes"][kind]), f"{metrics['test'][kind]['accuracy']:.2%}")
    console.print(table)
    int8 = metrics["test"]["int8"]
    if "roc_auc" in int8:
        console.print(
            f"keyword detector (int8): precision {int8['precision']:.3f}  recall {int8['recall']:.3f}  "
            f"F1 {int8['f1']:.3f}  ROC AUC {int8['roc_auc']:.3f}  all-negative baseline {int8['baseline_all_negative_accuracy']:.2%}"
        )
    for kind, op in metrics.get("operating_point", {}).items():
        if kind not in ("target", "skipped"):
            console.print(f"{kind} at threshold {op['threshold']:.3f} (chosen on validation): test recall "
                          f"{op['test']['recall']:.3f}, false-positive rate {op['test']['false_positive_rate']:.4f}")
    if int8.get("per_speaker_accuracy"):
        console.print("per speaker (int8): " + ", ".join(f"{s} {a:.1%}" for s, a in int8["per_speaker_accuracy"].items()))
    console.print(f"{metrics['params']} parameters, {metrics['macs']:,} MACs; run folder: [bold]{out}[/bold]")


@command()
def predict(
    run_dir: Path = typer.Argument(..., help="Run folder written by `tinyaudio train`."),
    files: List[Path] = typer.Argument(..., help="Audio files to classify."),
    model: str = typer.Option("int8", help="int8 | float | dynamic"),
    as_json: bool = typer.Option(False, "--json", help="Print JSON lines instead of a table."),
    hop: float = typer.Option(0.25, min=0.01, help="Files longer than one clip: seconds between the windows scored."),
) -> None:
    """Classify audio files with a trained run (runtime extra only: no TensorFlow). A file longer than
    one clip is scanned window by window and its best-scoring window is reported with its time."""
    from tinyaudio.runtime import Classifier

    predictions = Classifier(run_dir, model=model).predict_files(files, hop_s=hop)
    if as_json:
        for p in predictions:
            typer.echo(json.dumps({"path": p.path, "label": p.label, "confidence": round(p.confidence, 4),
                                   "start_s": p.start_s, "windows": p.windows}))
        return
    table = Table()
    long_files = any(p.windows > 1 for p in predictions)
    for col in ("file", "label", "confidence", *(("at (s)", "windows") if long_files else ())):
        table.add_column(col)
    for p in predictions:
        table.add_row(escape(p.path), escape(p.label), f"{p.confidence:.3f}",
                      *((f"{p.start_s:.2f}", str(p.windows)) if long_files else ()))
    console.print(table)


@command()
def evaluate(
    run_dir: Path = typer.Argument(..., help="Run folder written by `tinyaudio train`."),
    dataset: Optional[str] = typer.Option(None, help="Dataset (default: the run's own)."),
    split: str = typer.Option("test"),
    model: str = typer.Option("int8", help="int8 | float | dynamic"),
    recordings_only: bool = typer.Option(False, help="Only the dataset's own recordings: no synthetic clips, speech or "
                                         "sound windows; real keyword clips included."),
    data_dir: Optional[Path] = DataDir,
) -> None:
    """Recompute a run's metrics on a dataset split with its .tflite model."""
    from tinyaudio.evaluate.classify import evaluate_run

    metrics = evaluate_run(run_dir, dataset=dataset, data_dir=data_dir, split=split, model=model,
                           recordings_only=recordings_only)
    metrics.pop("confusion_matrix", None)
    console.print_json(json.dumps(metrics))


@command()
def models(
    features: str = typer.Option("mfcc_49x10", help="Feature preset or FeatureConfig JSON file."),
    n_classes: int = typer.Option(12, help="Output classes (1 = sigmoid detector)."),
) -> None:
    """List the model zoo with parameters and MACs for a feature layout."""
    _quiet_tensorflow()
    from tinyaudio.features import FeatureConfig
    from tinyaudio.models import MODELS, build_model, count_macs

    config = FeatureConfig.load(features)
    table = Table(title=f"input {config.shape} ({config.kind}), {n_classes} outputs")
    for col in ("model", "parameters", "MACs"):
        table.add_column(col, justify="right" if col != "model" else "left")
    for name in MODELS:
        m = build_model(name, (*config.shape, 1), n_classes)
        table.add_row(name, f"{m.count_params():,}", f"{count_macs(m):,}")
    console.print(table)


@command()
def plot(
    files: List[Path] = typer.Argument(..., help="Audio files."),
    out: Path = typer.Option(Path("plots"), help="Folder for the PNGs."),
) -> None:
    """Write waveform, PSD, FFT, spectrogram, mel and MFCC PNGs of audio files."""
    from tinyaudio.features.plot import plot_audio

    for f in files:
        written = plot_audio(f, out)
        console.print(f"{f}: " + ", ".join(str(p) for p in written))


@command()
def data(
    dataset: str = typer.Argument("fsdd", help="fsdd | speech_commands | esc50 | librispeech | speakers | folder path."),
    data_dir: Optional[Path] = DataDir,
) -> None:
    """Show a dataset's labels and clips per split (downloads it if needed); for the speaker
    corpus, speakers and clips per source and split."""
    from tinyaudio.data import load_dataset

    if dataset == "speakers":
        from tinyaudio.data.speakers import SPEAKER_SOURCES, speaker_corpus

        ds = speaker_corpus(data_dir)
        table = Table(title=f"speaker corpus: {len(ds.labels)} speakers, {len(ds.clips)} clips (split by speaker)")
        table.add_column("source")
        for split in ("train", "validation", "test"):
            table.add_column(f"{split}: speakers / clips", justify="right")
        for source, prefix in SPEAKER_SOURCES.items():
            cells = []
            for split in ("train", "validation", "test"):
                clips = [c for c in ds.split(split) if c.speaker.startswith(prefix + ":")]
                cells.append(f"{len({c.speaker for c in clips})} / {len(clips)}")
            table.add_row(source, *cells)
        console.print(table)
        return
    ds = load_dataset(dataset, data_dir)
    counts = ds.counts()
    table = Table(title=f"{ds.name}: {len(ds.clips)} clips")
    table.add_column("label")
    for split in counts:
        table.add_column(f"{split} ({len(ds.speakers(split))} speakers)", justify="right")
    for label in ds.labels:
        table.add_row(label, *(str(counts[s][label]) for s in counts))
    console.print(table)


@command("speaker-eval")
def speaker_eval(
    run_dir: Path = typer.Argument(..., help="Run folder of a `--task speaker` training."),
    dataset: str = typer.Option("fsdd", help="Speakers to test on (ideally not the run's own): fsdd | librispeech | "
                                "speakers (the corpus' test speakers) | folder."),
    n_enrol: int = typer.Option(10, help="Enrolment clips (windows) per speaker."),
    enrol_split: str = typer.Option("validation", help="Split enrolments come from: train | validation | test | all."),
    test_split: str = typer.Option("test", help="Split tested: train | validation | test | all (unseen speakers: "
                                   "--enrol-split all --test-split all tests every file that did not enrol)."),
    per_file: bool = typer.Option(False, "--per-file", help="One trial per file (its windows averaged), not per clip."),
    s_norm: bool = typer.Option(True, "--s-norm/--no-s-norm", help="Score with the run's cohort (verification runs)."),
    tag: Optional[str] = typer.Option(None, help="Name of the written files (default: the dataset)."),
    rerun_all: bool = typer.Option(False, "--all", help="Verification run: choose the threshold on its validation "
                                   "speakers again and redo every evaluation in metrics.json (other options ignored)."),
    model: str = typer.Option("int8", help="Embedding model: int8 | float"),
    export: bool = typer.Option(False, "--export", help="Re-export the embedding model first (needs TensorFlow)."),
    data_dir: Optional[Path] = DataDir,
) -> None:
    """Verification EER / minDCF with the run's embedding model; writes trials and a DET PNG (and, in a
    speaker-ID run without a validation threshold, the EER threshold for `verify`)."""
    _quiet_tensorflow()
    from tinyaudio.evaluate.speaker import speaker_eval as run_eval
    from tinyaudio.runtime.run_folder import EMBEDDING_META, SPEAKER_COHORT
    from tinyaudio.runtime.speaker import default_threshold

    if rerun_all:
        from tinyaudio.pipeline.speaker import evaluate_verification_run

        metrics = evaluate_verification_run(run_dir, data_dir=data_dir, progress=True, log=console.print)
        _print_verification_summary(run_dir, metrics)
        return
    for split in (enrol_split, test_split):  # before any export writes into the run
        if split not in ("train", "validation", "test", "all"):
            raise ConfigError(f"unknown split {split!r}; use one of train, validation, test, all")
    if export or not RunFolder(run_dir).file(EMBEDDING_META).exists():
        from tinyaudio.pipeline import export_embedding

        export_embedding(run_dir, data_dir=data_dir, log=console.print)
    # a verification run's threshold is an s-norm score: meaningless against raw cosines (--no-s-norm)
    cosine_only = not s_norm and RunFolder(run_dir).file(SPEAKER_COHORT).exists()
    threshold = None if cosine_only else default_threshold(run_dir)
    short_threshold = None if cosine_only else default_threshold(run_dir, short=True)
    m = run_eval(run_dir, dataset, data_dir=data_dir, n_enrol=n_enrol, enrol_split=enrol_split, test_split=test_split,
                 per_file=per_file, s_norm=s_norm, tag=tag, model=model, threshold=threshold,
                 short_threshold=short_threshold, progress=True, log=console.print)
    seen = f" (seen in training: {', '.join(m['train_speakers_overlap'])})" if m["train_speakers_overlap"] else " (unseen in training)"
    console.print(f"{m['dataset']}: {len(m['speakers'])} speakers{seen}, {m['n_target']} target / {m['n_nontarget']} "
                  f"non-target trials, one per {m['trial_unit']}")
    console.print(f"EER {100 * m['eer']:.2f} % at {m['scoring']} {m['eer_threshold']:.3f}; minDCF "
                  + ", ".join(f"{v:.3f} (p_target {p})" for p, v in m["min_dcf"].items()))
    at = m["at_threshold"]
    if at is not None:
        short = (f" ({at['short_threshold']:.3f} for {at['short_trials']} short tests)"
                 if at["short_trials"] and at["short_threshold"] != at["threshold"] else "")
        console.print(f"at the run's threshold {at['threshold']:.3f}{short}: {at['false_accepts']} false accepts, "
                      f"{at['false_rejects']} false rejects")
    console.print(f"trials: {run_dir / m['trials_file']}  DET: {run_dir / m['det_png'] if 'det_png' in m else '-'}")


@command()
def enroll(
    run_dir: Path = typer.Argument(..., help="Run folder with an embedding model (see speaker-eval)."),
    files: List[Path] = typer.Argument(..., help="Recordings of the speaker."),
    name: str = typer.Option(..., "--name", help="Profile name."),
) -> None:
    """Average a speaker's embeddings into a profile in RUN_DIR/speakers.json (no TensorFlow)."""
    from tinyaudio.runtime.speaker import enroll as run_enroll, profiles_path

    profile = run_enroll(run_dir, name, files)
    console.print(f"enrolled {name!r}: {len(files)} files, {profile['n_windows']} windows -> {profiles_path(run_dir)}")


@command()
def verify(
    run_dir: Path = typer.Argument(..., help="Run folder with enrolled speakers."),
    files: List[Path] = typer.Argument(..., help="Recordings to check."),
    name: Optional[str] = typer.Option(None, "--name", help="Claimed speaker; omit to identify among the enrolled."),
    threshold: Optional[float] = typer.Option(None, help="Score threshold (default: the run's speaker_eval.json, else 0.5)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON lines."),
) -> None:
    """Accept or reject recordings as an enrolled speaker (cosine score vs threshold)."""
    from tinyaudio.runtime.speaker import SpeakerEmbedder, identify, verify as run_verify

    embedder = SpeakerEmbedder(run_dir)
    if name is not None:
        results = run_verify(run_dir, name, files, threshold=threshold, embedder=embedder)
    else:
        results = [identify(run_dir, f, threshold=threshold, embedder=embedder) for f in files]
    for r in results:
        if as_json:
            typer.echo(json.dumps({"path": r.path, "speaker": r.name, "score": round(r.score, 4),
                                   "threshold": round(r.threshold, 4), "accepted": r.accepted}))
        else:
            verdict = f"[green]accepted as {r.name}[/green]" if r.accepted else (
                f"[red]rejected[/red] (not {r.name})" if name else f"[red]unknown[/red] (closest {r.name})")
            console.print(f"{r.path}: {verdict}  score {r.score:.3f} / threshold {r.threshold:.3f}")


@command()
def serve(
    root: Path = typer.Option(..., "--root", help="Recording folder: clips go to ROOT/<label>/NNNN.wav."),
    runs: Path = typer.Option(Path("runs"), "--runs", help="Folder of run folders for the live view."),
    host: str = typer.Option("127.0.0.1", help="Interface to bind; only loopback unless you say otherwise."),
    port: int = typer.Option(8000),
    sample_rate: Optional[int] = typer.Option(None, help="Clip rate in Hz (default: that of ROOT's clips, else 16000)."),
    max_clip_seconds: float = typer.Option(2.0, help="Longest upload accepted."),
) -> None:
    """Local page to record labelled clips and watch a run classify the microphone live (web extra)."""
    try:
        from tinyaudio.web.app import serve as run_server
    except ImportError as exc:
        _fail(ImportError(f"{exc.name or exc} not installed; pip install 'tinyaudio[web,runtime]'"))
    if host not in ("127.0.0.1", "localhost", "::1"):
        err.print(f"[yellow]warning:[/yellow] listening on {host}: anyone who can reach it can upload clips", highlight=False)
    url_host = f"[{host}]" if ":" in host else host
    console.print(f"tinyaudio serve: http://{url_host}:{port}/  (root {root}, runs {runs})", soft_wrap=True, highlight=False, markup=False)
    run_server(root, runs, host=host, port=port, sample_rate=sample_rate, max_clip_seconds=max_clip_seconds)


@command()
def listen(
    run_dir: Path = typer.Argument(..., help="Run folder written by `tinyaudio train`."),
    wav: Optional[Path] = typer.Option(None, "--wav", help="Listen to this file instead of the microphone."),
    fast: bool = typer.Option(False, "--fast", help="With --wav: as fast as possible, not real time."),
    as_json: bool = typer.Option(False, "--json", help="JSON lines: one per detection, then a summary."),
    threshold: Optional[float] = RuleThreshold,
    smoothing: Optional[float] = RuleSmoothing,
    min_count: Optional[int] = RuleMinCount,
    suppression: Optional[float] = RuleSuppression,
    hop_ms: Optional[float] = typer.Option(None, min=1.0, help="Ms between inferences (default: whole feature hops >= 20 ms)."),
    duration: Optional[float] = typer.Option(None, min=0.0, help="Stop after this many seconds."),
    block_size: int = typer.Option(512, min=1, help="Samples per audio block."),
    device: Optional[str] = typer.Option(None, help="Input device name or index (sounddevice)."),
    model: str = typer.Option("int8", help="int8 | float | dynamic"),
    streaming: bool = typer.Option(True, help="Run the run's streaming step model (new frames only) when it has one."),
) -> None:
    """Always listen to the microphone or a wav file and log keyword detections (runtime extra only)."""
    from tinyaudio.runtime import Classifier
    from tinyaudio.runtime.listen import MicSource, WavSource, listen_console
    from tinyaudio.runtime.stream import StreamingEngine

    clf = Classifier(run_dir, model=model, streaming=streaming)
    rule = _decision_rule(run_dir, threshold, smoothing, min_count, suppression) or RunFolder(run_dir).decision_rule()
    engine = StreamingEngine(clf, hop_s=None if hop_ms is None else hop_ms / 1000, rule=rule)
    sr = clf.feature_config.sample_rate
    dev = int(device) if device is not None and device.isdigit() else device
    source = (WavSource(wav, sr, block_size=block_size, realtime=not fast, pad_end_s=clf.feature_config.clip_duration)
              if wav is not None
              else MicSource(sr, block_size=block_size, device=dev))
    listen_console(engine, source, as_json=as_json, duration_s=duration, console=console)


@command("stream-eval")
def stream_eval_command(
    run_dir: Path = typer.Argument(..., help="Run folder written by `tinyaudio train`."),
    minutes: float = typer.Option(30.0, help="Length of the generated stream."),
    snr: List[float] = typer.Option([0.0, 5.0, 10.0, 20.0], "--snr", help="SNR in dB (repeat for several)."),
    keyword_share: Optional[float] = typer.Option(None, min=0.0, max=1.0, help="Share of keyword clips (default: uniform; 0.5 for a detector)."),
    threshold: Optional[float] = RuleThreshold,
    smoothing: Optional[float] = RuleSmoothing,
    min_count: Optional[int] = RuleMinCount,
    suppression: Optional[float] = RuleSuppression,
    hop_ms: Optional[float] = typer.Option(None, min=1.0, help="Ms between inferences."),
    seed: int = typer.Option(0),
    noise_dir: Optional[Path] = typer.Option(None, help="Background noise folder (default $TINYAUDIO_DATA/speech_commands_background_noise)."),
    save_stream: Optional[Path] = typer.Option(None, help="Also write stream.wav and stream_labels.txt into this new folder."),
    overwrite: bool = typer.Option(False, help="Replace a --save-stream folder tinyaudio wrote before (never one with other files)."),
    speech_share: float = typer.Option(0.25, min=0.0, max=0.9, help="Share of the stream that is running speech (LibriSpeech test-other)."),
    sound_share: float = typer.Option(0.15, min=0.0, max=0.9, help="Share of the stream that is everyday sounds (ESC-50 test split)."),
    split: str = typer.Option("test", help="test | validation: which clips, speech and sounds make the stream."),
    streaming: bool = typer.Option(True, help="Run the run's streaming step model (new frames only) when it has one."),
    data_dir: Optional[Path] = DataDir,
) -> None:
    """Generate a long test stream (words in noise, running speech, everyday sounds), run the streaming
    engine, report FRR and false accepts / hour per source, DET."""
    from tinyaudio.evaluate.stream import stream_eval, summary_table

    results = stream_eval(run_dir, duration_s=minutes * 60, snrs_db=snr, keyword_share=keyword_share, data_dir=data_dir,
                          noise_dir=noise_dir, seed=seed, hop_s=None if hop_ms is None else hop_ms / 1000,
                          rule=_decision_rule(run_dir, threshold, smoothing, min_count, suppression),
                          save_stream=save_stream, overwrite=overwrite, speech_share=speech_share,
                          sound_share=sound_share, split=split, progress=True, streaming=streaming, log=console.print)
    console.print(summary_table(results))


@command("synthesize")
def synthesize_command(
    word: Optional[str] = typer.Argument(None, help="Word or phrase to speak (English)."),
    n: int = typer.Option(100, "--n", min=0, help="Renderings of WORD (1 s clips, 16 kHz)."),
    near_misses: int = typer.Option(0, min=0, help="Renderings of words that sound like WORD (to _other_/)."),
    sentences: int = typer.Option(0, "--sentences", min=0, help="Random English sentences (to _speech_/): synthetic running speech."),
    out: Path = typer.Option(..., "--out", help="Folder to write: WORD/*.wav, _other_/*.wav, _speech_/*.wav, synthesis.json."),
    engine: Optional[List[str]] = typer.Option(None, "--engine", help="flite | festival | espeak-ng | piper (repeat; default: all installed)."),
    seed: int = typer.Option(0),
    overwrite: bool = typer.Option(False, help="Replace a folder this command wrote before."),
) -> None:
    """Speak a keyword nobody recorded with every offline TTS engine and voice (rate, pitch and speed
    perturbation), as an ordinary label/*.wav folder; near-miss words and sentences as negatives.
    `smoke_alarm` makes synthetic alarm recordings instead (piezo tones, temporal patterns, rooms)."""
    from rich.progress import Progress

    from tinyaudio.data.alarms import SOUND_EVENTS, alarm_folder
    from tinyaudio.data.synth import synthetic_folder

    if word in SOUND_EVENTS:
        result = alarm_folder(out, n, seed=seed, overwrite=overwrite)
        console.print(f"{result['clips']} recordings of {result['seconds']:g} s in {escape(str(out))}/{word}", highlight=False)
        return

    total = (n + near_misses if word else 0) + sentences
    with Progress(transient=True, console=console, disable=not console.is_terminal) as bar:
        task = bar.add_task("synthesizing", total=total)
        result = synthetic_folder(out, word, n if word else 0, near_misses=near_misses if word else 0, n_sentences=sentences,
                                  engines=engine, seed=seed, overwrite=overwrite,
                                  progress=lambda i: bar.update(task, completed=i))
    console.print(f"{result['clips']} clips in {escape(str(out))}: {', '.join(result['labels'])}", highlight=False)


@command("tune-detector")
def tune_detector_command(
    run_dir: Path = typer.Argument(..., help="Run folder of a keyword model."),
    target_fa: Optional[float] = typer.Option(None, min=0.0, help="False accepts per hour allowed on the whole validation stream (default 1 when no --max-fa is given)."),
    max_fa: Optional[List[str]] = typer.Option(None, "--max-fa", help="SOURCE=N: false accepts per hour of one source (speech, sounds, other_words, noise); repeat."),
    minutes: float = typer.Option(60.0, min=1.0, help="Length of the validation stream."),
    snr: List[float] = typer.Option([0.0, 5.0, 10.0, 20.0], "--snr", help="SNR in dB (repeat for several)."),
    speech_share: float = typer.Option(0.25, min=0.0, max=0.9, help="Share of running speech (validation speakers of the training corpora)."),
    sound_share: float = typer.Option(0.15, min=0.0, max=0.9, help="Share of everyday sounds (ESC-50 validation split)."),
    noise_dir: Optional[Path] = typer.Option(None, help="Background noise folder (default $TINYAUDIO_DATA/speech_commands_background_noise)."),
    data_dir: Optional[Path] = DataDir,
) -> None:
    """Choose threshold, smoothing and suppression together for a false-accept budget on a validation
    stream (never the test one) and store them in the run (detector.json) for listen, serve and export."""
    from tinyaudio.evaluate.detector import rule_summary, tune_detector

    per_source = {}
    for item in max_fa or []:
        source, _, value = item.partition("=")
        try:
            per_source[source.strip()] = float(value)
        except ValueError:
            _fail(ValueError(f"--max-fa {item!r}: write SOURCE=N, e.g. speech=5"))
    if target_fa is None and not per_source:
        target_fa = 1.0
    result = tune_detector(run_dir, target_fa_per_hour=target_fa, max_fa_per_source=per_source, duration_s=minutes * 60, snrs_db=snr,
                           speech_share=speech_share, sound_share=sound_share, noise_dir=noise_dir, data_dir=data_dir,
                           progress=True, log=console.print)
    console.print(rule_summary(result, RunFolder(run_dir).file(DETECTOR)), markup=False, highlight=False)


@command("export")
def export(
    run_dir: Path = typer.Argument(..., help="Run folder written by `tinyaudio train`."),
    target: str = typer.Option("c", help="pico (Pico SDK, CMake) | arduino (sketch + library) | c (sources only)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Project folder to write (default RUN_DIR/mcu_TARGET)."),
    board: Optional[str] = typer.Option(None, help="Board to check RAM / flash against (default per target)."),
    step_ms: float = typer.Option(32.0, help="Audio per loop step in ms (rounded to whole hops)."),
    threshold: Optional[float] = typer.Option(None, min=0.0, max=1.0, help="Score the top class needs to light the LED and print (default: the run's detector.json, else 0.6)."),
    cpu: str = typer.Option(DEFAULT_CPU, help=f"Core the generated C is laid out for: {' | '.join(CPUS)} (default: the RP2040's)."),
    streaming: bool = typer.Option(True, help="--target c: generate the run's streaming step model (one frame per invoke) when it has one."),
    overwrite: bool = typer.Option(False, help="Replace an existing project folder."),
) -> None:
    """Write a microcontroller project: model C array, labels.h, feature_config.h, q15 frontend, main loop."""
    from tinyaudio.pipeline import export_run

    result = export_run(run_dir, out, target=target, board=board, step_ms=step_ms, threshold=threshold, overwrite=overwrite,
                        cpu=cpu, streaming=streaming)
    console.print(result.report.summary())
    if result.codegen is not None and result.codegen.state_bytes:
        console.print(f"streaming step model: {result.codegen.state_bytes} bytes of state, arena {result.codegen.arena_size} bytes")
    console.print(f"TA_ARENA_BYTES {result.arena_bytes}, {result.step_samples} samples per step; "
                  f"{len(result.files)} files in [bold]{result.out_dir}[/bold] (see its README.md)")


@command("step-model")
def step_model_command(
    run_dir: Path = typer.Argument(..., help="Run folder of a model whose time axis streams (e.g. --model ds_cnn_stream)."),
    data_dir: Optional[Path] = DataDir,
) -> None:
    """Write a trained run's streaming step models (new frames only, states in / out) into its folder;
    `train` does this itself for models that stream."""
    from tinyaudio.pipeline.train import add_step_models

    streaming = add_step_models(run_dir, data_dir=data_dir, log=console.print)
    agree = streaming.get("agreement_int8")
    console.print(f"step model: {streaming['macs_per_step']:,} of {streaming['macs_full']:,} MACs per step, "
                  f"{streaming['state_bytes']:,} bytes of state"
                  + (f"; int8 equal to the full model at {agree['equal']} of {agree['positions']} test positions" if agree else ""),
                  highlight=False)


@command("recipe")
def recipe(
    name: str = typer.Argument(..., help="fire-alarm"),
    out: Path = typer.Option(Path("runs/fire_alarm"), "--out", help="Folder for the runs and report."),
    base: Optional[Path] = typer.Option(None, "--base", help="Reuse this ESC-50 base run instead of training one."),
    quick: bool = typer.Option(False, help="Minutes-long smoke run (numbers not meaningful)."),
    synthetic: int = typer.Option(0, min=0, help="Synthetic alarm recordings added to the detector's positives."),
    real_positives: bool = typer.Option(True, "--real-positives/--no-real-positives", help="Train the detector on the real alarm recordings too."),
    features: Optional[str] = typer.Option(None, help="Feature preset (default the recipe's, logmel_61x40); stft_q15_124x129 is the RP2040 seed's q15 spectrogram."),
    model: Optional[str] = typer.Option(None, help="Zoo model of the base and the detector (default the recipe's, cnn_resize32)."),
    overwrite: bool = typer.Option(False, help="Replace existing run folders."),
    data_dir: Optional[Path] = DataDir,
) -> None:
    """Run a multi-step recipe and write its report (fire-alarm: ESC-50 base -> transfer -> QAT int8 -> report)."""
    _quiet_tensorflow()
    from tinyaudio.pipeline import FireAlarmRecipe, fire_alarm_recipe

    if name != "fire-alarm":
        _fail(ValueError(f"unknown recipe {name!r}; available: fire-alarm"))
    chosen = {k: v for k, v in (("features", features), ("model", model)) if v is not None}
    settings = dataclasses.replace(FireAlarmRecipe.quick() if quick else FireAlarmRecipe(), synthetic=synthetic,
                                   real_positives=real_positives, **chosen)
    fire_alarm_recipe(out, recipe=settings, base=base,
                      data_dir=data_dir, overwrite=overwrite, verbose=1, log=console.print)
    console.print((out / "report.md").read_text(), markup=False, highlight=False)


@command("augment-preview")
def augment_preview(
    audio: Path = typer.Argument(..., help="Audio file to augment."),
    out: Path = typer.Option(Path("augment_preview.png"), "--out", help="PNG to write."),
    features: str = typer.Option("logmel_61x40", help="Feature preset or FeatureConfig JSON file."),
    other: Optional[Path] = typer.Option(None, help="Second clip for the mixing row."),
    noise_dir: Optional[Path] = typer.Option(None, help="Background-noise folder (default: Speech Commands noise if found)."),
    irs: Optional[Path] = typer.Option(None, help="Impulse-response file or folder (default: a synthetic RIR)."),
    seed: int = typer.Option(0),
) -> None:
    """Write a PNG grid of spectrograms before / after each augmentation."""
    from tinyaudio.augment.preview import augment_preview as run_preview
    from tinyaudio.paths import background_noise_dir

    path = run_preview(audio, out, features=features, other=other, noise_dir=noise_dir or background_noise_dir(),
                       irs=irs, seed=seed)
    console.print(f"wrote {path}")


@command("check-mcu")
def check_mcu(
    run_dir: Path = typer.Argument(..., help="Run folder (or a .tflite file)."),
    board: str = typer.Option("rp2040", help="Board whose RAM / flash to check against."),
    clips: int = typer.Option(50, help="Real test clips on which to compare TFLM with LiteRT outputs (0: skip)."),
    data_dir: Optional[Path] = DataDir,
) -> None:
    """Run the int8 model under the TFLite Micro interpreter: ops, arena_size, flash, fits or not,
    and its int8 outputs against LiteRT's reference (and XNNPACK) kernels on real clips."""
    from tinyaudio.export.mcu.check import check_mcu as run_check
    from tinyaudio.export.mcu.check import compare_codegen, compare_outputs
    from tinyaudio.pipeline import run_model_inputs

    model = RunFolder.open(run_dir, need=()).model_path("int8") if run_dir.is_dir() else run_dir
    report = run_check(model, board=board)
    console.print(report.summary())
    inputs = run_model_inputs(run_dir, clips, data_dir=data_dir) if clips > 0 and run_dir.is_dir() else None
    if inputs is not None:
        comparison = compare_outputs(model, inputs)
        console.print(comparison.summary())
    generated = compare_codegen(model, inputs)
    console.print(generated.summary(report.arena_bytes))
    if (inputs is not None and comparison.max_diff_lsb > 1) or generated.max_diff_lsb > 0:
        raise typer.Exit(1)  # beyond a requantization rounding tie, or the generated C disagrees with TFLM


@command("codegen")
def codegen(
    run_dir: Path = typer.Argument(..., help="Run folder (or an int8 .tflite file)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Folder for the C files (default RUN_DIR/codegen)."),
    overwrite: bool = typer.Option(False, help="Replace a folder codegen wrote before (never one with other files)."),
    cpu: str = typer.Option(DEFAULT_CPU, help=f"Core the C is laid out for: {' | '.join(CPUS)}."),
) -> None:
    """Generate dependency-free C99 for the int8 model: ta_model_c.c (weights, static arena, one call
    per op) and ta_nn.{c,h} (kernels bit-exact with TFLite Micro), behind ta_model.h."""
    from tinyaudio.export.codegen import write_c_folder

    model = RunFolder.open(run_dir, need=()).model_path("int8") if run_dir.is_dir() else run_dir
    folder = out or (run_dir if run_dir.is_dir() else run_dir.parent) / "codegen"
    try:
        generated = write_c_folder(model, folder, overwrite=overwrite, name=model.name, cpu=cpu)
    except OSError as exc:  # an unreadable model or an unwritable --out: not a TinyAudioError, still no traceback
        _fail(exc)
    console.print(f"ops: {', '.join(generated.ops)}")
    console.print(f"arena {generated.arena_size} bytes (peak live tensors {generated.plan.peak_live_bytes}), "
                  f"{generated.weights_bytes} bytes of constants; {len(generated.files)} files in [bold]{folder}[/bold]")


@command("search")
def search_command(
    out: Optional[Path] = typer.Option(None, "--out", help="Search folder to create (trials' run folders, Pareto table and plot)."),
    resume: Optional[Path] = typer.Option(None, "--resume", help="Continue the search in this folder (finished trials are kept)."),
    dataset: str = typer.Option("speech_commands", help="Dataset every trial trains on (its validation split chooses)."),
    cpu: str = typer.Option(DEFAULT_CPU, help=f"Core the cycles are estimated for: {', '.join(CPUS)} (with a fitted cost model)."),
    max_arena: Optional[int] = typer.Option(None, min=1, help="Most bytes of the model's tensor arena."),
    max_flash: Optional[int] = typer.Option(None, min=1, help="Most bytes of the model's constants plus kernel code."),
    max_ms: Optional[float] = typer.Option(None, min=0.001, help="Most milliseconds of one inference at the core's clock."),
    trials: int = typer.Option(40, min=1, help="Trials (Optuna samples) in all."),
    epochs: int = typer.Option(30, min=1, help="Most epochs of one trial (ASHA stops poor ones earlier)."),
    grace_epochs: int = typer.Option(8, min=1, help="Epochs every trained trial gets before ASHA may stop it."),
    augment: str = typer.Option("noise", help="Augmentation of every trial: none | noise | default."),
    augment_copies: int = typer.Option(1, min=1, help="Augmented copies of each training clip, in every trial."),
    seed: int = typer.Option(0),
    max_clips_per_split: Optional[int] = typer.Option(None, min=1, help="Subsample each split (quick searches)."),
    teacher: Optional[List[Path]] = typer.Option(None, "--teacher", help="Every trial distils from this run folder "
                                                 "(see train --teacher; repeat for an ensemble)."),
    distill_alpha: float = typer.Option(0.5, min=0.0, max=1.0, help="--teacher: weight of the labels (1 - alpha: of the teachers)."),
    address: Optional[str] = typer.Option(None, "--address", help="Ray cluster to run on (ray://HOST:PORT or HOST:PORT); "
                                          "default: Ray in this process, one trial per core."),
    data_dir: Optional[Path] = DataDir,
) -> None:
    """Search features and model (family, width, depth) for the most accurate models that fit a board."""
    _quiet_tensorflow()
    from tinyaudio.pipeline.search import Budget, SearchSettings, search

    if (out is None) == (resume is None):
        raise ConfigError("give --out DIR for a new search or --resume DIR to continue one (not both)")
    if augment not in ("none", "noise", "default"):
        raise ConfigError(f"--augment {augment!r} is not one of none, noise, default")
    if cpu not in CPUS:
        raise ConfigError(f"--cpu {cpu!r} is not one of {', '.join(CPUS)}")
    settings = SearchSettings(dataset=dataset, budget=Budget(cpu=cpu, max_arena=max_arena, max_flash=max_flash, max_ms=max_ms),
                              trials=trials, epochs=epochs, grace_epochs=grace_epochs, augment=augment,
                              augment_copies=augment_copies, seed=seed, max_clips_per_split=max_clips_per_split,
                              distill_alpha=distill_alpha,
                              teacher=",".join(str(RunFolder.open(t).path.resolve()) for t in teacher) if teacher else None)
    search(settings, resume or out, address=address, resume=resume is not None, data_dir=data_dir,
           log=lambda line: console.print(line, highlight=False, markup=False))


if __name__ == "__main__":
    app()
