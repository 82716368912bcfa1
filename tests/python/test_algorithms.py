"""boostrl.PPO / A2C / AWR / DQN: stable-baselines3-shaped training on
Gymnasium environments, vector envs, duck-typed VecEnvs, nested spaces."""

from __future__ import annotations

import zlib

import numpy as np
import pytest

gym = pytest.importorskip("gymnasium")
from gymnasium import spaces  # noqa: E402

import boostrl  # noqa: E402
from boostrl import _core  # noqa: E402
from boostrl.callbacks import BaseCallback, CheckpointCallback, EvalCallback  # noqa: E402
from boostrl.envs import NativeVecEnv  # noqa: E402
from boostrl.wrappers import AtariRam, MiniGridCategorical  # noqa: E402

SMALL = dict(n_envs=4, n_steps=32, batch_size=64, n_epochs=2)


def _algo_supported(algo: str) -> bool:
    try:
        _core.agent_config(algo)
        return True
    except ValueError:
        return False


def test_ppo_cartpole_learns():
    model = boostrl.PPO("CartPole-v1", seed=0)
    model.learn(50_000)
    assert model.num_timesteps >= 50_000
    assert model.ep_rew_mean() >= 150


def test_save_load_identical_actions(tmp_path):
    model = boostrl.PPO("CartPole-v1", seed=1, **SMALL).learn(2_000)
    obs = np.random.default_rng(0).normal(size=(64, 4)).astype(np.float32) * 0.1
    a1, _ = model.predict(obs, deterministic=True)
    path = tmp_path / "agent.brl"
    model.save(path)
    loaded = boostrl.PPO.load(path)
    a2, _ = loaded.predict(obs, deterministic=True)
    np.testing.assert_array_equal(a1, a2)
    # Sampled actions too, from the same generator state.
    loaded2 = boostrl.PPO.load(path)
    s1, _ = loaded.predict(obs)
    s2, _ = loaded2.predict(obs)
    np.testing.assert_array_equal(s1, s2)
    # Single observations and load with an env.
    a, state = loaded.predict(obs[0], deterministic=True)
    assert np.ndim(a) == 0 and a == a1[0] and state is None
    with_env = boostrl.BaseAlgorithm.load(path, env="CartPole-v1")
    assert isinstance(with_env, boostrl.PPO)
    with_env.learn(256, reset_num_timesteps=False)


class DuckVecEnv:
    """An SB3 VecEnv stand-in (no SB3): same-step autoreset, infos with
    terminal_observation and TimeLimit.truncated."""

    def __init__(self, n: int) -> None:
        self.envs = [gym.make("CartPole-v1") for _ in range(n)]
        self.num_envs = n
        self.observation_space = self.envs[0].observation_space
        self.action_space = self.envs[0].action_space
        self._a = None
        self.steps = 0

    def reset(self):
        return np.stack([e.reset(seed=i)[0] for i, e in enumerate(self.envs)])

    def step_async(self, actions):
        self._a = actions

    def step_wait(self):
        obs, rews, dones, infos = [], [], [], []
        for e, a in zip(self.envs, self._a):
            o, r, te, tr, info = e.step(int(a))
            info = dict(info)
            if te or tr:
                info["terminal_observation"] = o
                info["TimeLimit.truncated"] = tr and not te
                o, _ = e.reset()
            obs.append(o)
            rews.append(r)
            dones.append(te or tr)
            infos.append(info)
        self.steps += 1
        return np.stack(obs), np.array(rews, np.float32), np.array(dones), infos


def test_duck_vec_env_trains():
    venv = DuckVecEnv(4)
    model = boostrl.PPO(venv, seed=0, n_steps=32, batch_size=64, n_epochs=2)
    assert model.n_envs == 4
    model.learn(1024)
    assert venv.steps == 1024 // 4
    assert len(model.ep_info_buffer) > 0
    mean, std = boostrl.evaluate_policy(model, venv, n_eval_episodes=4)
    assert mean > 0


def test_gym_vector_env_trains():
    venv = gym.make_vec("CartPole-v1", num_envs=4, vectorization_mode="sync")
    model = boostrl.PPO(venv, seed=0, n_steps=64, batch_size=128, n_epochs=2)
    model.learn(4096)
    assert model.num_timesteps == 4096
    assert model.ep_rew_mean() > 5
    acts, _ = model.predict(venv.reset(seed=3)[0])
    assert acts.shape == (4,)


def test_gym_vector_next_step_autoreset_episode_lengths():
    """Episodes seen through a next-step vector env have the lengths the
    env reports (the reset steps are skipped)."""
    venv = gym.make_vec("CartPole-v1", num_envs=2, vectorization_mode="sync")
    model = boostrl.PPO(venv, seed=0, n_steps=64, batch_size=64, n_epochs=1)
    model.learn(512)
    lens = [e["l"] for e in model.ep_info_buffer]
    rets = [e["r"] for e in model.ep_info_buffer]
    assert lens and lens == [int(r) for r in rets]  # CartPole: reward 1 per step


class DictEnv(gym.Env):
    """Dict observations with text, integer and float parts."""

    WORDS = ["red", "green", "blue"]

    def __init__(self):
        self.observation_space = spaces.Dict(
            {
                "color": spaces.Text(max_length=8),
                "count": spaces.Discrete(5, start=1),
                "grid": spaces.MultiDiscrete([3, 3]),
                "bits": spaces.MultiBinary(2),
                "pos": spaces.Box(-1, 1, (2,), np.float32),
                "pair": spaces.Tuple([spaces.Discrete(2), spaces.Box(0, 1, (1,), np.float32)]),
            }
        )
        self.action_space = spaces.Discrete(3)
        self.t = 0

    def _obs(self):
        r = self.np_random
        self.target = int(r.integers(3))
        return {
            "color": self.WORDS[self.target],
            "count": int(r.integers(1, 6)),
            "grid": r.integers(0, 3, 2),
            "bits": r.integers(0, 2, 2).astype(np.int8),
            "pos": r.uniform(-1, 1, 2).astype(np.float32),
            "pair": (int(r.integers(2)), r.uniform(0, 1, 1).astype(np.float32)),
        }

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return self._obs(), {}

    def step(self, action):
        reward = float(action == self.target)
        self.t += 1
        return self._obs(), reward, False, self.t >= 20, {}


def test_dict_text_integer_observations_train():
    env = DictEnv()
    model = boostrl.PPO(env, seed=0, **SMALL)
    assert model._flat.dim == 1 + 1 + 2 + 2 + 2 + 2
    model.learn(4096)
    obs, _ = env.reset(seed=5)
    a, _ = model.predict(obs, deterministic=True)
    assert env.action_space.contains(int(a))
    # The colour tells the rewarded action: the policy picks it up.
    assert model.ep_rew_mean() > 20 / 3


class TextDiscreteBoxEnv(gym.Env):
    """Dict(Text, Discrete, Box): the word (text) tells the rewarded action;
    the Discrete and Box parts are noise."""

    WORDS = ["red", "green", "blue", "yellow"]

    def __init__(self):
        self.observation_space = spaces.Dict(
            {
                "word": spaces.Text(max_length=8, charset="abcdefghijklmnopqrstuvwxyz"),
                "k": spaces.Discrete(5, start=2),
                "x": spaces.Box(-1, 1, (2,), np.float32),
            }
        )
        self.action_space = spaces.Discrete(2)

    def _obs(self):
        r = self.np_random
        self.word = int(r.integers(4))
        self.k = int(r.integers(2, 7))
        return {"word": self.WORDS[self.word], "k": self.k, "x": r.uniform(-1, 1, 2).astype(np.float32)}

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return self._obs(), {}

    def step(self, action):
        target = self.word % 2
        reward = float(action == target)
        self.t += 1
        return self._obs(), reward, False, self.t >= 20, {}


def test_text_discrete_box_categorical(tmp_path):
    env = TextDiscreteBoxEnv()
    model = boostrl.PPO(env, seed=0, **SMALL)
    assert model._flat.dim == 4 and model._flat.n_cat == 2
    assert int(model.config["n_cat_obs"]) == 2
    # Numeric columns first, categorical last (Dict keys sorted): x, k, word.
    assert model.feature_names == ["x[0]", "x[1]", "k", "word"]
    obs, _ = env.reset(seed=1)
    row = model._flat.one(obs)
    assert row[2] == obs["k"] - 2 and row[3] == float(zlib.crc32(obs["word"].encode()) & 0xFFFFFF)
    model.learn(8192)
    assert model.n_trees[0] > 0
    acts, _ = model.predict(obs, deterministic=True)
    assert env.action_space.contains(int(acts))
    # The policy reads the word (a categorical split on its hash).
    ok = 0
    for _ in range(100):
        o = env._obs()
        ok += int(model.predict(o, deterministic=True)[0]) == env.word % 2
    assert ok >= 80
    model.save(tmp_path / "cat.brl")
    loaded = boostrl.PPO.load(tmp_path / "cat.brl", env=TextDiscreteBoxEnv())
    assert int(loaded.config["n_cat_obs"]) == 2
    batch = [env.observation_space.sample() for _ in range(16)]
    for o in batch:
        assert model.predict(o, deterministic=True)[0] == loaded.predict(o, deterministic=True)[0]
    ex = model.explain(obs)
    assert ex.contributions.shape[-1] == 4


class FakeMiniGrid(gym.Env):
    """MiniGrid's observation structure without minigrid."""

    def __init__(self):
        self.observation_space = spaces.Dict(
            {
                "image": spaces.Box(0, 255, (7, 7, 3), np.uint8),
                "direction": spaces.Discrete(4),
                "mission": spaces.Text(max_length=64, charset="abcdefghijklmnopqrstuvwxyz "),
            }
        )
        self.action_space = spaces.Discrete(7)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return self._obs(), {}

    def _obs(self):
        img = np.zeros((7, 7, 3), np.uint8)
        img[..., 0] = self.np_random.integers(0, 11, (7, 7))
        img[..., 1] = self.np_random.integers(0, 6, (7, 7))
        img[..., 2] = self.np_random.integers(0, 3, (7, 7))
        return {"image": img, "direction": int(self.np_random.integers(4)), "mission": "get to the green goal square"}

    def step(self, action):
        self.t += 1
        return self._obs(), float(action == 2), False, self.t >= 10, {}


def test_minigrid_categorical_wrapper():
    env = MiniGridCategorical(FakeMiniGrid())
    obs, _ = env.reset(seed=0)
    assert env.observation_space.contains(obs)
    assert len(obs["cells"]) == 49 and obs["cells"][0].count(",") == 2
    assert obs["mission"] == "get to the green goal square"
    from boostrl.wrappers import cell_text

    assert cell_text(4, 4, 2) == "door,yellow,locked"
    model = boostrl.PPO(env, seed=0, **SMALL)
    assert model._flat.dim == 49 + 2
    # Every cell, the direction and the mission are categorical columns.
    assert model._flat.n_cat == 49 + 2 and int(model.config["n_cat_obs"]) == 51
    model.learn(512)


class FakeRam(gym.Env):
    """An Atari RAM observation (128 uint8) whose byte 5 packs flags; the
    rewarded action is 1 when its bit 2 is set, else 0."""

    observation_space = spaces.Box(0, 255, (128,), np.uint8)
    action_space = spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return self._obs(), {}

    def _obs(self):
        self.ram = self.np_random.integers(0, 256, 128, dtype=np.uint8)
        return self.ram

    def step(self, action):
        want = int(bool(self.ram[5] & 0b100))
        self.t += 1
        return self._obs(), float(action == want), False, self.t >= 16, {}


def test_atari_ram_wrapper_features():
    env = AtariRam(FakeRam(), "bits")
    obs, _ = env.reset(seed=0)
    assert env.observation_space.contains(obs)
    raw = env.unwrapped.ram
    assert np.array_equal(obs["ram"], raw) and obs["bits"].shape == (1024,)
    # Bit j of byte i (most significant first) is column 8 i + j.
    assert obs["bits"][8 * 5 + 5] == (raw[5] >> 2) & 1 and obs["bits"][8 * 7] == raw[7] >> 7
    model = boostrl.PPO(env, seed=0, **SMALL)
    assert model._flat.dim == 128 + 1024 and model._flat.n_cat == 0
    cat = AtariRam(FakeRam(), "categorical")
    obs, _ = cat.reset(seed=0)
    assert cat.observation_space.contains(obs) and np.array_equal(obs["codes"], obs["ram"])
    model = boostrl.PPO(cat, seed=0, **SMALL)
    assert model._flat.dim == 256 and model._flat.n_cat == 128
    assert AtariRam(FakeRam(), "none").observation_space["ram"].shape == (128,)
    with pytest.raises(ValueError, match="extra='bytes'"):
        AtariRam(FakeRam(), "bytes")
    with pytest.raises(ValueError, match="needs RAM observations"):
        AtariRam(FakeMiniGrid())


def test_atari_ram_bits_learn_a_packed_flag():
    """The reward follows one bit of a byte: with the bits as features the
    policy learns it (a depth-1 split); the same budget on the bytes alone
    needs several thresholds to isolate the bit."""
    means = {}
    for extra in ("bits", "none"):
        env = AtariRam(FakeRam(), extra)
        model = boostrl.PPO(env, seed=0, n_envs=4, n_steps=64, batch_size=256, n_epochs=4, policy_lr=0.1, gamma=0.0)
        model.learn(4096)
        means[extra], _ = boostrl.evaluate_policy(model, AtariRam(FakeRam(), extra), n_eval_episodes=20)
    # Of 16 a episode; a random policy scores 8.
    assert means["bits"] >= 15.0 and means["none"] <= 12.0, means


def _random_return(env, episodes: int, seed: int) -> float:
    rng = np.random.default_rng(seed)
    total = 0.0
    for i in range(episodes):
        env.reset(seed=seed + i)
        done = False
        while not done:
            _, r, te, tr, _ = env.step(int(rng.integers(env.action_space.n)))
            total += float(r)
            done = te or tr
    return total / episodes


def test_real_minigrid():
    """PPO on MiniGrid's categorical cells learns Empty-5x5 (the goal in 5
    steps: return 0.955) far better than a random policy, on a fixed seed."""
    minigrid = pytest.importorskip("minigrid")  # noqa: F841
    make = lambda: MiniGridCategorical(gym.make("MiniGrid-Empty-5x5-v0"))  # noqa: E731
    model = boostrl.PPO(make(), seed=0, n_envs=4, n_steps=128, batch_size=128, n_epochs=4)
    assert model._flat.n_cat == 49 + 2  # the cells, direction and mission
    model.learn(4096)
    mean, _ = boostrl.evaluate_policy(model, make(), n_eval_episodes=10, deterministic=True)
    rand = _random_return(make(), 30, seed=100)
    assert mean >= 0.9, (mean, rand)
    assert mean >= rand + 0.3, (mean, rand)


class MaskedEnv(gym.Env):
    """Only action 1 is allowed; masks from action_masks()."""

    def __init__(self):
        self.observation_space = spaces.Box(-1, 1, (2,), np.float32)
        self.action_space = spaces.Discrete(3)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return np.zeros(2, np.float32), {}

    def action_masks(self):
        return np.array([0, 1, 0], bool)

    def step(self, action):
        assert action == 1
        self.t += 1
        return np.zeros(2, np.float32), 0.0, False, self.t >= 8, {}


def test_action_masks():
    model = boostrl.PPO(MaskedEnv(), seed=0, **SMALL)
    model.learn(256)
    a, _ = model.predict(np.zeros((5, 2), np.float32), action_masks=np.tile([0, 0, 1], (5, 1)))
    assert (a == 2).all()


@pytest.mark.parametrize("env_id", ["Pendulum-v1", "MountainCarContinuous-v0"])
def test_box_actions(env_id):
    model = boostrl.PPO(env_id, seed=0, n_envs=2, n_steps=32, batch_size=32, n_epochs=1)
    model.learn(128)
    env = gym.make(env_id)
    obs, _ = env.reset(seed=0)
    a, _ = model.predict(obs)
    assert env.action_space.contains(a)


def test_multidiscrete_actions():
    class MD(DictEnv):
        def __init__(self):
            super().__init__()
            self.action_space = spaces.MultiDiscrete([3, 2])

        def step(self, action):
            assert action.shape == (2,)
            return super().step(int(action[0]))

    model = boostrl.A2C(MD(), seed=0, n_envs=2, n_steps=8)
    model.learn(256)


def test_a2c_native_vec_env():
    venv = NativeVecEnv("CartPole-v1", 16, seed=0)
    model = boostrl.A2C(venv, seed=0)
    model.learn(20_000)
    assert model.ep_rew_mean() > 30


class Recorder(BaseCallback):
    def __init__(self):
        super().__init__()
        self.events = []

    def _on_training_start(self):
        self.events.append("start")

    def _on_step(self):
        self.events.append("step")
        return self.n_calls < 20

    def _on_rollout_end(self):
        self.events.append("rollout_end")

    def _on_training_end(self):
        self.events.append("end")


def test_callbacks_logging(tmp_path, capsys):
    rec = Recorder()
    ckpt = CheckpointCallback(save_freq=8, save_path=str(tmp_path / "ck"))
    ev = EvalCallback("CartPole-v1", eval_freq=8, n_eval_episodes=2, best_model_save_path=str(tmp_path / "best"), verbose=0)
    model = boostrl.PPO("CartPole-v1", seed=0, verbose=1, tensorboard_log=str(tmp_path / "tb"), **SMALL)
    model.learn(10_000, callback=[rec, ckpt, ev], progress_bar=True)
    assert rec.events[0] == "start" and rec.events[-1] == "end"
    assert rec.events.count("step") == 20 and rec.events.count("rollout_end") == 0
    assert model.num_timesteps == 20 * 4
    assert len(list((tmp_path / "ck").iterdir())) == 2
    assert (tmp_path / "best" / "best_model.brl").exists()
    model.learn(512, reset_num_timesteps=False)
    out = capsys.readouterr().out
    assert "rollout/" in out and "total_timesteps" in out
    csv = (tmp_path / "tb" / "run_1" / "progress.csv").read_text()
    assert "time/total_timesteps" in csv.splitlines()[0]
    # A loaded checkpoint is a PPO agent file.
    f = sorted((tmp_path / "ck").iterdir())[0]
    boostrl.PPO.load(f).predict(np.zeros(4, np.float32))


@pytest.mark.parametrize("algo", ["AWR", "DQN"])
def test_off_policy_algorithms(algo):
    if not _algo_supported(algo.lower()):
        pytest.skip(f"the C agent does not take algo={algo.lower()} yet")
    cls = getattr(boostrl, algo)
    model = cls("CartPole-v1", seed=0, n_envs=4, learning_starts=200, train_freq=64, gradient_steps=4, batch_size=64)
    model.learn(1024)
    a, _ = model.predict(np.zeros((3, 4), np.float32), deterministic=True)
    assert a.shape == (3,)


def test_awr_box_actions():
    if not _algo_supported("awr"):
        pytest.skip("the C agent does not take algo=awr yet")
    kw = dict(n_envs=2, learning_starts=100, train_freq=32, gradient_steps=2, batch_size=32)
    model = boostrl.AWR("Pendulum-v1", seed=0, **kw).learn(256)
    # Trained from learning_starts on: 2 trees per ensemble per rollout of
    # 64 steps after the first 100.
    assert model.num_timesteps == 256
    pi_trees, vf_trees = model.n_trees
    assert pi_trees > 0 and vf_trees > 0
    obs = np.random.default_rng(0).uniform([-1, -1, -8], [1, 1, 8], (64, 3)).astype(np.float32)
    # Actions: one float per observation, inside Pendulum's box [-2, 2].
    det, _ = model.predict(obs, deterministic=True)
    assert det.shape == (64, 1) and det.dtype == np.float32
    assert (det >= -2).all() and (det <= 2).all()
    np.testing.assert_array_equal(model.predict(obs, deterministic=True)[0], det)
    sampled, _ = model.predict(obs, deterministic=False)
    assert sampled.shape == (64, 1) and (sampled >= -2).all() and (sampled <= 2).all()
    assert not np.array_equal(sampled, det)  # the Gaussian is not collapsed
    # The trees depend on the observations: not one action for all.
    assert np.unique(det).size > 1
    # Deterministic for a seed; another seed trains another agent. (The
    # ensembles: sampled predictions above moved model's generator on.)
    again = boostrl.AWR("Pendulum-v1", seed=0, **kw).learn(256)
    other = boostrl.AWR("Pendulum-v1", seed=1, **kw).learn(256)
    for which in (0, 1):
        assert again._agent.model_bytes(which) == model._agent.model_bytes(which)
        assert other._agent.model_bytes(which) != model._agent.model_bytes(which)


def test_wrong_algo_load(tmp_path):
    p = tmp_path / "a.brl"
    boostrl.PPO("CartPole-v1", seed=0, **SMALL).save(p)
    with pytest.raises(ValueError):
        boostrl.A2C.load(p)


def test_unknown_hyperparameter():
    with pytest.raises(ValueError, match="nonsense"):
        boostrl.PPO("CartPole-v1", nonsense=3)


def test_python_loop_matches_c_loop():
    """The Python loop over the native vector env trains the same agent as
    brl_agent_learn (the command's loop), byte for byte."""
    kw = dict(n_envs=4, n_steps=32, batch_size=64, n_epochs=2)
    model = boostrl.PPO(NativeVecEnv("CartPole-v1", 4, seed=7), seed=7, **kw)
    model.learn(2048)
    sp = model._action
    agent = _core.Agent("ppo", "CartPole-v1", 4, sp.kind, sp.nvec, sp.low, sp.high, {k: str(v) for k, v in kw.items()}, 7)
    agent.learn_native(_core.NativeEnv("CartPole-v1", 4, 7), 2048, True)
    assert model._agent.to_bytes() == agent.to_bytes()


def test_deterministic_predict_padding_same_actions():
    """The C prediction pads a tail of fewer than 16 rows to its vector
    block (predict leaves that to it): the actions of any number of rows
    equal those of the same rows in one larger call."""
    model = boostrl.PPO("CartPole-v1", seed=2, **SMALL).learn(3_000)
    X = np.random.default_rng(1).normal(size=(37, 4)).astype(np.float32) * 0.2
    ref = model._agent.act(X, deterministic=True)[:, 0].astype(np.int64)
    for n in (1, 5, 16, 17, 37):
        a, _ = model.predict(X[:n], deterministic=True)
        np.testing.assert_array_equal(a, ref[:n])
