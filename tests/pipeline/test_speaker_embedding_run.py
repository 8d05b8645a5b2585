"""`tinyaudio train --dataset speakers`: a verification run, end to end on a small subsample."""

import json

import numpy as np
import pytest

from tinyaudio.errors import ConfigError
from tinyaudio.pipeline import TrainConfig
from tinyaudio.pipeline.speaker import train_speaker_embedding
from tinyaudio.runtime.speaker import SpeakerEmbedder

QUICK = TrainConfig(dataset="speakers", task="speaker", loss="aam", monitor="val_eer", features="benchmarks/speaker_mfcc_16k.json",
                    epochs=3, width=16, embedding_dim=32, max_clips_per_split=1500, representative_size=100)


@pytest.fixture(scope="module")
def run_dir(data_root, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "speaker_verification"
    train_speaker_embedding(QUICK, out, verbose=0, log=lambda *_: None, evaluations=("fsdd",))
    return out


def test_the_run_holds_an_embedding_a_cohort_of_training_speakers_and_a_validation_threshold(run_dir):
    labels = (run_dir / "labels.txt").read_text().split()
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert len(labels) == metrics["train_speakers"] > 100 and labels == sorted(labels)
    cohort = np.load(run_dir / "speaker_cohort.npy")
    assert cohort.shape == (len(labels), 32)
    np.testing.assert_allclose(np.linalg.norm(cohort, axis=1), 1.0, atol=1e-5)
    stored = json.loads((run_dir / "speaker_eval.json").read_text())
    assert stored["from"] == "validation speakers" and stored["false_accept_rate"] <= 0.01 == stored["target_false_accept_rate"]
    assert stored["threshold"] == metrics["operating_point"]["threshold"]
    embedder = SpeakerEmbedder(run_dir)
    assert embedder.cohort is not None and embedder.dim == 32 and embedder.model.input_dtype == np.int8


def test_fsdd_is_scored_on_unseen_speakers_with_int8_and_float_at_the_stored_threshold(run_dir):
    evaluations = json.loads((run_dir / "metrics.json").read_text())["evaluations"]
    assert set(evaluations) == {"fsdd", "fsdd_float"}
    for m in evaluations.values():
        assert m["train_speakers_overlap"] == [] and (m["n_target"], m["n_nontarget"]) == (300, 1500)
        at = m["at_threshold"]
        assert 0 <= at["false_accepts"] <= 1500 and 0 <= at["false_rejects"] <= 300
        assert m["eer"] < 0.4  # 3 epochs on 1500 one-second clips: 0.29 here, chance is 0.5
    assert abs(evaluations["fsdd"]["eer"] - evaluations["fsdd_float"]["eer"]) < 0.05
    assert (run_dir / "trials_fsdd.tsv").read_text().count("\n") == 1 + 1800
    assert (run_dir / "det_fsdd.png").stat().st_size > 1000
    assert json.loads((run_dir / "speaker_eval_fsdd.json").read_text())["scoring"] == "s-norm"


def test_ge2e_trains_an_embedding_on_speaker_batches(data_root, tmp_path):
    import dataclasses

    config = dataclasses.replace(QUICK, loss="ge2e", epochs=1, ge2e_speakers=8, ge2e_utterances=4)
    metrics = train_speaker_embedding(config, tmp_path / "ge2e", verbose=0, log=lambda *_: None, evaluations=())
    assert metrics["epochs_run"] == 1 and metrics["evaluations"] == {} and 0 < metrics["best_val_eer"] < 0.5
    assert SpeakerEmbedder(tmp_path / "ge2e").dim == 32 and (tmp_path / "ge2e" / "speaker_cohort.npy").exists()


def test_the_speaker_corpus_needs_the_aam_settings():
    with pytest.raises(ConfigError, match="dataset='speakers' trains a verification embedding: it needs task='speaker', "
                                          "loss='aam' or 'ge2e' and monitor='val_eer'"):
        TrainConfig(dataset="speakers", task="speaker")
    with pytest.raises(ConfigError, match="loss='ge2e' trains a speaker embedding: use dataset='speakers'"):
        TrainConfig(dataset="fsdd", task="speaker", loss="ge2e")
    with pytest.raises(ConfigError, match="loss='aam' trains a speaker embedding: use dataset='speakers'"):
        TrainConfig(dataset="fsdd", task="speaker", loss="aam")
