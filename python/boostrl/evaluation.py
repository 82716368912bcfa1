"""evaluate_policy, as stable-baselines3's: mean and std of the episode
returns of any model with SB3's ``predict`` (episodes spread over the env
copies so that short episodes are not favoured)."""

from __future__ import annotations

import numpy as np


def _is_boostrl(model) -> bool:
    from .algorithms import BaseAlgorithm

    return isinstance(model, BaseAlgorithm)


def _as_vec_env(env):
    """env as an SB3-style VecEnv: an id (one copy), a Gymnasium env, a
    Gymnasium vector env with same-step autoreset, or a VecEnv."""
    from .common.env_util import make_vec_env
    from .common.vec_env import DummyVecEnv, autoreset_mode, is_vec_env, wrap_gym_vector

    if isinstance(env, str):
        return make_vec_env(env, 1)
    if is_vec_env(env):
        return env
    import gymnasium

    if isinstance(env, gymnasium.vector.VectorEnv):
        if autoreset_mode(env) != "same_step":
            raise ValueError(
                f"evaluate_policy of a model without boostrl's fast path needs same-step autoreset; this vector "
                f"env's mode is {autoreset_mode(env)}: make it with autoreset_mode=AutoresetMode.SAME_STEP "
                "(Gymnasium >= 1.1), or pass a Gymnasium env or an SB3 VecEnv"
            )
        return wrap_gym_vector(env)
    return DummyVecEnv.from_envs([env])


def _targets(n_eval_episodes: int, n: int) -> np.ndarray:
    return np.array([(n_eval_episodes + i) // n for i in range(n)], dtype=int)


def _evaluate_boostrl(model, env, n_eval_episodes: int, deterministic: bool):
    """The fast path: flattened observations straight to the C agent."""
    from .vec_env import make_adapter

    venv, _ = make_adapter(env, 1)
    n = venv.num_envs
    targets = _targets(n_eval_episodes, n)
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
    return rets, lens


def _evaluate_predict(model, env, n_eval_episodes: int, deterministic: bool, render: bool, callback):
    """SB3's loop over model.predict on an SB3-style VecEnv; an episode's
    return is info["episode"]["r"] where a Monitor / RecordEpisodeStatistics
    wrapper reports it, else the sum of the rewards."""
    venv = _as_vec_env(env)
    n = venv.num_envs
    targets = _targets(n_eval_episodes, n)
    counts = np.zeros(n, int)
    cur_ret = np.zeros(n)
    cur_len = np.zeros(n, int)
    rets, lens = [], []
    obs = venv.reset()
    states = None
    starts = np.ones(n, bool)
    while (counts < targets).any():
        actions, states = model.predict(obs, state=states, episode_start=starts, deterministic=deterministic)
        obs, r, dones, infos = venv.step(actions)
        cur_ret += np.asarray(r, np.float64)
        cur_len += 1
        for i in range(n):
            if counts[i] >= targets[i]:
                continue
            if callback is not None:
                callback(locals(), globals())
            if dones[i]:
                ep = infos[i].get("episode") if isinstance(infos[i], dict) else None
                if isinstance(ep, dict) and "r" in ep:
                    rets.append(float(ep["r"]))
                    lens.append(int(ep["l"]))
                else:
                    rets.append(float(cur_ret[i]))
                    lens.append(int(cur_len[i]))
                counts[i] += 1
        cur_ret[dones] = 0.0
        cur_len[dones] = 0
        starts = np.asarray(dones, bool)
        if render:
            venv.render()
    return rets, lens


def evaluate_policy(
    model,
    env,
    n_eval_episodes: int = 10,
    deterministic: bool = True,
    render: bool = False,
    callback=None,
    reward_threshold: float | None = None,
    return_episode_rewards: bool = False,
    warn: bool = True,
):
    """Mean and std of the returns of ``n_eval_episodes`` episodes of
    ``model`` (a boostrl algorithm, or any object with SB3's ``predict``) on
    ``env`` (an env id, a Gymnasium env or vector env, or an SB3-style
    VecEnv such as ``model.get_env()``); with ``return_episode_rewards``,
    the lists of returns and lengths. ``reward_threshold``: an
    ``AssertionError`` when the mean return is below it. ``callback(locals,
    globals)`` runs after each step of each env, as SB3's; ``warn`` is
    accepted for SB3's signature. boostrl models
    without ``render`` and ``callback`` act through the C agent directly."""
    if n_eval_episodes < 1:
        raise ValueError(f"n_eval_episodes is {n_eval_episodes}: evaluate at least one episode")
    if _is_boostrl(model) and not render and callback is None:
        rets, lens = _evaluate_boostrl(model, env, n_eval_episodes, deterministic)
    else:
        rets, lens = _evaluate_predict(model, env, n_eval_episodes, deterministic, render, callback)
    mean, std = float(np.mean(rets)), float(np.std(rets))
    if reward_threshold is not None:
        assert mean >= reward_threshold, f"mean reward below threshold: {mean:.2f} < {reward_threshold:.2f}"
    if return_episode_rewards:
        return rets, lens
    return mean, std
