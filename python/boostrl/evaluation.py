"""evaluate_policy, as stable-baselines3's (episodes spread over the copies
so that short episodes are not favoured)."""

from __future__ import annotations

import numpy as np


def evaluate_policy(model, env, n_eval_episodes: int = 10, deterministic: bool = True, return_episode_rewards: bool = False):
    """Mean and std of the episode returns of model on env (an env id, a
    Gymnasium env or vector env, or an SB3 VecEnv); with
    return_episode_rewards, the lists of returns and lengths."""
    from .vec_env import make_adapter

    venv, _ = make_adapter(env, 1)
    n = venv.num_envs
    targets = np.array([(n_eval_episodes + i) // n for i in range(n)])
    counts = np.zeros(n, int)
    cur_ret = np.zeros(n)
    cur_len = np.zeros(n, int)
    rets, lens = [], []
    obs, masks = venv.reset()
    while (counts < targets).any():
        acts = model._agent.act(obs, masks=masks, deterministic=deterministic)
        obs, masks, r, te, tr, _, valid, _ = venv.step(model._action.to_env(acts))
        cur_ret += np.where(valid, r, 0.0)
        cur_len += valid
        for i in np.flatnonzero((te | tr) & valid):
            if counts[i] < targets[i]:
                rets.append(float(cur_ret[i]))
                lens.append(int(cur_len[i]))
                counts[i] += 1
            cur_ret[i] = 0.0
            cur_len[i] = 0
    if return_episode_rewards:
        return rets, lens
    return float(np.mean(rets)), float(np.std(rets))
