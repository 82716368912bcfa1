"""The native types used from several Python threads, and one reading of
observations for acting and explaining (boostrl._core.Agent / NativeEnv)."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from boostrl import _core

_SETTINGS = {"n_envs": "2", "n_steps": "32", "batch_size": "32", "n_epochs": "2", "n_threads": "1"}


def _cartpole_agent(seed: int = 3) -> _core.Agent:
    return _core.Agent("ppo", "CartPole-v1", 4, 0, [2], [0.0], [0.0], dict(_SETTINGS), seed)


def _learn_alone(total: int) -> bytes:
    agent = _cartpole_agent()
    agent.learn_native(_core.NativeEnv("CartPole-v1", 2, 11), total, True)
    return agent.to_bytes()


@pytest.mark.parametrize("call", ["learn", "evaluate"])
def test_native_env_is_locked_while_the_agent_steps_it(call):
    """Another thread stepping the same NativeEnv waits until learn_native /
    evaluate_native are done with it, so the run is exactly the one of an
    env used by nobody else."""
    total = 4096
    agent = _cartpole_agent()
    env = _core.NativeEnv("CartPole-v1", 2, 11)
    if call == "evaluate":
        # A trained agent, evaluated on a fresh env (never reset, so that
        # steps before evaluate_native resets it fail).
        ref = _cartpole_agent()
        ref.learn_native(_core.NativeEnv("CartPole-v1", 2, 5), 1024, True)
        agent = _core.Agent.from_bytes(ref.to_bytes())
        expected = ref.evaluate_native(_core.NativeEnv("CartPole-v1", 2, 11), 300)
    else:
        expected = _learn_alone(total)
    result = {}

    def run() -> None:
        if call == "learn":
            agent.learn_native(env, total, True)
            result["out"] = agent.to_bytes()
        else:
            result["out"] = agent.evaluate_native(env, 300)

    t = threading.Thread(target=run)
    t.start()
    zeros = np.zeros(2, np.float32)
    # Step the env for as long as the other thread runs: each step either
    # fails (the env was never reset) or waits for the env's lock, and so
    # lands after the run.
    while t.is_alive():
        try:
            env.step(zeros)
        except RuntimeError:
            pass
    t.join()
    assert result["out"] == expected


def _cat_agent() -> _core.Agent:
    settings = dict(_SETTINGS, n_cat_obs="1")
    return _core.Agent("ppo", None, 3, 0, [2], [0.0], [0.0], settings, 1)


@pytest.mark.parametrize("code", [2.7, 16777218.0, -3.5, 1e30])
def test_shap_reads_observations_as_act(code):
    """A categorical code that is not an integer of magnitude <= 2^24 is
    refused by act(); _shap gives the same error (not a silent truncation
    to 2, or 'missing')."""
    agent = _cat_agent()
    obs = np.array([[0.5, -1.0, code]], np.float32)
    with pytest.raises(ValueError) as act_err:
        agent.act(obs, deterministic=True)
    with pytest.raises(ValueError) as shap_err:
        agent._shap(obs)
    assert str(shap_err.value) == str(act_err.value)
    assert "categorical" in str(shap_err.value)


def test_shap_infinite_observation_as_act():
    agent = _cat_agent()
    obs = np.array([[np.inf, 0.0, 1.0]], np.float32)
    with pytest.raises(Exception) as act_err:
        agent.act(obs, deterministic=True)
    with pytest.raises(Exception) as shap_err:
        agent._shap(obs)
    assert type(shap_err.value) is type(act_err.value)
    assert str(shap_err.value) == str(act_err.value)


def test_shap_valid_codes_match_the_split_act_uses():
    """Integral codes (and NaN / negative ones, missing) are explained as the
    ensemble sees them: the contributions add up to act()'s outputs."""
    agent = _cat_agent()
    env_obs = np.array(
        [[0.1, 0.2, 0.0], [0.3, -0.2, 1.0], [1.0, 0.0, np.nan], [0.0, 0.5, -4.0], [0.0, 0.5, 16777216.0]],
        np.float32,
    )
    # Some trees so that the codes matter.
    rng = np.random.default_rng(0)
    for _ in range(3):
        for _ in range(32):
            o = np.column_stack([rng.normal(size=(2, 2)), rng.integers(0, 3, size=2)]).astype(np.float32)
            agent.collect(o)
            agent.observe(o[:, 2] - 1.0, np.zeros(2, bool), np.zeros(2, bool))
        agent.update(o)
    phi = agent._shap(env_obs)
    assert phi.shape == (5, 4, 3)
    _, _, values = agent.act(env_obs, deterministic=True, extras=True)
    np.testing.assert_allclose(phi[:, :, 2].sum(axis=1), values, rtol=1e-4, atol=1e-4)


def test_n_trees_waits_for_the_agents_lock():
    """Reading n_trees (and device) from another thread takes the agent's
    lock: during learn_native it waits for the run (an update may replace
    the ensembles, here by online compression), so it only ever sees the
    final counts."""
    settings = dict(_SETTINGS, compress_every="2", compress_to="8")
    agent = _core.Agent("ppo", "CartPole-v1", 4, 0, [2], [0.0], [0.0], settings, 3)
    env = _core.NativeEnv("CartPole-v1", 2, 11)
    t = threading.Thread(target=agent.learn_native, args=(env, 2048, True))
    seen = []
    t.start()
    while t.is_alive():
        seen.append(agent.n_trees)
        assert agent.device == "cpu"
    t.join()
    final = agent.n_trees
    assert final[0] > 0
    assert set(seen) <= {(0, 0), final}  # before the run took the lock, or after it
