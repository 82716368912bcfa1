#!/usr/bin/env python3
"""Why the benchmark's SB3 MiniGrid baseline normalises rewards but not
observations (scripts/brlbench/zoo_ppo.py): stable-baselines3 PPO with
rl-zoo3's MiniGrid settings (FlatObsWrapper, 8 envs x 128 steps, batch 64,
10 epochs, lr 2.5e-4) on one task, with VecNormalize of observations and
rewards (the zoo), of observations only, of rewards only, or none; prints
the mean return of the last 100 training episodes every 15,360 steps.

    .venv-sb3/bin/python scripts/sb3_minigrid_normalize.py zoo|obs|reward|none \
        [--env MiniGrid-Empty-Random-5x5-v0] [--seed 0] [--steps 61440]
"""

from __future__ import annotations

import argparse

import gymnasium as gym
import minigrid  # noqa: F401  (registers the ids)
import numpy as np
import torch
from minigrid.wrappers import FlatObsWrapper
from stable_baselines3 import PPO
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize

NORM = {"zoo": {}, "obs": {"norm_reward": False}, "reward": {"norm_obs": False}, "none": None}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("variant", choices=sorted(NORM))
    p.add_argument("--env", default="MiniGrid-Empty-Random-5x5-v0")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--steps", type=int, default=61440)
    a = p.parse_args()
    torch.set_num_threads(1)
    venv = DummyVecEnv([lambda: Monitor(FlatObsWrapper(gym.make(a.env))) for _ in range(8)])
    if NORM[a.variant] is not None:
        venv = VecNormalize(venv, **NORM[a.variant])
    hp = dict(n_steps=128, batch_size=64, gae_lambda=0.95, gamma=0.99, n_epochs=10, ent_coef=0.0,
              learning_rate=2.5e-4, clip_range=0.2)  # fmt: skip
    model = PPO("MlpPolicy", venv, seed=a.seed, device="cpu", **hp)
    while model.num_timesteps < a.steps:
        model.learn(15360, reset_num_timesteps=False)
        rets = [e["r"] for e in model.ep_info_buffer]
        lens = [e["l"] for e in model.ep_info_buffer]
        print(f"{a.variant} {model.num_timesteps} steps: training return {np.mean(rets):.3f}, length {np.mean(lens):.1f}")


if __name__ == "__main__":
    main()
