"""The boostrl and random agents of the benchmark; each returns one run's
result (the stable-baselines3 baseline is sb3_agent, run in its own venv).

boostrl runs the native `boostrl train` command for the envs it has in C
(its --eval-every learning curve and final evaluation follow the same
protocol as evaluation.py), and the Python API (boostrl.PPO with the
library's preset for the env) for Gymnasium-only envs: MiniGrid through
MiniGridCategorical, Atari RAM bytes as numeric features."""

from __future__ import annotations

import csv
import json
import os
import subprocess
from pathlib import Path

from . import evaluation as ev

ROOT = Path(__file__).resolve().parents[2]


def boostrl_cli() -> str:
    """The boostrl command: $BRL_CLI, else the one beside $BRL_LIB, else
    build/boostrl of the repository."""
    lib = os.environ.get("BRL_LIB")
    beside = os.path.join(os.path.dirname(lib), "boostrl") if lib else ""
    path = os.environ.get("BRL_CLI") or (beside if os.access(beside, os.X_OK) else str(ROOT / "build" / "boostrl"))
    if not os.access(path, os.X_OK):
        raise FileNotFoundError(f"no boostrl command at {path}: build it (make build) or set BRL_CLI")
    return path


def run_native(task, seed: int, steps: int, work: Path) -> dict:
    every = max(1, steps // task.curve_points)
    cmd = [
        boostrl_cli(), "train", task.env_id, "--seed", str(seed), "--timesteps", str(steps),
        "--out", str(work), "--force", "--json", "--eval-every", str(every),
        "--eval-episodes", str(task.eval_episodes),
    ]  # fmt: skip
    t0 = ev.timer()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = ev.timer() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"boostrl train failed ({proc.returncode}): {proc.stderr.strip()[-2000:]}")
    j = json.loads(proc.stdout.strip().splitlines()[-1])
    curve = []
    with open(work / "progress.csv", newline="") as f:
        for row in csv.DictReader(f):
            if row.get("eval_mean_return"):
                curve.append(
                    {"steps": int(row["timesteps"]), "train_s": round(float(row["train_s"]), 3),
                     "mean": round(float(row["eval_mean_return"]), 4)}
                )  # fmt: skip
    return {
        "env_steps": int(j["timesteps"]),
        "wall_s": round(wall, 3),
        "train_s": round(float(j["train_s"]), 3),
        "trees": int(j["trees"]),
        "eval_mean": round(float(j["eval_mean_return"]), 4),
        "eval_std": round(float(j["eval_std_return"]), 4),
        "eval_episodes": int(j["eval_episodes"]),
        "curve": curve,
        "command": " ".join(["boostrl"] + cmd[1:]).replace(str(work), "DIR"),
        "impl": "boostrl train (C)",
    }


def python_model(task, seed: int, atari_ram: str | None = None, **overrides):
    """(boostrl.PPO of `task` with the library's preset, the env wrapper
    its evaluations need or None); overrides (KEY=VALUE hyper-parameters)
    replace the preset's values and atari_ram (an Atari task's extra RAM
    features: boostrl.wrappers.AtariRam's none, bits or categorical; None:
    the raw bytes) chooses the observations (scripts/tune_task.py)."""
    import functools

    import boostrl

    if task.kind == "minigrid":
        from boostrl.wrappers import MiniGridCategorical

        return boostrl.PPO(ev.make_env(task, MiniGridCategorical), seed=seed, **overrides), MiniGridCategorical
    if atari_ram is not None and task.kind != "atari":
        raise ValueError(f"atari_ram={atari_ram!r} is for Atari tasks, not {task.name}")
    if task.kind == "atari":
        from boostrl.wrappers import AtariRam

        game = task.env_id.split("/")[1].split("-")[0]
        wrapper = None if atari_ram is None else functools.partial(AtariRam, extra=atari_ram)
        return boostrl.PPO(ev.make_env(task, wrapper), seed=seed, preset=f"{game}-ram-v5", **overrides), wrapper
    return boostrl.PPO(task.env_id, seed=seed, **overrides), None


def run_python(task, seed: int, steps: int, work: Path, make_model=None) -> dict:
    """boostrl through the Python API; make_model(task, seed) -> (model,
    wrapper) replaces python_model (scripts/tune_task.py)."""
    import boostrl
    from boostrl.callbacks import BaseCallback
    from boostrl.vec_env import GymVectorAdapter

    t0 = ev.timer()
    model, wrapper = (make_model or python_model)(task, seed)
    curve = ev.Curve()
    every = max(1, steps // task.curve_points)

    def evaluate(n):
        venv = GymVectorAdapter(ev.make_vec(task, ev.EVAL_ENVS, wrapper))
        venv.seed(seed + ev.EVAL_SEED_OFFSET)
        try:
            rets, _ = boostrl.evaluate_policy(model, venv, n_eval_episodes=n, return_episode_rewards=True)
        finally:
            venv.close()
        return [float(r) for r in rets]

    class Points(BaseCallback):
        next_at = every

        def _on_step(self):
            return True

        def _on_rollout_end(self):
            if self.next_at <= self.model.num_timesteps < steps:  # the end: the final evaluation
                self.next_at += every
                t = ev.timer()
                curve.add(self.model.num_timesteps, t - t0 - curve.eval_s, evaluate(task.curve_episodes))
                curve.eval_s += ev.timer() - t

    model.learn(steps, callback=Points())
    train_s = ev.timer() - t0 - curve.eval_s
    rets = evaluate(task.eval_episodes)
    curve.add(model.num_timesteps, train_s, rets)
    shared = str(model.config.get("shared_tree", "true")).lower() in ("1", "true")
    pt, vt = model.n_trees
    return {
        "env_steps": int(model.num_timesteps),
        "wall_s": round(ev.timer() - t0, 3),
        "train_s": round(train_s, 3),
        "trees": int(pt if shared else pt + vt),
        **ev.summary(rets),
        "curve": curve.points,
        "impl": "boostrl.PPO (Python API, library preset)",
    }


def run_boostrl(task, seed: int, steps: int, work: Path) -> dict:
    if task.kind == "native":
        return run_native(task, seed, steps, work)
    return run_python(task, seed, steps, work)


def run_random(task, seed: int, steps: int, work: Path) -> dict:
    """Uniformly random actions: the normalised score's 0 (no training;
    the runner names these runs with 0 steps, whatever the budget)."""
    t0 = ev.timer()
    venv = ev.make_vec(task, ev.EVAL_ENVS)
    venv.action_space.seed(seed)
    try:
        rets = ev.run_episodes(lambda obs: venv.action_space.sample(), venv, seed + ev.EVAL_SEED_OFFSET,
                               task.eval_episodes)  # fmt: skip
    finally:
        venv.close()
    return {
        "env_steps": 0,
        "wall_s": round(ev.timer() - t0, 3),
        "train_s": 0.0,
        "trees": None,
        **ev.summary(rets),
        "curve": [],
        "impl": "uniform random actions",
    }
