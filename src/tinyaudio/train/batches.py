"""Batches of N speakers x M clips each, for the GE2E loss (`tinyaudio.models.GE2EHead`)."""

from __future__ import annotations

import numpy as np


def speaker_batch_plan(speakers: np.ndarray, n_speakers: int, n_utterances: int, n_batches: int,
                       rng: np.random.Generator) -> np.ndarray:
    """Row indices of ``n_batches`` batches: each ``n_speakers`` distinct speakers x ``n_utterances`` of their rows.

    Args:
        speakers: int speaker of each training row, shape (n,).
        rng: the draw (one per epoch).

    Returns:
        int64 (n_batches, n_speakers * n_utterances); a batch lists speaker 0's rows, then
        speaker 1's, ... as `GE2EHead` expects. Speakers with fewer than ``n_utterances`` rows
        are never drawn.

    Raises:
        ValueError: fewer than ``n_speakers`` speakers have ``n_utterances`` rows.
    """
    rows = {s: np.flatnonzero(speakers == s) for s in np.unique(speakers)}
    eligible = np.array([s for s, r in rows.items() if len(r) >= n_utterances])
    if len(eligible) < n_speakers:
        raise ValueError(f"GE2E batches need {n_speakers} speakers with {n_utterances} clips each; "
                         f"only {len(eligible)} have that many")
    plan = np.empty((n_batches, n_speakers * n_utterances), dtype=np.int64)
    for b in range(n_batches):
        chosen = rng.choice(eligible, size=n_speakers, replace=False)
        plan[b] = np.concatenate([rng.choice(rows[s], size=n_utterances, replace=False) for s in chosen])
    return plan


def speaker_batches(x: np.ndarray, speakers: np.ndarray, *, n_speakers: int, n_utterances: int, seed: int = 0):
    """A Keras ``PyDataset`` of GE2E batches, redrawn every epoch (seeded by ``seed`` and the epoch).

    Each item is ``(x_batch, y_batch)``: ``x[plan]`` and the in-batch speaker index of each row
    (0..n_speakers-1, each repeated ``n_utterances`` times). An epoch has ``len(x) // (n_speakers *
    n_utterances)`` batches, so it sees about as many rows as one pass over ``x``.
    """
    import keras

    class SpeakerBatches(keras.utils.PyDataset):
        def __init__(self):
            super().__init__()
            self.epoch = 0
            self.n_batches = max(1, len(x) // (n_speakers * n_utterances))
            self.labels = np.repeat(np.arange(n_speakers), n_utterances)
            self._draw()

        def _draw(self):
            rng = np.random.default_rng([seed, self.epoch])
            self.plan = speaker_batch_plan(speakers, n_speakers, n_utterances, self.n_batches, rng)

        def __len__(self):
            return self.n_batches

        def __getitem__(self, index):
            return x[self.plan[index]], self.labels

        def on_epoch_end(self):
            self.epoch += 1
            self._draw()

    return SpeakerBatches()
