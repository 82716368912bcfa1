"""The evaluation protocol shared by every agent: the deterministic policy
over N episodes on 16 env copies reset with seeds seed + 10^9 + i, the
episodes spread over the copies as stable-baselines3's evaluate_policy
does (copy i runs (N + i) // 16 of them). boostrl's CLI and
boostrl.evaluate_policy implement the same protocol; this module serves
the agents without one (random, sb3) and makes the envs of each kind."""

from __future__ import annotations

import time

import numpy as np

EVAL_ENVS = 16
EVAL_SEED_OFFSET = 10**9


def make_kwargs(task) -> dict:
    """The keyword arguments of gym.make for `task`: Atari's RAM
    observations, and the task's episode cap (a TimeLimit truncation)
    where it has one. Every agent's training and evaluation envs are made
    with these (make_env)."""
    kwargs: dict = {}
    if task.kind == "atari":
        kwargs["obs_type"] = "ram"
    if task.max_episode_steps is not None:
        kwargs["max_episode_steps"] = int(task.max_episode_steps)
    return kwargs


def make_env(task, wrapper=None):
    """A Gymnasium env of `task` (make_kwargs: Atari's RAM observations,
    the episode cap), wrapped by `wrapper` (a callable) if given."""
    import gymnasium as gym

    if task.kind == "minigrid":
        import minigrid  # noqa: F401  (registers the ids)
    if task.kind == "atari":
        import ale_py

        gym.register_envs(ale_py)
    env = gym.make(task.env_id, **make_kwargs(task))
    return wrapper(env) if wrapper is not None else env


def make_vec(task, n, wrapper=None):
    import gymnasium as gym

    return gym.vector.SyncVectorEnv([lambda: make_env(task, wrapper) for _ in range(n)])


def run_episodes(act, venv, seed: int, n_episodes: int) -> list[float]:
    """Returns of n_episodes episodes of act(obs_batch) -> actions on venv
    (a Gymnasium vector env, reset with seed), spread as SB3 does. Works in
    either autoreset mode: a copy's return restarts at its episode's end."""
    n = venv.num_envs
    targets = np.array([(n_episodes + i) // n for i in range(n)])
    counts = np.zeros(n, dtype=np.int64)
    cur = np.zeros(n)
    rets: list[float] = []
    obs, _ = venv.reset(seed=seed)
    while (counts < targets).any():
        obs, r, term, trunc, _ = venv.step(act(obs))
        cur += np.asarray(r, dtype=np.float64)
        for i in np.flatnonzero(np.logical_or(term, trunc)):
            if counts[i] < targets[i]:
                rets.append(float(cur[i]))
                counts[i] += 1
            cur[i] = 0.0
    return rets


class Curve:
    """Learning-curve points: (env steps, training seconds, eval mean)."""

    def __init__(self) -> None:
        self.points: list[dict] = []
        self.eval_s = 0.0

    def add(self, steps: int, train_s: float, rets: list[float]) -> None:
        self.points.append(
            {"steps": int(steps), "train_s": round(float(train_s), 3), "mean": round(float(np.mean(rets)), 4)}
        )


def summary(rets: list[float]) -> dict:
    return {
        "eval_mean": round(float(np.mean(rets)), 4),
        "eval_std": round(float(np.std(rets)), 4),
        "eval_episodes": len(rets),
    }


def timer() -> float:
    return time.perf_counter()
