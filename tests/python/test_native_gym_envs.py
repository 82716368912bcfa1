"""boostrl.envs: the native C environments as Gymnasium environments."""

import numpy as np
import pytest

gym = pytest.importorskip("gymnasium")
from gymnasium.utils.env_checker import check_env  # noqa: E402

import boostrl.envs  # noqa: E402

IDS = boostrl.envs.ids()


@pytest.mark.parametrize("env_id", IDS)
def test_check_env(env_id):
    env = boostrl.envs.make(env_id)
    check_env(env.unwrapped, skip_render_check=True)


@pytest.mark.parametrize("env_id", IDS)
def test_registered_and_matches_gymnasium_start(env_id):
    env = gym.make(f"boostrl/{env_id}")
    ref = gym.make(env_id)
    assert env.observation_space == ref.observation_space
    assert env.action_space == ref.action_space
    obs, _ = env.reset(seed=0)
    assert env.observation_space.contains(obs)


def test_episode_ends_and_truncates():
    env = boostrl.envs.make("CartPole-v1")
    env.reset(seed=0)
    n = 0
    while True:
        _, r, te, tr, _ = env.step(0)
        n += 1
        if te or tr:
            break
    assert 5 <= n < 500
    env = boostrl.envs.make("Pendulum-v1")
    env.reset(seed=0)
    for i in range(200):
        _, _, te, tr, _ = env.step(np.zeros(1, np.float32))
    assert tr and not te


def test_native_vec_env_sb3_interface():
    v = boostrl.envs.NativeVecEnv("CartPole-v1", 3, seed=0)
    obs = v.reset()
    assert obs.shape == (3, 4)
    done_seen = False
    for _ in range(100):
        obs, r, d, infos = v.step(np.zeros(3))
        for i in np.flatnonzero(d):
            done_seen = True
            assert infos[i]["terminal_observation"].shape == (4,)
    assert done_seen
