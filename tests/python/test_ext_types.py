"""The extension's shared pieces as each type uses them: struct dicts built
from field tables (agent stats, evaluation results), the arrays a method
returns (NativeEnv.step, Agent.act with and without extras), the integer
properties read through one getter, and errors raised from a C status."""

from __future__ import annotations

import numpy as np
import pytest

import boostrl
from boostrl import _core

STATS_INT = (
    "timesteps",
    "episodes",
    "updates",
    "ep_window",
    "epochs_done",
    "trees_added",
    "policy_trees",
    "value_trees",
)
STATS_FLOAT = (
    "progress",
    "ep_return_mean",
    "ep_return_std",
    "ep_length_mean",
    "policy_loss",
    "value_loss",
    "entropy",
    "approx_kl",
    "clip_fraction",
    "explained_variance",
    "log_std_mean",
    "policy_lr",
    "value_lr",
    "rollout_s",
    "update_s",
    "fps",
)


def _trained_agent():
    settings = {"n_envs": "4", "n_steps": "16", "batch_size": "32", "n_epochs": "3", "shared_tree": "false"}
    agent = _core.Agent("ppo", "CartPole-v1", 4, 0, [2], [0.0], [0.0], settings, 3)
    env = _core.NativeEnv("CartPole-v1", 4, 3)
    agent.learn_native(env, 4 * 16 * 5, True)
    return agent, env


def test_stats_dict_has_every_field_with_its_type_and_value():
    agent, _ = _trained_agent()
    s = agent.stats()
    assert sorted(s) == sorted(STATS_INT + STATS_FLOAT)
    for k in STATS_INT:
        assert type(s[k]) is int, k
    for k in STATS_FLOAT:
        assert type(s[k]) is float, k
    assert s["timesteps"] == 4 * 16 * 5 and s["updates"] == 5
    assert s["epochs_done"] == 3 and 0.0 < s["progress"] <= 1.0
    assert (s["policy_trees"], s["value_trees"]) == agent.n_trees
    assert s["trees_added"] == 2 * 3 * (4 * 16 // 32)  # both ensembles, 3 epochs, 2 minibatches


def test_evaluate_dict_and_int_properties():
    agent, env = _trained_agent()
    r = agent.evaluate_native(env, 6)
    assert list(r) == ["episodes", "mean_return", "std_return", "mean_length", "min_return", "max_return"]
    assert r["episodes"] == 6 and type(r["episodes"]) is int
    assert r["min_return"] <= r["mean_return"] <= r["max_return"]
    assert (agent.obs_dim, agent.act_dim, agent.mask_dim, agent.n_envs) == (4, 1, 2, 4)
    m = boostrl.Ensemble.from_bytes(agent.model_bytes(0))
    assert (m.n_features, m.n_outputs, m.n_cat_features) == (4, 2, 0)
    assert m.n_trees == agent.n_trees[0] and m.model_bytes > 0 and m._backend == 0


def test_step_and_act_return_the_arrays_they_fill():
    agent, _ = _trained_agent()
    env = _core.NativeEnv("CartPole-v1", 3, 1)
    obs = env.reset()
    assert obs.shape == (3, 4) and obs.dtype == np.float32 and np.abs(obs).max() > 0
    out = env.step(np.ones(3, np.float32))
    assert [a.dtype for a in out] == [np.float32, np.float32, np.bool_, np.bool_, np.float32]
    assert [a.shape for a in out] == [(3, 4), (3,), (3,), (3,), (3, 4)]
    assert np.all(out[1] == 1.0)  # CartPole's reward, written by the C call
    acts = agent.act(out[0], deterministic=True)
    assert isinstance(acts, np.ndarray) and acts.shape == (3, 1)
    a2, logp, values = agent.act(out[0], deterministic=True, extras=True)
    np.testing.assert_array_equal(a2, acts)
    assert logp.shape == values.shape == (3,) and np.all(logp <= 0) and np.any(values != 0)


def test_errors_come_from_the_c_status():
    agent, env = _trained_agent()
    with pytest.raises(ValueError, match="elements"):
        env.step(np.ones(5, np.float32))
    with pytest.raises(ValueError) as e:
        agent.set_threads(-5)
    assert e.value.status == "BRL_EINVAL"
    with pytest.raises(boostrl.FormatError):
        _core.Agent.from_bytes(b"not an agent")
    with pytest.raises(ValueError, match="policy"):
        agent.model_bytes(2)
