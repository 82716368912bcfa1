"""The neural baseline: stable-baselines3's PPO with an MLP and rl-zoo3's
settings (zoo_ppo), on the same task, seed, budget and evaluation protocol
as boostrl. Runs in .venv-sb3 (torch, stable-baselines3), one torch thread
(boostrl's runs use one thread too)."""

from __future__ import annotations

from pathlib import Path

from . import evaluation as ev
from .zoo_ppo import hyperparams


def _schedule(v):
    if isinstance(v, str) and v.startswith("lin_"):
        x = float(v[4:])
        return lambda progress_remaining: progress_remaining * x
    return v


def _wrapper(spec):
    if spec is None:
        return None
    import importlib

    mod, _, name = spec.rpartition(".")
    return getattr(importlib.import_module(mod), name)


def run_sb3(task, seed: int, steps: int, work: Path) -> dict:
    import torch
    from stable_baselines3 import PPO
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize

    torch.set_num_threads(1)
    hp, source = hyperparams(task)
    wrapper = _wrapper(hp.pop("env_wrapper", None))
    norm = hp.pop("normalize", False)
    n_envs = hp.pop("n_envs", 1)
    for k in ("learning_rate", "clip_range"):
        if k in hp:
            hp[k] = _schedule(hp[k])
    t0 = ev.timer()
    venv = DummyVecEnv([lambda: ev.make_env(task, wrapper) for _ in range(n_envs)])
    venv.seed(seed)
    if norm:
        kw = norm if isinstance(norm, dict) else {}
        venv = VecNormalize(venv, **kw)
    model = PPO("MlpPolicy", venv, seed=seed, device="cpu", verbose=0, **hp)
    curve = ev.Curve()
    every = max(1, steps // task.curve_points)

    def act(obs):
        if isinstance(venv, VecNormalize):
            obs = venv.normalize_obs(obs)
        return model.predict(obs, deterministic=True)[0]

    def evaluate(n):
        eval_env = ev.make_vec(task, ev.EVAL_ENVS, wrapper)
        try:
            return ev.run_episodes(act, eval_env, seed + ev.EVAL_SEED_OFFSET, n)
        finally:
            eval_env.close()

    class Points(BaseCallback):
        next_at = every

        def _on_step(self):
            return True

        def _on_rollout_end(self):
            if self.next_at <= self.num_timesteps < steps:  # the end: the final evaluation
                self.next_at += every
                t = ev.timer()
                curve.add(self.num_timesteps, t - t0 - curve.eval_s, evaluate(task.curve_episodes))
                curve.eval_s += ev.timer() - t

    model.learn(steps, callback=Points())
    train_s = ev.timer() - t0 - curve.eval_s
    rets = evaluate(task.eval_episodes)
    curve.add(model.num_timesteps, train_s, rets)
    import stable_baselines3

    return {
        "env_steps": int(model.num_timesteps),
        "wall_s": round(ev.timer() - t0, 3),
        "train_s": round(train_s, 3),
        "trees": None,
        "parameters": int(sum(p.numel() for p in model.policy.parameters())),
        **ev.summary(rets),
        "curve": curve.points,
        "impl": f"stable-baselines3 {stable_baselines3.__version__} PPO MlpPolicy, torch {torch.__version__}",
        "hyperparameters": {k: (v if not callable(v) else "schedule") for k, v in hyperparams(task)[0].items()},
        "hyperparameters_source": source,
    }
