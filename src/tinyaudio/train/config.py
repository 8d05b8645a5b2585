"""`TrainConfig`: everything that decides a training run, validated like `FeatureConfig`."""

from __future__ import annotations

import dataclasses
from typing import Any, Literal, get_args

from tinyaudio._io import dataclass_from_dict
from tinyaudio.data.speech import SYNTHETIC_CORPUS, TRAINING_CORPORA
from tinyaudio.errors import ConfigError

Task = Literal["words", "speaker"]
ClassWeights = Literal["auto", "balanced", "none"]
Augment = Literal["none", "noise", "default"]
Monitor = Literal["val_loss", "val_accuracy", "val_eer"]
Loss = Literal["softmax", "aam", "ge2e"]
_CHOICES = {"task": Task, "class_weights": ClassWeights, "augment": Augment, "monitor": Monitor, "loss": Loss}
#: The speaker-disjoint corpus (`tinyaudio.data.speakers`): trains a speaker embedding for verification.
SPEAKER_CORPUS = "speakers"
#: Losses that train a speaker embedding (on `SPEAKER_CORPUS`).
SPEAKER_LOSSES = ("aam", "ge2e")


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Everything that decides a training run; saved as ``config.json`` in the run folder.

    Attributes:
        dataset: ``fsdd``, ``speech_commands``, ``esc50``, ``librispeech``, ``speakers`` (the
            speaker-disjoint corpus of `tinyaudio.data.speakers`: a verification embedding, see
            `tinyaudio.pipeline.train_speaker_embedding`) or a ``label/*.wav`` folder.
        model: zoo name (``ds_cnn``, ``tc_resnet``, ``bc_resnet``, ``cnn_mfcc``, ``cnn3``, ``cnn_resize32``, ``tiny_conv``).
        width: channels of ``ds_cnn`` (None: the builder's default, 64).
        width_multiplier, depth_multiplier: scale the model's channels and blocks
            (`tinyaudio.models.scaled_kwargs`; ds_cnn, ds_cnn_stream, tc_resnet, bc_resnet).
        features: preset name (``fsdd_mfcc``, ``mfcc_49x10``, ...) or a FeatureConfig JSON path.
        task: ``"words"`` (labels are what is said) or ``"speaker"`` (labels are who speaks;
            the loader's ``label_by="speaker"``).
        keyword: if set, a one-vs-rest detector for this label with a sigmoid output.
        holdout_speaker: FSDD only: test on this speaker, train on the others.
        holdout_recording: fire_alarm only: test on this alarm recording (its file stem), train
            and validate on the others (leave-one-recording-out; `tinyaudio.data.soundbites.fire_alarm`'s
            ``test_sources``).
        validation_percent, test_percent: hash-split percentages for speech_commands / folders
            (None: the loader's defaults).
        epochs, batch_size, learning_rate, patience: Adam with the learning rate halved after
            ``patience // 2`` epochs without validation-loss improvement; early stopping after
            ``patience`` epochs, best weights restored.
        seed: seeds Python, NumPy and TensorFlow; TensorFlow op determinism is enabled.
        class_weights: ``"auto"`` (balanced weights when the largest class is > 1.5x the
            smallest), ``"balanced"`` or ``"none"``.
        augment: ``"none"``, ``"noise"`` (adds ``augment_copies`` noisy copies of each training
            clip: background noise / white noise and a time shift, seeded) or ``"default"`` (the
            copies go through the default policy, `tinyaudio.augment.recipes.DEFAULT_POLICY`:
            speed, shift, simulated rooms, channel colouring, noise, gain, SpecAugment).
        augment_off: ``augment="default"``: comma-separated parts switched off (an ablation).
        speech_negatives: number of 1 s windows of running speech (`tinyaudio.data.speech`), cut
            at random offsets, added to the negative class (``_other_`` of a keyword detector,
            ``_unknown_`` of a multi-class model): the hard negatives of an always-listening model.
        speech_corpora: comma-separated corpora the windows come from (`TRAINING_CORPORA`, or
            ``synthetic_sentences``: TTS speech; LibriSpeech test-other is kept for evaluation and refused).
        sound_negatives: up to this many windows of everyday sounds (ESC-50's train and
            validation clips, `tinyaudio.data.soundbites.sound_windows`) added to the negative
            class, as ``speech_negatives``; ESC-50's test clips are what streams test on.
        synthetic: renderings of ``keyword`` by every installed TTS engine (`tinyaudio.data.synth`)
            added to the keyword class (90 % train, 10 % validation); without a keyword, that many
            renderings of every spoken class (`tinyaudio.data.loaders.spoken_words`: FSDD,
            Speech Commands); for ``dataset="fire_alarm"``, synthetic alarm recordings
            (`tinyaudio.data.alarms`) instead.
        synthetic_near_misses: renderings of words that sound close to ``keyword`` (`near_miss_words`),
            added to the negative class.
        extra_speakers: ``"speech_commands"``: its recordings of the dataset's spoken classes
            (`tinyaudio.data.loaders.speech_commands_words`; FSDD's digits) join train and
            validation, split by speaker: real voices the dataset lacks.
        real_positives: False drops the dataset's own keyword clips from train and validation
            (a detector for a word nobody recorded; the test split stays real).
        min_snr_db, max_snr_db: SNR range of the background noise ``augment="noise"`` adds (dB,
            whole-clip RMS; `tinyaudio.augment.recipes.noise_recipe`).
        tile_segment_p: ``augment="noise"``: probability that a copy is first cut to 0.3-0.7 s of
            its speech, repeated to fill the clip (`tinyaudio.augment.TileSegment`; for speaker
            embeddings scored with ``fill="tile"``, `tinyaudio.runtime.speaker.windows`).
        max_clips_per_split: subsample each split (seeded) to at most this many clips; for tests.
        train_speakers_percent: keep the training clips of only this share of the training
            speakers (seeded; `tinyaudio.train.data.speaker_share`), validation and test whole: a
            learning curve over voices. ``_silence_`` windows are not voices and are all kept.
        skip_bad: leave out unreadable files (reported in metrics.json) instead of failing.
        representative_size: training examples used to calibrate int8 quantization.
        base: run folder to transfer from (`tinyaudio.train.transfer`): its model minus the
            head, its feature config (``features`` is then ignored); stage 1 trains the new
            head for up to ``freeze_backbone_epochs`` at ``learning_rate`` (decaying), stage 2
            everything for up to ``fine_tune_epochs`` at ``fine_tune_lr``.
        teacher: run folder of a trained multi-class model with the same classes, sample rate,
            clip length and padding (its features may differ), or several, comma-separated (their
            probabilities averaged: an ensemble teacher): the student learns from the softened
            probabilities as well as the labels (knowledge distillation, `tinyaudio.train.distill`).
        distill_alpha: weight of the labels' cross-entropy (1 - alpha goes to the teacher's).
        distill_temperature: the softening T (4 by default: Hinton et al. 2015, section 3, found
            2.5-4 best for a small student).
        qat: after training, fine-tune with fake quantization for up to ``qat_epochs`` at
            ``qat_lr`` (`tinyaudio.quantize.qat`) and also write ``model_int8_qat.tflite``.
        target_max_fpr, target_min_recall: binary detectors: the threshold target, met on
            validation (`tinyaudio.evaluate.threshold`); neither means 0.5.
        monitor: what early stopping and the learning-rate halving watch when training from
            scratch: ``"val_loss"`` or ``"val_accuracy"`` (for many classes and few clips,
            where validation loss rises from the first epoch while accuracy still improves), or
            ``"val_eer"`` (speaker embeddings: the equal error rate of the validation speakers).
        loss: ``"softmax"`` (cross-entropy), or for speaker embeddings ``"aam"`` (additive angular
            margin softmax over a cosine head, `tinyaudio.train.losses.aam_softmax_loss`; the
            default) or ``"ge2e"`` (generalized end-to-end softmax loss over batches of
            ``ge2e_speakers`` x ``ge2e_utterances`` clips, `tinyaudio.models.GE2EHead`).
        embedding_dim, aam_margin, aam_scale: the ``aam`` embedding size, margin (radians)
            and logit scale.
        target_false_accept_rate: speaker verification: the threshold stored in the run gives
            this false-accept rate on the validation speakers' trials.
    """

    dataset: str = "fsdd"
    model: str = "ds_cnn"
    width: int | None = None
    width_multiplier: float = 1.0
    depth_multiplier: float = 1.0
    features: str = "fsdd_mfcc"
    task: Task = "words"
    keyword: str | None = None
    holdout_speaker: str | None = None
    holdout_recording: str | None = None
    validation_percent: float | None = None
    test_percent: float | None = None
    epochs: int = 40
    batch_size: int = 64
    learning_rate: float = 3e-3
    patience: int = 8
    seed: int = 0
    class_weights: ClassWeights = "auto"
    augment: Augment = "none"
    augment_copies: int = 1
    augment_off: str = ""
    min_snr_db: float = 3.0
    max_snr_db: float = 20.0
    tile_segment_p: float = 0.0
    speech_negatives: int = 0
    speech_corpora: str = ",".join(TRAINING_CORPORA)
    sound_negatives: int = 0
    synthetic: int = 0
    synthetic_near_misses: int = 0
    extra_speakers: str | None = None
    real_positives: bool = True
    max_clips_per_split: int | None = None
    train_speakers_percent: float = 100.0
    skip_bad: bool = False
    representative_size: int = 300
    base: str | None = None
    freeze_backbone_epochs: int = 20
    fine_tune_epochs: int = 20
    fine_tune_lr: float = 1e-4
    teacher: str | None = None
    distill_alpha: float = 0.5
    distill_temperature: float = 4.0
    qat: bool = False
    qat_epochs: int = 10
    qat_lr: float = 1e-4
    target_max_fpr: float | None = None
    target_min_recall: float | None = None
    monitor: Monitor = "val_loss"
    loss: Loss = "softmax"
    embedding_dim: int = 128
    aam_margin: float = 0.2
    aam_scale: float = 30.0
    ge2e_speakers: int = 16
    ge2e_utterances: int = 4
    target_false_accept_rate: float = 0.01

    def __post_init__(self) -> None:
        problems = [f"{name}={getattr(self, name)!r} is not one of {get_args(kind)}"
                    for name, kind in _CHOICES.items() if getattr(self, name) not in get_args(kind)]
        for name in ("epochs", "batch_size", "patience", "augment_copies", "representative_size", "qat_epochs", "embedding_dim"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                problems.append(f"{name}={getattr(self, name)!r} must be a whole number >= 1")
        for name in ("freeze_backbone_epochs", "fine_tune_epochs"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 0:
                problems.append(f"{name}={getattr(self, name)!r} must be a whole number >= 0")
        for name in ("speech_negatives", "sound_negatives"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 0:
                problems.append(f"{name}={getattr(self, name)!r} must be a whole number >= 0")
        unknown = [c for c in self.speech_corpora.split(",") if c not in (*TRAINING_CORPORA, SYNTHETIC_CORPUS)]
        if unknown:
            problems.append(f"speech_corpora: {unknown[0]!r} is not one of {(*TRAINING_CORPORA, SYNTHETIC_CORPUS)}")
        for name in ("synthetic", "synthetic_near_misses"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 0:
                problems.append(f"{name}={getattr(self, name)!r} must be a whole number >= 0")
        if (self.synthetic_near_misses or not self.real_positives) and not self.keyword and self.dataset != "fire_alarm":
            problems.append("synthetic_near_misses / real_positives=False need a keyword (--keyword WORD)")
        if self.extra_speakers not in (None, "speech_commands"):
            problems.append(f"extra_speakers={self.extra_speakers!r} is not one of ('speech_commands',)")
        elif self.extra_speakers and (self.dataset != "fsdd" or self.task != "words" or self.keyword):
            problems.append("extra_speakers adds Speech Commands' digits to --dataset fsdd's digit classes only")
        if self.synthetic and not self.keyword and (self.task != "words" or self.dataset == SPEAKER_CORPUS):
            problems.append("synthetic renders words: it needs --task words (every class, or one --keyword WORD)")
        if not self.real_positives and not self.synthetic:
            problems.append("real_positives=False leaves no keyword clips to train on; add synthetic ones (--synthetic N)")
        if self.augment_off:
            from tinyaudio.augment.recipes import default_policy

            try:
                default_policy(self.augment_off)
            except ValueError as exc:
                problems.append(f"augment_off: {exc}")
        if not 0.0 <= self.tile_segment_p <= 1.0:
            problems.append(f"tile_segment_p={self.tile_segment_p} must be a probability between 0 and 1")
        if self.holdout_recording is not None and self.dataset != "fire_alarm":
            problems.append(f"holdout_recording is for --dataset fire_alarm (an alarm recording), not --dataset {self.dataset}")
        if not -30.0 <= self.min_snr_db <= self.max_snr_db <= 60.0:
            problems.append(f"min_snr_db={self.min_snr_db}, max_snr_db={self.max_snr_db}: need -30 <= min <= max <= 60 dB")
        if self.max_clips_per_split is not None and self.max_clips_per_split < 1:
            problems.append(f"max_clips_per_split={self.max_clips_per_split} must be >= 1")
        for name in ("learning_rate", "fine_tune_lr", "qat_lr"):
            if not getattr(self, name) > 0:
                problems.append(f"{name}={getattr(self, name)!r} must be > 0")
        if not 0 < self.train_speakers_percent <= 100:
            problems.append(f"train_speakers_percent={self.train_speakers_percent} must be above 0 and at most 100")
        for name in ("validation_percent", "test_percent"):
            value = getattr(self, name)
            if value is not None and not 0 < value < 100:
                problems.append(f"{name}={value} must be between 0 and 100")
        for name in ("target_max_fpr", "target_min_recall"):
            value = getattr(self, name)
            if value is not None and not 0 <= value <= 1:
                problems.append(f"{name}={value} must be a rate between 0 and 1")
        if self.width_multiplier != 1.0 or self.depth_multiplier != 1.0:
            from tinyaudio.models.zoo import SCALABLE

            if self.model not in SCALABLE:
                problems.append(f"width_multiplier / depth_multiplier scale {sorted(SCALABLE)}, not {self.model!r}")
            if not (self.width_multiplier > 0 and self.depth_multiplier > 0):
                problems.append(f"width_multiplier={self.width_multiplier}, depth_multiplier={self.depth_multiplier} must be > 0")
        if self.width is not None and (not isinstance(self.width, int) or self.width < 1):
            problems.append(f"width={self.width!r} must be a whole number >= 1")
        if self.dataset == SPEAKER_CORPUS and (self.task != "speaker" or self.loss not in SPEAKER_LOSSES
                                               or self.monitor != "val_eer"):
            problems.append(f"dataset={SPEAKER_CORPUS!r} trains a verification embedding: it needs task='speaker', "
                            "loss='aam' or 'ge2e' and monitor='val_eer' (the CLI sets them)")
        if self.loss in SPEAKER_LOSSES and self.dataset != SPEAKER_CORPUS:
            problems.append(f"loss={self.loss!r} trains a speaker embedding: use dataset={SPEAKER_CORPUS!r}")
        if self.ge2e_speakers < 2 or self.ge2e_utterances < 2:
            problems.append(f"ge2e_speakers={self.ge2e_speakers}, ge2e_utterances={self.ge2e_utterances}: need at least 2 each")
        if not (0 < self.aam_margin < 1 and self.aam_scale > 0):
            problems.append(f"aam_margin={self.aam_margin} must be in (0, 1) radians and aam_scale={self.aam_scale} > 0")
        if self.teacher is not None and (self.keyword or self.base or self.dataset == SPEAKER_CORPUS):
            problems.append("teacher distils a multi-class word model trained from scratch: not with --keyword, --base "
                            f"or --dataset {SPEAKER_CORPUS}")
        if not (0.0 <= self.distill_alpha <= 1.0 and self.distill_temperature > 0):
            problems.append(f"distill_alpha={self.distill_alpha} must be in [0, 1] and "
                            f"distill_temperature={self.distill_temperature} > 0")
        if not 0 < self.target_false_accept_rate < 1:
            problems.append(f"target_false_accept_rate={self.target_false_accept_rate} must be a rate between 0 and 1")
        if problems:
            raise ConfigError("invalid TrainConfig: " + "; ".join(problems))

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def recordings_only(self) -> TrainConfig:
        """The same dataset and splits with only its own recordings: no synthetic renderings,
        speech- or sound-negative windows or extra speakers, and the real keyword clips kept (a
        ``real_positives=False`` detector's validation split then holds real speakers' keywords)."""
        return dataclasses.replace(self, synthetic=0, synthetic_near_misses=0, speech_negatives=0, sound_negatives=0,
                                   extra_speakers=None, real_positives=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        """Build from a dict, refusing unknown keys (a typo must not silently become a default)."""
        return dataclass_from_dict(cls, data)
