"""How a speaker run should fill a recording shorter than its window: chosen on validation speakers.

A one-word recording (FSDD's digits are 0.44 s on average) is shorter than the embedding's 1 s
window. `tinyaudio.runtime.speaker.windows` can repeat it (``tile``), centre it on digital silence
(``zero``) or centre it on a quiet room's noise floor (``noise``, at a level in dBFS). This script
prints, for each, the EER of the run's validation speakers when every recording is 0.3-0.7 s of
their speech (`tinyaudio.evaluate.speaker.short_recording_eer`), averaged over three draws of the
pieces and enrolments (seeds 0-2), with its spread: the figure that chooses. FSDD's six
speakers (enrolled from ten validation takes, tested on every test take) are printed beside it as
the test, which chooses nothing.

Run: TINYAUDIO_DATA=../shared/datasets python benchmarks/speaker_short_fill.py runs/speaker_verification
"""

import sys

import numpy as np

from tinyaudio.data.loaders import load_dataset
from tinyaudio.evaluate.speaker import make_trials, score_trials, short_recording_eer, verification_metrics
from tinyaudio.runtime.run_folder import CONFIG, RunFolder
from tinyaudio.runtime.speaker import SpeakerEmbedder
from tinyaudio.train.config import TrainConfig
from tinyaudio.train.data import load_training_data, subsample

SEEDS = (0, 1, 2)
FILLS = (("noise", -50.0), ("noise", -60.0), ("noise", -70.0), ("tile", None), ("zero", None))


def main(run_dir: str) -> None:
    run = RunFolder.open(run_dir, need=(CONFIG,))
    config = TrainConfig.from_dict(run.train_config)
    val_clips = subsample(load_training_data(config).split("validation"), config.max_clips_per_split, config.seed)
    fsdd = load_dataset("fsdd", label_by="speaker")
    enrolments, trials = make_trials(fsdd.split("validation"), fsdd.split("test"), n_enrol=10, seed=config.seed)
    targets = np.array([t for _, _, t in trials])
    print(f"{len({c.speaker for c in val_clips})} validation speakers (chooses); FSDD {len(enrolments)} speakers, "
          f"{int(targets.sum())} / {int((~targets).sum())} trials (test: reported, chooses nothing)")
    print(f"{'fill':14s} {'validation short EER, mean (seeds 0 / 1 / 2)':>46s} {'FSDD EER':>9s}")
    for fill, level in FILLS:
        embedder = SpeakerEmbedder(run.path, fill=fill)
        if level is not None:
            embedder.noise_dbfs = level
        val = [100 * short_recording_eer(embedder, val_clips, seed=s)["eer"] for s in SEEDS]
        test = verification_metrics(score_trials(embedder, enrolments, trials).scores, targets)
        name = f"{fill} {level:g} dBFS" if level is not None else fill
        spread = " / ".join(f"{v:.2f}" for v in val)
        print(f"{name:14s} {np.mean(val):20.2f}% ({spread}) {100 * test['eer']:8.2f}%", flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
