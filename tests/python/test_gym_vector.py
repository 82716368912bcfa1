"""The algorithms on Gymnasium's own vector envs, on every supported
Gymnasium (make test runs this file with the oldest and the newest): env
ids and single envs are stepped by Gymnasium's SyncVectorEnv in SAME_STEP
mode where it exists (Gymnasium >= 1.1), else by a loop, with the same
results; a vector env in DISABLED mode trains exactly as in SAME_STEP."""

from __future__ import annotations

import numpy as np
import pytest

gym = pytest.importorskip("gymnasium")

import boostrl  # noqa: E402
from boostrl.common.vec_env import DummyVecEnv, same_step_mode  # noqa: E402
from boostrl.vec_env import ListVecEnv, make_adapter  # noqa: E402

KW = dict(seed=5, n_steps=32, batch_size=64, n_epochs=2)
STEPS = 1024
N = 4


def _trees(model) -> bytes:
    return model._agent.to_bytes()


def _vector(mode_name: str):
    from gymnasium.vector import AutoresetMode

    mode = getattr(AutoresetMode, mode_name)
    return gym.make_vec("CartPole-v1", num_envs=N, vectorization_mode="sync", vector_kwargs={"autoreset_mode": mode})


def _episodes(model) -> list:
    return [(e["r"], e["l"]) for e in model.ep_info_buffer]


def test_ids_use_gymnasiums_vector_env_where_it_exists():
    venv, env_id = make_adapter("CartPole-v1", N)
    assert env_id == "CartPole-v1"
    dummy = venv.venv
    assert isinstance(dummy, DummyVecEnv)
    if same_step_mode() is not None:
        assert isinstance(dummy.venv, gym.vector.SyncVectorEnv)
        assert "SAME" in str(dummy.venv.metadata["autoreset_mode"]).upper()
    else:
        assert dummy.venv is None  # Gymnasium 1.0: the loop


def test_id_same_as_hand_written_loop():
    """The id (Gymnasium's SyncVectorEnv on >= 1.1) and the loop over the
    same envs (ListVecEnv) give the same trees and episodes."""
    a = boostrl.PPO("MlpPolicy", "CartPole-v1", n_envs=N, **KW).learn(STEPS)
    loop = ListVecEnv([gym.make("CartPole-v1") for _ in range(N)])
    b = boostrl.PPO("MlpPolicy", loop, preset="CartPole-v1", **KW).learn(STEPS)
    assert a.config == b.config
    assert len(a.ep_info_buffer) > 10
    assert _episodes(a) == _episodes(b)
    assert _trees(a) == _trees(b)


def test_single_env_copies_same_as_id():
    a = boostrl.PPO("MlpPolicy", "CartPole-v1", n_envs=N, **KW).learn(STEPS)
    b = boostrl.PPO("MlpPolicy", gym.make("CartPole-v1"), n_envs=N, **KW).learn(STEPS)
    assert _trees(a) == _trees(b)


@pytest.mark.skipif(same_step_mode() is None, reason="Gymnasium 1.0 has no autoreset modes")
@pytest.mark.parametrize("mode", ["SAME_STEP", "DISABLED"])
def test_vector_env_modes_train_as_the_id(mode):
    ref = boostrl.PPO("MlpPolicy", "CartPole-v1", n_envs=N, **KW).learn(STEPS)
    venv = _vector(mode)
    model = boostrl.PPO("MlpPolicy", venv, **KW).learn(STEPS)
    assert model.n_envs == N
    assert _episodes(model) == _episodes(ref)
    assert _trees(model) == _trees(ref)
    # get_env: SB3's VecEnv interface over it
    vec = model.get_env()
    obs = vec.reset()
    obs, r, dones, infos = vec.step(np.zeros(N, np.int64))
    assert obs.shape == (N, 4) and len(infos) == N


@pytest.mark.skipif(same_step_mode() is None, reason="Gymnasium 1.0 has no autoreset modes")
def test_disabled_mode_resets_ended_envs_in_the_same_step():
    from boostrl.common.vec_env import same_step_from_disabled

    venv = same_step_from_disabled(_vector("DISABLED"))
    obs, _ = venv.reset(seed=0)
    ended = 0
    for _ in range(40):
        obs, r, te, tr, infos = venv.step(np.zeros(N, np.int64))
        done = te | tr
        for i in np.flatnonzero(done):
            ended += 1
            last = infos["final_obs"][i]
            assert abs(last[2]) > 0.2 or abs(last[0]) > 2.4  # the pole fell
            assert abs(obs[i][2]) <= 0.05  # a fresh episode
        # never a step on an ended episode: Gymnasium would warn or raise
    assert ended >= N
