"""Results of the Python algorithms (docs/RESULTS.md, "Python").

    python scripts/python_results.py cartpole [--seeds 0 1 2]
    python scripts/python_results.py pendulum [--seeds 0 1 2]
    python scripts/python_results.py timing
    python scripts/python_results.py cli [--seeds 0 1 2]   # boostrl train, for comparison

Evaluation: the deterministic policy over 100 episodes on 16 copies of the
Gymnasium env seeded seed + 10^9 (episodes spread as SB3's evaluate_policy).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
import time

import gymnasium as gym
import numpy as np

import boostrl
from boostrl.envs import NativeVecEnv
from boostrl.vec_env import GymVectorAdapter

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def evaluate(model, env_id, seed, n=100):
    venv = GymVectorAdapter(gym.make_vec(env_id, num_envs=16, vectorization_mode="sync"))
    venv.seed(seed + 10**9)
    rets, _ = boostrl.evaluate_policy(model, venv, n_eval_episodes=n, return_episode_rewards=True)
    return float(np.mean(rets)), float(np.std(rets))


def run(env_id, seed, env=None, total=None):
    t = time.perf_counter()
    model = boostrl.PPO(env if env is not None else env_id, seed=seed)
    total = total or int(model.config["n_timesteps"])
    model.learn(total)
    wall = time.perf_counter() - t
    m, s = evaluate(model, env_id, seed)
    tm = model.timing
    return {
        "seed": seed,
        "steps": model.num_timesteps,
        "train_s": round(wall, 2),
        "trees": model.n_trees[0],
        "eval": f"{m:.1f} +- {s:.1f}",
        "ep_rew_mean": round(model.ep_rew_mean(), 1),
        "env_share": round(tm["env_s"] / tm["learn_s"], 3),
        "update_share": round(tm["update_s"] / tm["learn_s"], 3),
        "boostrl_us_per_vec_step": round(1e6 * tm["agent_s"] / tm["steps"], 1),
    }


def cli(env_id, seed):
    with tempfile.TemporaryDirectory() as d:
        out = subprocess.run(
            [os.path.join(ROOT, "build", "boostrl"), "train", env_id, "--seed", str(seed), "--out", d, "--json"],
            capture_output=True, text=True, check=True,
        ).stdout.strip().splitlines()[-1]
        return json.loads(out)


def timing(seed=0):
    """8 Gymnasium CartPole envs; once the policy holds >= 1000 trees, the
    time of boostrl's own work per vector step (collect + action
    conversion + observe) and the share of learn() inside env.step."""
    model = boostrl.PPO("CartPole-v1", seed=seed, n_envs=8, n_steps=64, batch_size=256, n_epochs=4)
    while model.n_trees[0] < 1000:
        model.learn(8 * 64 * 10, reset_num_timesteps=False)
    trees = model.n_trees[0]
    for k in model.timing:
        model.timing[k] = 0 if k == "steps" else 0.0
    model.learn(8 * 64 * 10, reset_num_timesteps=False)
    tm = dict(model.timing)
    res = {
        "trees_at_start": trees,
        "trees_at_end": model.n_trees[0],
        "boostrl_us_per_vec_step": round(1e6 * tm["agent_s"] / tm["steps"], 1),
        "env_step_us_per_vec_step": round(1e6 * tm["env_s"] / tm["steps"], 1),
        "env_share_of_learn": round(tm["env_s"] / tm["learn_s"], 3),
        "update_share_of_learn": round(tm["update_s"] / tm["learn_s"], 3),
    }
    # Per-step distribution (the machine is shared: min and median).
    agent, venv, spec = model._agent, model.env, model._action
    obs, masks = model._last_obs, model._last_masks
    own, env_t = [], []
    perf = time.perf_counter
    for _ in range(2000):
        t0 = perf()
        acts = agent.collect(obs, masks)
        ea = spec.to_env(acts)
        t1 = perf()
        obs, masks, r, te, tr, fin, valid, _ = venv.step(ea)
        t2 = perf()
        agent.observe(r, te, tr, fin)
        t3 = perf()
        own.append(t1 - t0 + t3 - t2)
        env_t.append(t2 - t1)
        if agent.rollout_full():
            agent.update(obs)
    own, env_t = np.array(own) * 1e6, np.array(env_t) * 1e6
    res["own_us_min_median"] = [round(own.min(), 1), round(float(np.median(own)), 1)]
    res["env_us_min_median"] = [round(env_t.min(), 1), round(float(np.median(env_t)), 1)]
    x = np.ascontiguousarray(obs)
    ts = []
    for _ in range(2000):
        t = perf()
        agent.act(x)
        ts.append(perf() - t)
    ts = np.array(ts) * 1e6
    res["act_only_us_min_median"] = [round(ts.min(), 1), round(float(np.median(ts)), 1)]
    return res


def minigrid(env_id, seed, max_steps, target=0.9):
    """PPO with MiniGridCategorical until the mean training return of the
    last 100 episodes reaches target (or max_steps)."""
    import minigrid as _  # noqa: F401

    from boostrl.callbacks import BaseCallback
    from boostrl.wrappers import MiniGridCategorical

    class Stop(BaseCallback):
        done_at = None

        def _on_rollout_end(self):
            if len(self.model.ep_info_buffer) >= 100 and self.model.ep_rew_mean() >= target:
                self.done_at = self.model.num_timesteps

        def _on_step(self):
            return self.done_at is None

    t = time.perf_counter()
    model = boostrl.PPO(MiniGridCategorical(gym.make(env_id)), seed=seed)
    cb = Stop()
    model.learn(max_steps, callback=cb)
    wall = time.perf_counter() - t
    ev = MiniGridCategorical(gym.make(env_id))
    evals = {}
    for det in (True, False):
        rets = []
        for i in range(100):
            o, _ = ev.reset(seed=seed + 10**9 + i)
            done, ret = False, 0.0
            while not done:
                a, _ = model.predict(o, deterministic=det)
                o, r, te, tr, _ = ev.step(int(a))
                ret += r
                done = te or tr
            rets.append(ret)
        evals[det] = round(float(np.mean(rets)), 3)
    tm = model.timing
    return {
        "env": env_id, "seed": seed, "reached_at": cb.done_at, "steps": model.num_timesteps,
        "wall_s": round(wall, 1), "train_return": round(model.ep_rew_mean(), 3),
        "eval_deterministic": evals[True], "eval_stochastic": evals[False], "trees": model.n_trees[0],
        "env_share": round(tm["env_s"] / tm["learn_s"], 3),
    }


def main():
    p = argparse.ArgumentParser()
    p.add_argument("what", choices=["cartpole", "cartpole-native", "pendulum", "timing", "cli", "minigrid"])
    p.add_argument("--max-steps", type=int, default=1_000_000)
    p.add_argument("--seeds", type=int, nargs="*", default=[0, 1, 2])
    p.add_argument("--env", default="CartPole-v1")
    a = p.parse_args()
    if a.what == "timing":
        print(json.dumps(timing()))
        return
    for s in a.seeds:
        if a.what == "cartpole":
            r = run("CartPole-v1", s)
        elif a.what == "cartpole-native":
            r = run("CartPole-v1", s, env=NativeVecEnv("CartPole-v1", 16, seed=s))
        elif a.what == "minigrid":
            r = minigrid(a.env, s, a.max_steps)
        elif a.what == "pendulum":
            r = run("Pendulum-v1", s)
        else:
            r = cli(a.env, s)
        print(json.dumps(r), flush=True)


if __name__ == "__main__":
    main()
