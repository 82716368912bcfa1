"""Gymnasium vector envs in next-step autoreset mode (Gymnasium 1.x's
default): the step that only resets an ended episode is passed to the agent
as no transition (valid = 0), so it carries no gradient and ends no
episode."""

from __future__ import annotations

import numpy as np
import pytest

gym = pytest.importorskip("gymnasium")
from gymnasium import spaces  # noqa: E402

import boostrl  # noqa: E402
from boostrl.vec_env import GymVectorAdapter, ListVecEnv  # noqa: E402

L = 8  # steps of every toy episode


class Toy(gym.Env):
    """x drifts with the action; every episode lasts L steps and ends
    alternately terminated and truncated."""

    def __init__(self) -> None:
        self.observation_space = spaces.Box(-np.inf, np.inf, (2,), np.float32)
        self.action_space = spaces.Discrete(2)
        self.episode = -1

    def _obs(self):
        return np.array([self.x, self.k / L], np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.x = float(self.np_random.normal() * 0.5)
        self.k = 0
        self.episode += 1
        return self._obs(), {}

    def step(self, action):
        self.x += (0.3 if int(action) == 1 else -0.2) + 0.1 * float(self.np_random.normal())
        self.k += 1
        end = self.k >= L
        te = end and self.episode % 2 == 0
        tr = end and self.episode % 2 == 1
        r = 1.0 if self.x > 0 else -0.5 * self.x
        return self._obs(), r, te, tr, {}


KW = dict(seed=3, batch_size=4, n_epochs=2, policy_lr_end=0, value_lr_end=0, n_threads=1)
UPDATES = 6


def _next_step_model(algo):
    venv = gym.vector.SyncVectorEnv([Toy])
    model = algo(venv, n_steps=L + 1, **KW)
    assert isinstance(model.env, GymVectorAdapter) and not model.env.same_step
    return model.learn(UPDATES * (L + 1))


def _same_step_reference(algo):
    """The same transitions without the reset-only rows: a same-step loop
    over the same env, rollouts of L steps. At each episode end it draws
    (and drops) the action the next-step run samples at its reset-only step
    before its update, so that both use the agent's generator alike."""
    model = algo(ListVecEnv([Toy()]), n_steps=L, **KW)
    agent, venv = model._agent, model.env
    agent.set_total_timesteps(UPDATES * L)
    venv.seed(model.seed)
    obs, _ = venv.reset()
    agent.reset_episodes()
    while agent.stats()["updates"] < UPDATES:
        acts = agent.collect(obs)
        obs, _, rew, term, trunc, final, _, _ = venv.step(model._action.to_env(acts))
        agent.observe(rew, term, trunc, final)
        if (term | trunc).any():
            agent.act(final, deterministic=False)
        if agent.rollout_full():
            agent.update(obs)
    return model


@pytest.mark.parametrize("algo", [boostrl.PPO, boostrl.A2C])
def test_next_step_trains_as_without_the_reset_rows(algo):
    a = _next_step_model(algo)
    b = _same_step_reference(algo)
    sa, sb = a._agent.stats(), b._agent.stats()
    assert sa["updates"] == sb["updates"] == UPDATES
    assert a.n_trees == b.n_trees and a.n_trees[0] > 0
    assert a._agent.model_bytes(0) == b._agent.model_bytes(0)
    assert a._agent.model_bytes(1) == b._agent.model_bytes(1)
    # True episode count: UPDATES rollouts of L transitions, one episode each.
    assert sa["episodes"] == sb["episodes"] == UPDATES
    assert sa["ep_length_mean"] == L
    assert sa["ep_return_mean"] == sb["ep_return_mean"]
    assert [e["l"] for e in a.ep_info_buffer] == [L] * UPDATES


class Counted(gym.Wrapper):
    """Counts the episodes the env really ends, and their lengths."""

    def __init__(self, env):
        super().__init__(env)
        self.lengths: list[int] = []
        self.k = 0

    def step(self, action):
        out = super().step(action)
        self.k += 1
        if out[2] or out[3]:
            self.lengths.append(self.k)
            self.k = 0
        return out

    def reset(self, **kw):
        self.k = 0
        return super().reset(**kw)


@pytest.mark.parametrize(
    "algo, kw",
    [
        (boostrl.PPO, dict(n_steps=64, batch_size=64, n_epochs=1)),
        (boostrl.DQN, dict(train_freq=16, learning_starts=64, batch_size=32)),
    ],
)
def test_next_step_episode_count_is_true(algo, kw):
    """CartPole through Gymnasium's SyncVectorEnv (next-step): the agent's
    episode count and lengths are the env's own, not one more one-step
    episode per reset."""
    venv = gym.vector.SyncVectorEnv([lambda: Counted(gym.make("CartPole-v1")) for _ in range(3)])
    model = algo(venv, seed=0, n_threads=1, **kw).learn(3 * 64 * 3)
    lengths = sorted(n for w in venv.envs for n in w.lengths)
    assert 10 < len(lengths) <= 100  # all in the agent's window of 100
    s = model._agent.stats()
    assert s["episodes"] == len(lengths)
    assert s["ep_length_mean"] == pytest.approx(np.mean(lengths))
    assert sorted(e["l"] for e in model.ep_info_buffer) == lengths
