"""stable-baselines3 PPO hyper-parameters of the benchmark's neural baseline.

Source: rl-baselines3-zoo (DLR-RM/rl-baselines3-zoo), hyperparams/ppo.yml
at commit 208b6fdf3a9aa24de44b2e068c6e5f6a07d97fcc, copied as values (the
zoo's own n_timesteps dropped: the benchmark sets the budget, the same for
both agents). "lin_X" is a rate decaying linearly from X to 0 over
training; "normalize" wraps the envs in VecNormalize (observations and
rewards, or as a dict of VecNormalize's arguments says).

Where the zoo has no entry:
- LunarLander-v3: the zoo's LunarLander-v2 entry (same task, new version).
- (All nine MiniGrid tasks have entries: the zoo's MiniGrid defaults,
  FlatObsWrapper, with n_steps 512 for FourRooms and RedBlueDoors.)
  One deviation: rewards normalised but not observations. With the zoo's
  observation normalisation (MiniGrid 3.2, SB3 2.9), PPO on
  Empty-Random-5x5 got worse while it trained (training return 0.44-0.68
  at 15-61k steps, the deterministic policy 0.00 at 300k on seed 0; a
  random policy scores 0.31); rewards alone normalised, 0.96-0.97 from 15k
  steps (scripts/sb3_minigrid_normalize.py; docs/RESULTS.md).
- Atari RAM: the zoo tunes Atari on pixels only (CnnPolicy). Here: SB3's
  PPO defaults with 8 envs and observations normalised (RAM bytes are
  0-255), stated in docs/RESULTS.md as not zoo-tuned.
"""

from __future__ import annotations

_MINIGRID = {
    "env_wrapper": "minigrid.wrappers.FlatObsWrapper",
    "normalize": {"norm_obs": False},
    "n_envs": 8,
    "n_steps": 128,
    "batch_size": 64,
    "gae_lambda": 0.95,
    "gamma": 0.99,
    "n_epochs": 10,
    "ent_coef": 0.0,
    "learning_rate": 2.5e-4,
    "clip_range": 0.2,
}

ZOO = {
    "CartPole-v1": {
        "n_envs": 8, "n_steps": 32, "batch_size": 256, "gae_lambda": 0.8, "gamma": 0.98,
        "n_epochs": 20, "ent_coef": 0.0, "learning_rate": "lin_0.001", "clip_range": "lin_0.2",
    },
    "Acrobot-v1": {
        "normalize": True, "n_envs": 16, "n_steps": 256, "gae_lambda": 0.94, "gamma": 0.99,
        "n_epochs": 4, "ent_coef": 0.0,
    },
    "MountainCar-v0": {
        "normalize": True, "n_envs": 16, "n_steps": 16, "gae_lambda": 0.98, "gamma": 0.99,
        "n_epochs": 4, "ent_coef": 0.0,
    },
    "MountainCarContinuous-v0": {
        "normalize": True, "n_envs": 1, "batch_size": 256, "n_steps": 8, "gamma": 0.9999,
        "learning_rate": 7.77e-05, "ent_coef": 0.00429, "clip_range": 0.1, "n_epochs": 10,
        "gae_lambda": 0.9, "max_grad_norm": 5, "vf_coef": 0.19, "use_sde": True,
        "policy_kwargs": {"log_std_init": -3.29, "ortho_init": False},
    },
    "Pendulum-v1": {
        "n_envs": 4, "n_steps": 1024, "gae_lambda": 0.95, "gamma": 0.9, "n_epochs": 10,
        "ent_coef": 0.0, "learning_rate": 1e-3, "clip_range": 0.2, "use_sde": True,
        "sde_sample_freq": 4,
    },
    "LunarLander-v3": {
        "n_envs": 16, "n_steps": 1024, "batch_size": 64, "gae_lambda": 0.98, "gamma": 0.999,
        "n_epochs": 4, "ent_coef": 0.01,
    },
    "MiniGrid-FourRooms-v0": dict(_MINIGRID, n_steps=512),
    "MiniGrid-RedBlueDoors-6x6-v0": dict(_MINIGRID, n_steps=512),
}  # fmt: skip

ATARI_RAM = {"n_envs": 8, "normalize": {"norm_obs": True, "norm_reward": False}}


def hyperparams(task) -> tuple[dict, str]:
    """The settings of `task` and where they come from."""
    if task.name in ZOO:
        src = "rl-zoo3 ppo.yml" + (" (LunarLander-v2 entry)" if task.name == "LunarLander-v3" else "")
        return dict(ZOO[task.name]), src
    if task.kind == "minigrid":
        return dict(_MINIGRID), "rl-zoo3 ppo.yml (MiniGrid entry)"
    if task.kind == "atari":
        return dict(ATARI_RAM), "SB3 PPO defaults, 8 envs, observations normalised (no zoo entry for RAM)"
    raise KeyError(f"no stable-baselines3 settings for {task.name}")
