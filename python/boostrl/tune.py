"""Automatic hyper-parameter tuning of boostrl agents with Optuna.

``python -m boostrl.tune ENV --algo ppo --trials 50 --timesteps 100000``
(or ``boostrl tune ENV ...``) searches the agent configuration of PPO, A2C,
AWR or DQN, tree settings included, with Optuna's TPE sampler. Each trial
trains one agent per tuning seed (>= 100, so that seeds 0, 1, 2, ... stay
for the final evaluation) in chunks, evaluates them after each chunk and
reports the mean return to Optuna, whose median pruner stops trials that
fall behind. The objective is the mean evaluation return over the tuning
seeds at the end of training. Trials live in an Optuna storage (SQLite by
default, which ``optuna-dashboard sqlite:///boostrl-tune.db`` shows); a
second run with the same study name continues it. The best configuration
is written as a flat JSON object of agent configuration keys, which both
``boostrl train ENV --config FILE`` (native envs) and
``boostrl.PPO(env, **json.load(f))`` accept.

Optuna is an optional dependency (``pip install boostrl[tune]``); importing
``boostrl`` does not import it.
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import sys
import time
from typing import Any, Callable

import numpy as np

ALGOS = ("ppo", "a2c", "awr", "dqn")

# The configuration keys the search sets, per algorithm (tree settings for all).
_TREE_KEYS = ("max_depth", "n_bins", "grow_policy", "policy_lr", "value_lr", "gamma")


def _optuna():
    try:
        import optuna
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError(
            "boostrl.tune needs Optuna: pip install 'optuna>=4.0' (or pip install boostrl[tune])"
        ) from e
    return optuna


def _algo_class(algo: str):
    from . import algorithms

    if algo not in ALGOS:
        raise ValueError(f"unknown algorithm {algo!r}: use one of {', '.join(ALGOS)}")
    return algorithms._BY_ALGO[algo]


def sample_config(trial, algo: str) -> dict[str, Any]:
    """One configuration of ``algo`` drawn by ``trial`` (an optuna Trial):
    the tree settings (depth, bins, grow policy, learning rates, shared
    tree for the actor-critics) and the algorithm's own settings."""
    c: dict[str, Any] = {
        "max_depth": trial.suggest_int("max_depth", 2, 6),
        "n_bins": trial.suggest_categorical("n_bins", [16, 32, 64, 128, 256]),
        "grow_policy": trial.suggest_categorical("grow_policy", ["oblivious", "greedy"]),
        "policy_lr": trial.suggest_float("policy_lr", 1e-3, 1.0, log=True),
        "value_lr": trial.suggest_float("value_lr", 1e-3, 1.0, log=True),
        "gamma": trial.suggest_categorical("gamma", [0.9, 0.95, 0.98, 0.99, 0.995, 0.999]),
    }
    if algo in ("ppo", "a2c"):
        c["shared_tree"] = trial.suggest_categorical("shared_tree", [True, False])
        c["n_envs"] = trial.suggest_categorical("n_envs", [4, 8, 16])
        c["gae_lambda"] = trial.suggest_float("gae_lambda", 0.8, 1.0)
        c["ent_coef"] = trial.suggest_categorical("ent_coef", [0.0, 1e-4, 1e-3, 0.01, 0.03, 0.1])
    if algo == "ppo":
        c["n_steps"] = trial.suggest_categorical("n_steps", [16, 32, 64, 128, 256])
        c["batch_size"] = trial.suggest_categorical("batch_size", [64, 128, 256, 512])
        c["n_epochs"] = trial.suggest_int("n_epochs", 1, 20)
        c["clip_range"] = trial.suggest_categorical("clip_range", [0.1, 0.2, 0.3, 0.4])
    elif algo == "a2c":
        c["n_steps"] = trial.suggest_categorical("n_steps", [4, 8, 16, 32])
    else:  # awr, dqn: off-policy on a replay buffer
        c["batch_size"] = trial.suggest_categorical("batch_size", [128, 256, 512, 1024])
        c["learning_starts"] = trial.suggest_categorical("learning_starts", [0, 500, 1000, 5000])
        c["buffer_size"] = trial.suggest_categorical("buffer_size", [10000, 50000, 100000])
    if algo == "awr":
        c["train_freq"] = trial.suggest_categorical("train_freq", [250, 500, 1000, 2000])
        c["gradient_steps"] = trial.suggest_categorical("gradient_steps", [25, 50, 100, 150])
        c["beta"] = trial.suggest_float("beta", 0.01, 1.0, log=True)
    elif algo == "dqn":
        c["train_freq"] = trial.suggest_categorical("train_freq", [16, 64, 128, 256])
        c["gradient_steps"] = trial.suggest_categorical("gradient_steps", [10, 25, 50, 100])
        c["target_update_interval"] = trial.suggest_categorical("target_update_interval", [10, 50, 100, 500])
        c["exploration_fraction"] = trial.suggest_float("exploration_fraction", 0.05, 0.5)
        c["exploration_final_eps"] = trial.suggest_float("exploration_final_eps", 0.01, 0.1)
    return c


def _default_point(study, algo: str, env_or_factory, fixed: dict) -> dict[str, Any] | None:
    """The configuration the library would use (preset or defaults) as
    values of the search space, where each lies in it: enqueued first, so
    that the search starts from the defaults."""
    model = _make_model(algo, env_or_factory, fixed, seed=0)
    cfg = model.config
    model.env.close()

    class _Probe:
        """Records the distributions sample_config asks for."""

        def __init__(self):
            self.dists: dict[str, tuple] = {}

        def suggest_int(self, name, lo, hi, **_):
            self.dists[name] = ("range", lo, hi)
            return lo

        def suggest_float(self, name, lo, hi, **_):
            self.dists[name] = ("range", lo, hi)
            return lo

        def suggest_categorical(self, name, choices):
            self.dists[name] = ("choices", choices)
            return choices[0]

    probe = _Probe()
    sample_config(probe, algo)
    point: dict[str, Any] = {}
    for name, d in probe.dists.items():
        if name in fixed or name not in cfg:
            continue
        v = cfg[name]
        if d[0] == "choices":
            for ch in d[1]:
                if _text(ch) == _text(v) or (
                    not isinstance(ch, (bool, str)) and _num(v) is not None and math.isclose(ch, _num(v))
                ):
                    point[name] = ch
                    break
        else:
            x = _num(v)
            if x is not None and d[1] <= x <= d[2]:
                point[name] = int(x) if isinstance(d[1], int) and float(x).is_integer() else x
    return point or None


def _text(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v).lower()


def _num(v: Any) -> float | None:
    if isinstance(v, bool):
        return None
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def resolve_env(env: Any, imports: tuple[str, ...] = (), wrapper: str | None = None) -> Any:
    """What the algorithms take from a command-line ENV: an env id, or
    "module:function" made into that factory (called with no arguments for
    each env). ``imports`` are imported first (to register env ids, e.g.
    ``minigrid``); ``wrapper`` ("module:callable") wraps each env made."""
    for m in imports:
        importlib.import_module(m)
    base: Any = _load_callable(env) if isinstance(env, str) and ":" in env and "/" not in env.split(":")[0] else env
    if wrapper is None:
        return base
    wrap = _load_callable(wrapper)

    def factory():
        return wrap(_make_env(base))

    factory.__name__ = f"{_env_name(base)}+{getattr(wrap, '__name__', 'wrapper')}"
    return factory


def _load_callable(spec: str) -> Callable:
    mod, _, name = spec.partition(":")
    try:
        obj = importlib.import_module(mod)
        for part in name.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as e:
        raise ValueError(f"cannot load {spec!r} ({e}): give an env id or an importable 'module:function'") from e
    if not callable(obj):
        raise ValueError(f"{spec!r} is not callable: give an env factory 'module:function'")
    return obj


def _make_env(env_or_factory: Any):
    if isinstance(env_or_factory, str):
        import gymnasium

        return gymnasium.make(env_or_factory)
    return env_or_factory()


def _env_name(env_or_factory: Any) -> str:
    if isinstance(env_or_factory, str):
        return env_or_factory
    return getattr(env_or_factory, "__name__", type(env_or_factory).__name__)


def _make_model(algo: str, env_or_factory: Any, config: dict, seed: int):
    cls = _algo_class(algo)
    env = env_or_factory if isinstance(env_or_factory, str) else env_or_factory()
    config = {k: v for k, v in config.items() if k not in ("algo", "n_timesteps")}
    return cls(env, seed=seed, **config)


def evaluate(model, env_or_factory: Any, episodes: int, seed: int) -> float:
    """Mean return of ``episodes`` deterministic episodes of ``model`` on a
    fresh env, reset with seeds ``seed``, ``seed + 1``, ... (the same
    episodes for every configuration)."""
    env = _make_env(env_or_factory)
    total = 0.0
    try:
        for ep in range(episodes):
            obs, _ = env.reset(seed=seed + ep)
            done = False
            while not done:
                action, _ = model.predict(obs, deterministic=True)
                obs, r, term, trunc, _ = env.step(action)
                total += float(r)
                done = term or trunc
    finally:
        env.close()
    return total / episodes


def train_and_evaluate(
    algo: str,
    env_or_factory: Any,
    config: dict,
    seeds: tuple[int, ...],
    timesteps: int,
    n_evals: int = 1,
    eval_episodes: int = 10,
    report: Callable[[int, float], None] | None = None,
) -> tuple[float, list[float]]:
    """Trains one agent of ``config`` per seed for ``timesteps`` steps in
    ``n_evals`` chunks; after each chunk evaluates every agent
    (``eval_episodes`` episodes from reset seed ``10_000 * (seed + 1)``)
    and calls ``report(chunk, mean over seeds)``, which may raise to stop.
    Returns the final mean and the per-seed returns."""
    models = [_make_model(algo, env_or_factory, config, s) for s in seeds]
    try:
        per_seed: list[float] = []
        done = 0
        for k in range(n_evals):
            chunk = (timesteps * (k + 1)) // n_evals - done
            for m in models:
                m.learn(chunk, reset_num_timesteps=(k == 0))
            done += chunk
            per_seed = [evaluate(m, env_or_factory, eval_episodes, 10_000 * (s + 1)) for m, s in zip(models, seeds)]
            if report is not None:
                report(k, float(np.mean(per_seed)))
        return float(np.mean(per_seed)), per_seed
    finally:
        for m in models:
            m.env.close()


def tune(
    env_or_factory: Any,
    algo: str = "ppo",
    n_trials: int = 20,
    timesteps: int = 50_000,
    seeds: tuple[int, ...] = (100, 101),
    n_evals: int = 4,
    eval_episodes: int = 10,
    n_jobs: int = 1,
    storage: str | None = "sqlite:///boostrl-tune.db",
    study_name: str | None = None,
    sampler_seed: int = 0,
    fixed: dict | None = None,
    out: str | None = None,
    timeout: float | None = None,
    start_from_defaults: bool = True,
    verbose: int = 0,
) -> dict[str, Any]:
    """Tunes ``algo`` on ``env_or_factory`` (a Gymnasium env id or a function
    that makes an env) with Optuna; returns the best configuration (agent
    configuration keys with ``algo`` and ``n_timesteps``), which ``out``
    also receives as JSON.

    ``n_trials`` trials (more with a study that already has some: the
    study is continued), each training one agent per seed of ``seeds``
    (use seeds >= 100 and keep 0, 1, 2, ... for the final evaluation) for
    ``timesteps`` env steps, evaluated ``n_evals`` times (median pruning
    on these), ``eval_episodes`` episodes each. ``n_jobs`` trials run in
    parallel threads (the C calls release the GIL; the result then depends
    on their timing). ``storage``: an Optuna storage URL (None: in memory).
    ``fixed``: configuration keys set in every trial and not searched.
    ``start_from_defaults``: the first trial of a new study is the
    library's configuration for the env (its preset, else the defaults).
    """
    optuna = _optuna()
    algo = algo.lower()
    _algo_class(algo)
    seeds = tuple(int(s) for s in seeds)
    if not seeds:
        raise ValueError("seeds is empty: give at least one tuning seed (>= 100 keeps 0-2 for evaluation)")
    if timesteps < 1 or n_evals < 1 or eval_episodes < 1 or n_trials < 0:
        raise ValueError("timesteps, n_evals and eval_episodes must be >= 1 and n_trials >= 0")
    fixed = dict(fixed or {})
    name = study_name or f"{_env_name(env_or_factory)}-{algo}"
    if verbose < 2:
        optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        study_name=name,
        storage=storage,
        direction="maximize",
        sampler=optuna.samplers.TPESampler(seed=sampler_seed),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=0),
        load_if_exists=True,
    )
    if start_from_defaults and not study.trials:
        point = _default_point(study, algo, env_or_factory, fixed)
        if point:
            study.enqueue_trial(point, user_attrs={"defaults": True})

    def objective(trial) -> float:
        config = {**sample_config(trial, algo), **fixed}

        def report(k: int, value: float) -> None:
            trial.report(value, k)
            if verbose:
                print(f"trial {trial.number} eval {k + 1}/{n_evals}: {value:.3f}", file=sys.stderr)
            # Pruning saves the training still to come; after the last
            # evaluation there is none, so the trial completes.
            if k < n_evals - 1 and trial.should_prune():
                raise optuna.TrialPruned()

        t0 = time.perf_counter()
        value, per_seed = train_and_evaluate(
            algo, env_or_factory, config, seeds, timesteps, n_evals, eval_episodes, report
        )
        trial.set_user_attr("per_seed", per_seed)
        trial.set_user_attr("seconds", time.perf_counter() - t0)
        return value

    # Enqueued (waiting) trials run one at a time first: with n_jobs > 1 two
    # threads can take the same waiting trial from an RDB storage, and the
    # second then fails with "Cannot tell a COMPLETE trial".
    waiting = min(n_trials, len(study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.WAITING,))))
    if waiting and n_jobs != 1:
        study.optimize(objective, n_trials=waiting, n_jobs=1, timeout=timeout, catch=(ValueError,))
        n_trials -= waiting
    study.optimize(objective, n_trials=n_trials, n_jobs=n_jobs, timeout=timeout, catch=(ValueError,))
    try:
        best = study.best_trial
    except ValueError as e:
        raise RuntimeError(
            f"study {name!r} has no completed trial: raise n_trials or timesteps, or check the env"
        ) from e
    config = best_config(study, algo, timesteps, fixed)
    if out:
        write_config(config, out)
    if verbose:
        print(f"best trial {best.number}: {best.value:.3f} {config}", file=sys.stderr)
    return config


def compare(
    env_or_factory: Any,
    config: dict,
    seeds: tuple[int, ...] = (0, 1, 2),
    timesteps: int | None = None,
    eval_episodes: int = 10,
) -> dict[str, Any]:
    """The library's configuration (preset, else defaults) against
    ``config`` on ``seeds`` (keep them apart from the tuning seeds), each
    trained for ``timesteps`` (default: the config's ``n_timesteps``) and
    evaluated on the same episodes: ``{"default": ..., "tuned": ...}``,
    each ``{"mean", "std", "per_seed", "seconds"}``."""
    algo = str(config.get("algo", "ppo")).lower()
    steps = int(timesteps if timesteps is not None else config["n_timesteps"])
    result: dict[str, Any] = {"algo": algo, "timesteps": steps, "seeds": list(seeds)}
    for name, cfg in (("default", {}), ("tuned", config)):
        t0 = time.perf_counter()
        _, per_seed = train_and_evaluate(algo, env_or_factory, cfg, tuple(seeds), steps, 1, eval_episodes)
        result[name] = {
            "mean": float(np.mean(per_seed)),
            "std": float(np.std(per_seed)),
            "per_seed": per_seed,
            "seconds": time.perf_counter() - t0,
        }
    return result


def best_config(study, algo: str, timesteps: int, fixed: dict | None = None) -> dict[str, Any]:
    """The best trial's configuration as the config file holds it."""
    params = dict(study.best_trial.params)
    return {"algo": algo, "n_timesteps": int(timesteps), **params, **(fixed or {})}


def write_config(config: dict, path: str) -> None:
    """Writes ``config`` as the flat JSON object ``boostrl train --config``
    and ``boostrl.PPO(env, **config)`` read."""
    with open(path, "w", encoding="utf-8") as f:
        json.dump(config, f, indent=2)
        f.write("\n")


def load_config(path: str) -> dict[str, Any]:
    """A config file as keyword arguments of the algorithm class."""
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def parse_kv(items: list[str], what: str = "boostrl tune: --set") -> dict[str, str]:
    """KEY=VALUE strings as a dict of strings (the algorithm classes take
    hyper-parameters as strings too); a malformed item exits naming it."""
    out = {}
    for kv in items:
        k, eq, v = kv.partition("=")
        if not eq or not k:
            raise SystemExit(f"{what} {kv!r}: use KEY=VALUE")
        out[k] = v
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="boostrl tune",
        description="Tune a boostrl agent's hyper-parameters with Optuna (TPE sampler, median pruning).",
    )
    p.add_argument("env", help="Gymnasium env id, or an env factory 'module:function'")
    p.add_argument("--algo", default="ppo", choices=ALGOS)
    p.add_argument("--trials", type=int, default=20, help="trials to run (added to an existing study)")
    p.add_argument("--timesteps", type=int, default=None, help="env steps per agent of a trial (default 50000)")
    p.add_argument(
        "--seeds", default=None, help="tuning seeds, comma-separated (default 100,101; 0,1,2 with --compare)"
    )
    p.add_argument("--evals", type=int, default=4, help="evaluations per trial (pruning points)")
    p.add_argument("--eval-episodes", type=int, default=10)
    p.add_argument("--jobs", type=int, default=1, help="trials in parallel")
    p.add_argument("--storage", default="sqlite:///boostrl-tune.db", help="Optuna storage URL ('none': in memory)")
    p.add_argument("--study-name", default=None, help="default: ENV-ALGO")
    p.add_argument("--sampler-seed", type=int, default=0)
    p.add_argument("--timeout", type=float, default=None, help="stop starting trials after this many seconds")
    p.add_argument("--out", default="best.json", help="the best configuration (JSON)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="fixed setting, not searched")
    p.add_argument("--import", dest="imports", action="append", default=[], help="module to import first (minigrid)")
    p.add_argument("--wrapper", default=None, help="'module:callable' wrapping each env")
    p.add_argument(
        "--compare",
        metavar="FILE",
        default=None,
        help="tune nothing: train the library's configuration and FILE's on --seeds, print both returns",
    )
    p.add_argument("--no-defaults-trial", action="store_true", help="do not start from the library's configuration")
    p.add_argument("-v", "--verbose", action="count", default=1)
    p.add_argument("-q", "--quiet", action="store_true")
    a = p.parse_args(argv)
    a.timesteps_set = a.timesteps is not None
    if a.timesteps is None:
        a.timesteps = 50_000
    seeds_s = a.seeds or ("0,1,2" if a.compare else "100,101")
    try:
        seeds = tuple(int(s) for s in seeds_s.split(",") if s.strip())
    except ValueError:
        p.error(f"--seeds {seeds_s!r}: give integers separated by commas")
    try:
        env = resolve_env(a.env, tuple(a.imports), a.wrapper)
        t0 = time.perf_counter()
        if a.compare:
            result = compare(env, load_config(a.compare), seeds, a.timesteps if a.timesteps_set else None, a.eval_episodes)
            print(json.dumps(result))
            return 0
        config = tune(
            env,
            algo=a.algo,
            n_trials=a.trials,
            timesteps=a.timesteps,
            seeds=seeds,
            n_evals=a.evals,
            eval_episodes=a.eval_episodes,
            n_jobs=a.jobs,
            storage=None if a.storage.lower() == "none" else a.storage,
            study_name=a.study_name,
            sampler_seed=a.sampler_seed,
            fixed=parse_kv(a.set),
            out=a.out,
            timeout=a.timeout,
            start_from_defaults=not a.no_defaults_trial,
            verbose=0 if a.quiet else a.verbose,
        )
    except (ValueError, RuntimeError, ImportError, OSError, KeyError) as e:
        print(f"boostrl tune: {e}", file=sys.stderr)
        return 1
    print(json.dumps({"out": a.out, "seconds": round(time.perf_counter() - t0, 1), "config": config}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
