"""`search`: the most accurate models that fit a board's RAM, flash and latency budget, found with Ray Tune.

Each trial is an ordinary `train` run (its run folder under ``DIR/runs/``, int8 model, metrics,
usable at once) of one point of `SPACE`: the q15 features the device computes bit for bit (kind,
number of coefficients / bands, hop, window) and a zoo family with width and depth multipliers
(`tinyaudio.models.scaled_kwargs`). Before a candidate becomes a trial it is priced from its
untrained model: int8 conversion, the generated C's arena plan and constant bytes
(`tinyaudio.export.codegen`) and the cost model's cycles on the target core
(`tinyaudio.export.mcu.cost`). One over budget never runs and does not count as a trial (it costs
one conversion, and goes to ``rejected.jsonl``); nor does a second point with the same architecture.

Ray Tune drives the trials (local Ray in this process by default, one trial per core; a cluster
with ``address``), with an Optuna sampler searching two objectives at once (validation accuracy up,
estimated cycles down; TPE, Ozaki et al. 2020 for the multi-objective form) and the ASHA scheduler
(Li et al. 2020, "A System for Massively Parallel Hyperparameter Tuning") stopping poor trials
early on their per-epoch validation accuracy. The validation split chooses; the test split is read
only in the summary, for the Pareto set, after the search.

Outputs in ``DIR``: ``search.json`` (the settings, for ``--resume``), ``ray/`` (Ray Tune's
experiment state), ``runs/<trial>/`` (run folders), ``trials.json`` (every trial's cost and
accuracy), ``rejected.jsonl`` (candidates priced over budget), ``pareto.json`` / ``pareto.md`` (the Pareto set, re-measured under QEMU where the
cross compiler and QEMU exist, with test accuracy) and ``pareto.png``.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any, Callable

import numpy as np

from tinyaudio._io import check_output_folder, write_text_atomic
from tinyaudio.errors import ConfigError, TinyAudioError
from tinyaudio.export.cpus import cpu_target
from tinyaudio.features.config import FeatureConfig

#: The search space: every parameter and its choices. Features are the q15 kinds the firmware
#: computes (n_fft 512: 32 ms at 16 kHz; ``n_features`` is n_mfcc with 40 mel bands, or n_mels).
SPACE: dict[str, tuple] = {
    "kind": ("mfcc_q15", "logmel_q15"),
    "n_features": (10, 13, 20, 32, 40),
    "hop_length": (320, 480, 640),
    "win_length": (400, 512),
    "model": ("ds_cnn", "ds_cnn_stream", "tc_resnet", "bc_resnet"),
    "width_multiplier": (0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0),
    "depth_multiplier": (0.5, 1.0, 1.5),
}
#: What the sampler maximises and minimises.
OBJECTIVES = (("val_accuracy", "max"), ("cycles", "min"))


def feature_config(params: dict[str, Any], sample_rate: int = 16000) -> FeatureConfig:
    """The q15 `FeatureConfig` of a point of `SPACE` (1 s clips, n_fft 512, magnitude, no centring)."""
    mfcc = params["kind"] == "mfcc_q15"
    return FeatureConfig(kind=params["kind"], sample_rate=sample_rate, clip_duration=1.0, n_fft=512,
                         win_length=int(params["win_length"]), hop_length=int(params["hop_length"]), center=False,
                         n_mels=40 if mfcc else int(params["n_features"]), n_mfcc=int(params["n_features"]) if mfcc else 10,
                         fmin=20.0, fmax=4000.0 if mfcc else 8000.0, power=1.0)


def architecture(params: dict[str, Any]) -> tuple:
    """What a point of `SPACE` builds: its features and its family's builder arguments. Two points
    with the same architecture train the same model (tc_resnet at depth 0.5 and 1 both have one
    block per stage), so a search runs only the first."""
    from tinyaudio.models import scaled_kwargs
    from tinyaudio.models.zoo import SCALABLE

    width_arg, width_base, depth_arg, depth_base = SCALABLE[params["model"]]
    builder = {width_arg: width_base, depth_arg: depth_base,  # the builder's defaults, then what the multipliers set
               **scaled_kwargs(params["model"], params["width_multiplier"], params["depth_multiplier"])}
    return (params["kind"], params["n_features"], params["hop_length"], params["win_length"], params["model"],
            tuple(sorted(builder.items())))


def describe(params: dict[str, Any]) -> str:
    """One line naming a point of `SPACE`: ``ds_cnn w0.5 d1.0 mfcc_q15 10 hop 320 win 512``."""
    return (f"{params['model']} w{params['width_multiplier']} d{params['depth_multiplier']} {params['kind']} "
            f"{params['n_features']} hop {params['hop_length']} win {params['win_length']}")


@dataclasses.dataclass(frozen=True)
class Budget:
    """What the board allows: its core and limits (None: no limit).

    Attributes:
        cpu: the core the cycles are estimated for (`tinyaudio.export.cpus.CPUS`), at its board's clock.
        max_arena: bytes of the generated model's tensor arena (plus a step model's states).
        max_flash: bytes of the model's constant data plus the kernels' code (`CostModel.code_bytes`).
        max_ms: milliseconds of one inference at the core's clock (the frontend's frames come on
            top: about 0.9 ms per frame on the Cortex-M0+, docs/mcu.md).
    """

    cpu: str = "cortex-m0plus"
    max_arena: int | None = None
    max_flash: int | None = None
    max_ms: float | None = None

    def problems(self, cost: Cost) -> list[str]:
        """Why ``cost`` is over this budget (empty when it fits)."""
        out = []
        if self.max_arena is not None and cost.arena_size > self.max_arena:
            out.append(f"arena {cost.arena_size} B > {self.max_arena} B")
        if self.max_flash is not None and cost.flash_bytes > self.max_flash:
            out.append(f"flash {cost.flash_bytes} B > {self.max_flash} B")
        if self.max_ms is not None and cost.ms > self.max_ms:
            out.append(f"{cost.ms:.1f} ms > {self.max_ms} ms")
        return out


@dataclasses.dataclass(frozen=True)
class Cost:
    """What one candidate needs on the board (from its int8 model, trained or not).

    Attributes:
        cycles: estimated cycles of one inference (`tinyaudio.export.mcu.cost`); ms: at the core's clock.
        arena_size: bytes of the generated C's arena plus a step model's state buffers.
        flash_bytes: the model's constant bytes plus the kernels' code.
        params, macs: the Keras model's parameters and multiply-accumulates per inference.
    """

    cycles: float
    ms: float
    arena_size: int
    flash_bytes: int
    params: int
    macs: int

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def model_cost(int8_model: bytes, cpu: str, *, params: int = 0, macs: int = 0) -> Cost:
    """`Cost` of an int8 ``.tflite`` on ``cpu`` from its generated C and the fitted cost model.

    Raises:
        CodegenError: an op the generated C cannot run. BuildError: no cost model for ``cpu``.
    """
    from tinyaudio.export.codegen import generate_c
    from tinyaudio.export.mcu.cost import load_cost_model

    cost_model = load_cost_model(cpu)
    generated = generate_c(int8_model, cpu=cpu)
    cycles = cost_model.predict(int8_model)
    return Cost(cycles=cycles, ms=1e3 * cycles / cpu_target(cpu).clock_hz,
                arena_size=int(generated.arena_size + generated.state_bytes),
                flash_bytes=int(generated.weights_bytes + cost_model.code_bytes), params=params, macs=macs)


def untrained_int8(params: dict[str, Any], n_outputs: int, seed: int = 0) -> tuple[bytes, int, int]:
    """``(int8 .tflite bytes, parameters, MACs)`` of a point of `SPACE` before training: its zoo
    model with initial weights, quantized with random calibration inputs (the cost depends on the
    shapes, not the values)."""
    from tinyaudio.models import build_model, count_macs, scaled_kwargs
    from tinyaudio.quantize import quantize_int8
    from tinyaudio.quantize.silence import quiet_converter

    import keras

    config = feature_config(params)
    shape = (config.n_frames, config.n_features, 1)
    keras.utils.set_random_seed(seed)  # initial weights, hence int8 scales: the same cost every time
    model = build_model(params["model"], shape, n_outputs,
                        **scaled_kwargs(params["model"], params["width_multiplier"], params["depth_multiplier"]))
    calibration = np.random.default_rng(seed).normal(size=(16, *shape)).astype(np.float32)
    with quiet_converter(True):
        data = quantize_int8(model, calibration)
    return data, int(model.count_params()), count_macs(model)


def candidate_cost(params: dict[str, Any], n_outputs: int, cpu: str) -> Cost:
    """`Cost` of a point of `SPACE` before training (`untrained_int8`, `model_cost`).

    Raises:
        ConfigError: the family cannot take this input (e.g. too few frames for its depth), or the
            generated C cannot run the model (the reason named).
    """
    from tinyaudio.errors import CodegenError

    data, n_params, macs = untrained_int8(params, n_outputs)
    try:
        return model_cost(data, cpu, params=n_params, macs=macs)
    except CodegenError as exc:
        raise ConfigError(f"{describe(params)}: no generated C: {exc}") from None


def smallest_candidates() -> list[dict[str, Any]]:
    """The cheapest point of `SPACE` of each model family: least width, depth and features, the
    longest hop and shortest window."""
    base = {"kind": "mfcc_q15", "n_features": min(SPACE["n_features"]), "hop_length": max(SPACE["hop_length"]),
            "win_length": min(SPACE["win_length"]), "width_multiplier": min(SPACE["width_multiplier"]),
            "depth_multiplier": min(SPACE["depth_multiplier"])}
    return [{**base, "model": family} for family in SPACE["model"]]


def check_budget_feasible(budget: Budget, n_outputs: int) -> list[tuple[dict[str, Any], Cost]]:
    """Price `smallest_candidates` before any training.

    Returns:
        ``[(params, cost)]`` of each family's smallest model, cheapest first.

    Raises:
        ConfigError: none of them fits ``budget``: nothing in the space can (the message gives the
            smallest configuration's cost, so the user knows how far the budget is off).
    """
    priced = []
    for params in smallest_candidates():
        try:
            priced.append((params, candidate_cost(params, n_outputs, budget.cpu)))
        except ConfigError:
            continue  # this family cannot take the smallest input; the others decide
    priced.sort(key=lambda pc: pc[1].cycles)
    if not priced:
        raise ConfigError("no model family of the search space can be built on its smallest features")
    if not any(not budget.problems(cost) for _, cost in priced):
        params, cost = priced[0]
        raise ConfigError(
            f"nothing in the search space fits the budget on the {budget.cpu}: the smallest configuration "
            f"({describe(params)}) needs {cost.cycles / 1e6:.2f} M cycles = {cost.ms:.1f} ms, arena "
            f"{cost.arena_size} B, flash {cost.flash_bytes} B ({'; '.join(budget.problems(cost))}); raise the budget")
    return priced


@dataclasses.dataclass(frozen=True)
class SearchSettings:
    """Everything that decides a search; saved as ``DIR/search.json`` so ``--resume`` continues it.

    Attributes:
        dataset: as `TrainConfig.dataset` (speaker-disjoint splits for Speech Commands).
        budget: the board (`Budget`).
        trials: Optuna samples (trials) in all.
        epochs: most epochs of one trial (ASHA's ``max_t``); grace_epochs: ASHA's grace period.
        augment, augment_copies: `TrainConfig.augment` and ``augment_copies`` of every trial;
            seed: the sampler's and every trial's seed.
        max_clips_per_split: subsample each split (quick searches and tests).
        teacher: run folder(s), comma-separated, every trial distils from (`TrainConfig.teacher`;
            any features, so wide models teach the whole space), or None; distill_alpha: the
            labels' weight (`TrainConfig.distill_alpha`).
        cpus_per_trial: Ray resources of one trial (one trial per core by default).
    """

    dataset: str = "speech_commands"
    budget: Budget = Budget()
    trials: int = 40
    epochs: int = 30
    grace_epochs: int = 8
    augment: str = "noise"
    augment_copies: int = 1
    seed: int = 0
    max_clips_per_split: int | None = None
    teacher: str | None = None
    distill_alpha: float = 0.5
    cpus_per_trial: float = 1.0

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SearchSettings:
        return cls(**{**data, "budget": Budget(**data["budget"])})


SETTINGS_FILE = "search.json"
TRIALS_FILE = "trials.json"
PARETO_FILE = "pareto.json"
REJECTED_FILE = "rejected.jsonl"
#: What the sampler is told a candidate costs when its family cannot be built on its input.
UNBUILDABLE_CYCLES = 1e12


def price(params: dict[str, Any], *, n_outputs: int, budget: Budget) -> tuple[list[str], float]:
    """``(why it is over budget, estimated cycles)`` of a point of `SPACE` before training
    (`candidate_cost`); a family that cannot take the input is over budget with the reason."""
    try:
        cost = candidate_cost(params, n_outputs, budget.cpu)
    except ConfigError as exc:
        return [str(exc)], UNBUILDABLE_CYCLES
    return budget.problems(cost), cost.cycles


def _budget_searcher(searcher, price_fn: Callable[[dict[str, Any]], tuple[list[str], float]], log_path: str):
    """``searcher`` (a Ray Tune `Searcher`) behind a budget check: each suggestion is priced before
    it becomes a trial, and one over budget is told straight back to ``searcher`` (validation
    accuracy 0 at its cycles, so the sampler learns where the budget ends), appended to
    ``log_path`` (JSON lines) and replaced by the next suggestion. Over-budget candidates never
    run and do not count as trials. Prices are cached per point (the space is discrete); a
    suggestion whose `architecture` already ran is told back as pruned and replaced too."""
    from ray.tune.search import Searcher

    class BudgetSearcher(Searcher):
        def __init__(self):
            self.searcher, self.price_fn, self.log_path = searcher, price_fn, log_path
            self.alias: dict[str, str] = {}
            self.prices: dict[tuple, tuple[list[str], float]] = {}
            self.seen: set[tuple] = set()
            super().__init__(metric=searcher.metric, mode=searcher.mode)

        def set_search_properties(self, metric, mode, config, **spec):
            return self.searcher.set_search_properties(metric, mode, config, **spec)

        def set_max_concurrency(self, max_concurrent):
            return self.searcher.set_max_concurrency(max_concurrent)

        def suggest(self, trial_id):
            for attempt in range(1000):  # 1000 rejections in a row: the budget leaves (almost) nothing
                key = f"{trial_id}-{attempt}"
                config = self.searcher.suggest(key)
                if config is None or config == Searcher.FINISHED:
                    return config
                point = tuple(sorted(config.items()))
                if point not in self.prices:
                    self.prices[point] = self.price_fn(config)
                problems, cycles = self.prices[point]
                if not problems and architecture(config) in self.seen:
                    self.searcher.on_trial_complete(key, result=None)  # pruned: that model already ran
                    continue
                if not problems:
                    self.seen.add(architecture(config))
                    self.alias[trial_id] = key
                    return config
                self.searcher.on_trial_complete(key, result={"val_accuracy": 0.0, "cycles": cycles})
                with open(self.log_path, "a") as f:
                    f.write(json.dumps({"config": config, "over_budget": "; ".join(problems), "cycles": cycles}) + "\n")
            return Searcher.FINISHED

        def on_trial_result(self, trial_id, result):
            self.searcher.on_trial_result(self.alias.get(trial_id, trial_id), result)

        def on_trial_complete(self, trial_id, result=None, error=False):
            self.searcher.on_trial_complete(self.alias.pop(trial_id, trial_id), result=result, error=error)

        def get_state(self):  # Tune saves the wrapped searcher itself (a wrapper has .searcher)
            return {"alias": dict(self.alias), "prices": dict(self.prices), "seen": set(self.seen)}

        def set_state(self, state):
            self.alias, self.prices, self.seen = state["alias"], state["prices"], state["seen"]

    return BudgetSearcher()


def _trial(params: dict[str, Any], *, settings: SearchSettings, out_dir: str, n_outputs: int,
           data_dir: str | None) -> None:
    """One Ray Tune trial: price the candidate (the searcher has already checked it; a resumed or
    hand-made trial may not have been), train it into a run folder, report each epoch's validation
    accuracy, then the trained int8 model's cost."""
    import keras
    from ray import tune

    from tinyaudio.errors import CodegenError
    from tinyaudio.pipeline.train import train
    from tinyaudio.train.config import TrainConfig

    trial_id = tune.get_context().get_trial_id()
    try:
        cost = candidate_cost(params, n_outputs, settings.budget.cpu)
        over = settings.budget.problems(cost)
    except ConfigError as exc:  # a family that cannot take this input (e.g. too few frames for its depth)
        cost, over = Cost(cycles=0.0, ms=0.0, arena_size=0, flash_bytes=0, params=0, macs=0), [str(exc)]
    base = {"feasible": not over, "over_budget": "; ".join(over), **cost.to_dict(), "run": "", "trained": False}
    if over:
        tune.report({**base, "val_accuracy": 0.0, "epoch": 0})
        return
    features = Path(out_dir) / "features" / f"{trial_id}.json"
    features.parent.mkdir(parents=True, exist_ok=True)
    feature_config(params).save(features)
    config = TrainConfig(dataset=settings.dataset, model=params["model"], features=str(features),
                         width_multiplier=float(params["width_multiplier"]),
                         depth_multiplier=float(params["depth_multiplier"]), epochs=settings.epochs,
                         augment=settings.augment, augment_copies=settings.augment_copies, seed=settings.seed,
                         monitor="val_accuracy", max_clips_per_split=settings.max_clips_per_split,
                         teacher=settings.teacher, distill_alpha=settings.distill_alpha)
    best = {"val_accuracy": 0.0}

    class Report(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            best["val_accuracy"] = max(best["val_accuracy"], float((logs or {}).get("val_accuracy", 0.0)))
            tune.report({**base, "val_accuracy": best["val_accuracy"], "epoch": epoch + 1})  # ASHA's time

    run_dir = Path(out_dir) / "runs" / trial_id
    metrics = train(config, run_dir, data_dir=data_dir, overwrite=True, log=lambda _m: None, verbose=0,
                    callbacks=(Report(),))
    try:
        trained = model_cost((run_dir / "model_int8.tflite").read_bytes(), settings.budget.cpu,
                             params=metrics["params"], macs=metrics["macs"])
        over = settings.budget.problems(trained)
    except CodegenError as exc:
        trained, over = cost, [f"the trained model has no generated C: {exc}"]
    base.update(feasible=not over, over_budget="; ".join(over))
    # The final report comes after the run folder is written: step epochs + 1, so that ASHA (max_t epochs + 1)
    # never stops a trial between its last epoch and its run folder.
    tune.report({**base, **trained.to_dict(), "val_accuracy": best["val_accuracy"], "epoch": settings.epochs + 1,
                 "epochs_run": metrics["epochs_run"], "run": str(run_dir), "trained": True})


def search(settings: SearchSettings, out_dir: str | os.PathLike, *, address: str | None = None,
           resume: bool = False, data_dir: str | os.PathLike | None = None,
           log: Callable[[str], None] = print) -> list[dict[str, Any]]:
    """Run (or with ``resume`` continue) a model search into ``out_dir`` and summarise it.

    Args:
        settings: what to search (ignored with ``resume``: ``out_dir/search.json`` is read).
        address: a Ray cluster (``ray://HOST:PORT`` or ``HOST:PORT``); None starts Ray in this
            process with one trial per core.
        resume: continue the search in ``out_dir``: finished trials are kept, unfinished ones start again.

    Returns:
        the Pareto set (`summarize`).

    Raises:
        FolderExistsError: ``out_dir`` exists and is not empty, without ``resume``.
        RunFolderError: ``resume`` of a folder with no search in it.
        ConfigError: nothing in the space fits the budget (before any training), or bad settings.
    """
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")  # Tune's own tables off: one line per finished trial instead
    import ray
    from ray import tune

    out = Path(out_dir).resolve()
    if resume:
        if not (out / SETTINGS_FILE).exists() or not (out / "ray").is_dir():
            from tinyaudio.errors import RunFolderError

            raise RunFolderError(f"{out}: no search to resume here (no {SETTINGS_FILE} / ray/); start one with --out")
        try:
            settings = SearchSettings.from_dict(json.loads((out / SETTINGS_FILE).read_text()))
        except (ValueError, KeyError, TypeError) as exc:
            from tinyaudio.errors import RunFolderError

            raise RunFolderError(f"{out / SETTINGS_FILE}: not the settings of a tinyaudio search ({exc!r}); "
                                 "resume a folder made by tinyaudio search --out") from None
    else:
        check_output_folder(out, overwrite=False, what="search folder")
    data = str(data_dir) if data_dir else os.environ.get("TINYAUDIO_DATA") or None
    from tinyaudio.data import load_dataset

    labels = list(load_dataset(settings.dataset, data).labels)
    n_outputs = len(labels)
    priced = check_budget_feasible(settings.budget, n_outputs)
    if settings.teacher:  # a teacher of other classes or other audio is refused before any trial
        from tinyaudio.pipeline.train import open_teachers

        open_teachers(settings.teacher, labels, feature_config(priced[0][0]))
    log(f"smallest configuration: {describe(priced[0][0])}: {priced[0][1].ms:.2f} ms, arena {priced[0][1].arena_size} B")
    if not resume:
        out.mkdir(parents=True, exist_ok=True)
        write_text_atomic(out / SETTINGS_FILE, json.dumps(settings.to_dict(), indent=2))

    if not ray.is_initialized():
        ray.init(address=address, include_dashboard=False, log_to_driver=False, logging_level="ERROR",
                 runtime_env={"env_vars": {k: v for k, v in os.environ.items()
                                           if k.startswith(("TINYAUDIO_", "TF_CPP_"))}} if address else None)
    trainable = tune.with_resources(
        tune.with_parameters(_trial, settings=settings, out_dir=str(out), n_outputs=n_outputs, data_dir=data),
        {"cpu": settings.cpus_per_trial})
    if resume:
        tuner = tune.Tuner.restore(str(out / "ray"), trainable=trainable, resume_unfinished=True, resume_errored=True)
    else:
        import optuna
        from ray.tune.schedulers import ASHAScheduler
        from ray.tune.search.optuna import OptunaSearch

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        import functools

        searcher = _budget_searcher(
            OptunaSearch(metric=[m for m, _ in OBJECTIVES], mode=[d for _, d in OBJECTIVES],
                         sampler=optuna.samplers.TPESampler(seed=settings.seed)),
            functools.partial(price, n_outputs=n_outputs, budget=settings.budget), str(out / REJECTED_FILE))
        scheduler = ASHAScheduler(metric="val_accuracy", mode="max", time_attr="epoch", max_t=settings.epochs + 1,
                                  grace_period=min(settings.grace_epochs, settings.epochs), reduction_factor=3)
        tuner = tune.Tuner(
            trainable, param_space={k: tune.choice(list(v)) for k, v in SPACE.items()},
            tune_config=tune.TuneConfig(search_alg=searcher, scheduler=scheduler, num_samples=settings.trials),
            run_config=tune.RunConfig(name="ray", storage_path=str(out), verbose=0, callbacks=[_progress()]),
        )
    grid = tuner.fit()
    rows = []
    for result in grid:
        if result.metrics:
            rows.append({"trial": result.metrics.get("trial_id", ""), "config": result.config,
                         **{k: result.metrics.get(k) for k in ("feasible", "over_budget", "trained", "val_accuracy", "cycles",
                                                                "ms", "arena_size", "flash_bytes", "params", "macs",
                                                                "epochs_run", "run")}})
    write_text_atomic(out / TRIALS_FILE, json.dumps(rows, indent=2, default=str))
    if len(rows) < settings.trials or any(r.error for r in grid):
        log(f"{len(rows)} of {settings.trials} trials finished; continue with: tinyaudio search --resume {out}")
    return summarize(out, log=log)


def _progress():
    """A Ray Tune callback that prints one line per finished trial (to stdout: Tune pickles its
    callbacks with the experiment, so it holds no console or closure)."""
    from ray.tune import Callback

    class Progress(Callback):
        def on_trial_complete(self, iteration, trials, trial, **info):
            r = trial.last_result or {}
            what = describe(trial.config) if "model" in trial.config else trial.trial_id
            if not r.get("feasible", True):
                line = f"over budget ({r.get('over_budget')})"
            else:
                state = "trained" if r.get("trained") else f"stopped by ASHA after {r.get('epoch')} epochs"
                line = (f"{state}, val acc {100 * r.get('val_accuracy', 0):.2f} %, {r.get('cycles', 0) / 1e6:.2f} M cycles, "
                        f"arena {r.get('arena_size')} B")
            print(f"{trial.trial_id} {what}: {line}", flush=True)

    return Progress()


def pareto_front(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The finished, feasible trials no other such trial beats on both validation accuracy (up) and
    cycles (down), by cycles."""
    done = [r for r in rows if r.get("trained") and r.get("feasible")]
    front = [r for r in done if not any(
        o["val_accuracy"] >= r["val_accuracy"] and o["cycles"] <= r["cycles"]
        and (o["val_accuracy"] > r["val_accuracy"] or o["cycles"] < r["cycles"]) for o in done)]
    return sorted(front, key=lambda r: r["cycles"])


def summarize(out_dir: str | os.PathLike, *, measure: bool = True, log: Callable[[str], None] = print
              ) -> list[dict[str, Any]]:
    """The Pareto set of a search folder, re-measured under QEMU (``measure``, where the cross
    compiler and QEMU exist) and with its test accuracy read from each run (after the search,
    never used by it); writes ``pareto.json``, ``pareto.md`` and ``pareto.png``.

    The search priced every trial with the cost model; a re-measured trial whose QEMU cycles
    exceed ``max_ms`` is kept in the set but marked ``over_budget_measured`` (the table's ms
    column says "over"), so a prediction error at the budget's edge is shown, not trusted."""
    import tempfile

    from tinyaudio.export.mcu.cost import measure_cycles

    out = Path(out_dir)
    settings = SearchSettings.from_dict(json.loads((out / SETTINGS_FILE).read_text()))
    cpu = settings.budget.cpu
    rows = json.loads((out / TRIALS_FILE).read_text())
    front = pareto_front(rows)
    for row in front:
        run = Path(row["run"])
        metrics = json.loads((run / "metrics.json").read_text())
        row["test_accuracy_int8"] = metrics["test"]["int8"].get("accuracy")
        row["qemu_cycles"] = None
        if measure:
            try:
                with tempfile.TemporaryDirectory() as tmp:
                    row["qemu_cycles"] = measure_cycles((run / "model_int8.tflite").read_bytes(), cpu, tmp)[1]
            except TinyAudioError as exc:
                log(f"not re-measured under QEMU: {exc}")
                measure = False
    clock = cpu_target(cpu).clock_hz
    max_ms = settings.budget.max_ms
    for row in front:
        row["over_budget_measured"] = bool(row["qemu_cycles"] and max_ms is not None
                                           and 1e3 * row["qemu_cycles"] / clock > max_ms)
    write_text_atomic(out / PARETO_FILE, json.dumps(front, indent=2, default=str))
    rejected = (out / REJECTED_FILE).read_text().count("\n") if (out / REJECTED_FILE).exists() else 0
    lines = [f"Pareto set of {len([r for r in rows if r.get('trained')])} trained trials ({len(rows)} in all; "
             f"{rejected} more candidates were priced over budget and never trained) on "
             f"{settings.dataset}, {cpu} at {clock / 1e6:.0f} MHz; cycles are the cost model's estimate, "
             "QEMU the re-measured estimate (instructions x timing rules); ms from QEMU where measured, "
             "\"over\" where that exceeds the budget; test accuracy read after the search.", "",
             "| model | val acc | test acc (int8) | M cycles (est.) | M cycles (QEMU) | ms | arena B | flash B | params | run |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in front:
        qemu = (f"{r['qemu_cycles'] / 1e6:.2f} ({100 * (r['cycles'] / r['qemu_cycles'] - 1):+.1f} %)"
                if r.get("qemu_cycles") else "-")
        test = f"{100 * r['test_accuracy_int8']:.2f} %" if r.get("test_accuracy_int8") is not None else "-"
        ms = f"{1e3 * (r.get('qemu_cycles') or r['cycles']) / clock:.1f}" + (f" (over {max_ms:g})" if r["over_budget_measured"] else "")
        lines.append(f"| {describe(r['config'])} | {100 * r['val_accuracy']:.2f} % | {test} | {r['cycles'] / 1e6:.2f} | "
                     f"{qemu} | {ms} | {r['arena_size']} | {r['flash_bytes']} | {r['params']} | "
                     f"{Path(r['run']).name} |")
    write_text_atomic(out / "pareto.md", "\n".join(lines) + "\n")
    _plot_pareto(rows, front, out / "pareto.png", cpu)
    log("\n".join(lines))
    return front


def _plot_pareto(rows: list[dict[str, Any]], front: list[dict[str, Any]], path: Path, cpu: str) -> None:
    """Validation accuracy against estimated cycles: every trained trial, the Pareto set joined."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    done = [r for r in rows if r.get("trained") and r.get("feasible")]
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.scatter([r["cycles"] / 1e6 for r in done], [100 * r["val_accuracy"] for r in done], s=14, c="0.6",
               label="trained trials")
    ax.plot([r["cycles"] / 1e6 for r in front], [100 * r["val_accuracy"] for r in front], "o-", c="C3", label="Pareto set")
    ax.set_xlabel(f"estimated M cycles per inference ({cpu})")
    ax.set_ylabel("validation accuracy (%)")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp, dpi=120)
    plt.close(fig)
    os.replace(tmp, path)
