"""boostrl as a stable-baselines3 drop-in: SB3's quickstart scripts run with
only their imports changed; the constructor forms, SB3's keyword names,
get_env / set_env, evaluate_policy for any model with predict, SB3-style
VecEnvs and callbacks (duck-typed: SB3 itself is not needed, and its own
classes are tried only where it is installed)."""

from __future__ import annotations

import os
import re
import warnings

import numpy as np
import pytest

gym = pytest.importorskip("gymnasium")

import boostrl  # noqa: E402
from boostrl import PPO  # noqa: E402
from boostrl.common.env_util import make_vec_env  # noqa: E402
from boostrl.common.evaluation import evaluate_policy  # noqa: E402
from boostrl.common.vec_env import DummyVecEnv, SubprocVecEnv, same_step_mode  # noqa: E402

SMALL = dict(n_steps=32, batch_size=64, n_epochs=1)


def _sb3_to_boostrl(script: str) -> str:
    """The one change a user makes: the package name in the imports."""
    return script.replace("stable_baselines3", "boostrl")


# stable-baselines3's README and "Getting started" examples, as published
# (the step counts are smaller so that the test is quick).
SB3_README = """
import gymnasium as gym

from stable_baselines3 import PPO

env = gym.make("CartPole-v1")

model = PPO("MlpPolicy", env, verbose=1)
model.learn(total_timesteps=10_000)

vec_env = model.get_env()
obs = vec_env.reset()
for i in range(1000):
    action, _states = model.predict(obs, deterministic=True)
    obs, reward, done, info = vec_env.step(action)
    # VecEnv resets automatically
    # if done:
    #   obs = env.reset()

env.close()
"""

SB3_ONE_LINER = """
from stable_baselines3 import PPO

model = PPO("MlpPolicy", "CartPole-v1").learn(10_000)
"""

SB3_SAVE_LOAD_EVALUATE = """
import gymnasium as gym

from stable_baselines3 import PPO
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.evaluation import evaluate_policy

# Parallel environments
vec_env = make_vec_env("CartPole-v1", n_envs=4)

model = PPO("MlpPolicy", vec_env, verbose=0)
model.learn(total_timesteps=25000)
model.save("ppo_cartpole")

del model # remove to demonstrate saving and loading

model = PPO.load("ppo_cartpole")

mean_reward, std_reward = evaluate_policy(model, vec_env, n_eval_episodes=10)

obs = vec_env.reset()
for _ in range(200):
    action, _states = model.predict(obs)
    obs, rewards, dones, info = vec_env.step(action)
"""

SB3_CALLBACKS = """
from stable_baselines3 import A2C
from stable_baselines3.common.callbacks import CheckpointCallback, EvalCallback, CallbackList
from stable_baselines3.common.env_util import make_vec_env

checkpoint_callback = CheckpointCallback(save_freq=50, save_path="./logs/", name_prefix="rl_model")
eval_env = make_vec_env("CartPole-v1", n_envs=1)
eval_callback = EvalCallback(eval_env, best_model_save_path="./logs/best_model",
                             log_path="./logs/results", eval_freq=100, n_eval_episodes=2,
                             deterministic=True, render=False)
callback = CallbackList([checkpoint_callback, eval_callback])

model = A2C("MlpPolicy", make_vec_env("CartPole-v1", n_envs=4))
model.learn(5000, callback=callback)
"""


def _run(script: str, tmp_path) -> dict:
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        ns: dict = {"__name__": "__sb3_example__"}
        exec(compile(_sb3_to_boostrl(script), "sb3_example.py", "exec"), ns)
        return ns
    finally:
        os.chdir(cwd)


def test_sb3_readme_quickstart(tmp_path, capsys):
    ns = _run(SB3_README, tmp_path)
    model, vec_env = ns["model"], ns["vec_env"]
    assert isinstance(model, boostrl.PPO) and model.policy_name == "MlpPolicy"
    assert model.num_timesteps >= 10_000
    assert model.preset == "CartPole-v1"  # the env's preset
    assert "ep_rew_mean" in capsys.readouterr().out  # verbose=1: SB3's table
    # SB3's VecEnv: the model's own env copies, reset in the same step
    assert vec_env is model.get_env()
    assert vec_env.num_envs == model.n_envs
    assert ns["obs"].shape == (model.n_envs, 4)
    assert ns["reward"].shape == (model.n_envs,) and ns["done"].dtype == bool
    assert isinstance(ns["info"], list) and len(ns["info"]) == model.n_envs


def test_sb3_one_liner(tmp_path):
    model = _run(SB3_ONE_LINER, tmp_path)["model"]
    assert isinstance(model, boostrl.PPO) and model.num_timesteps >= 10_000
    # It learned something: random play lasts about 22 steps.
    mean, _ = evaluate_policy(model, "CartPole-v1", n_eval_episodes=10)
    assert mean > 60


def test_sb3_save_load_evaluate_vecenv(tmp_path):
    ns = _run(SB3_SAVE_LOAD_EVALUATE, tmp_path)
    assert os.path.getsize(tmp_path / "ppo_cartpole") > 0
    model = ns["model"]
    assert isinstance(model, boostrl.PPO) and model.get_env() is None  # loaded without env
    assert isinstance(ns["vec_env"], DummyVecEnv) and ns["vec_env"].num_envs == 4
    assert ns["obs"].shape == (4, 4) and ns["rewards"].shape == (4,)
    # 25k steps of the CartPole preset: far above random play (~22).
    assert ns["mean_reward"] > 100, ns["mean_reward"]


def test_sb3_callbacks_example(tmp_path):
    ns = _run(SB3_CALLBACKS, tmp_path)
    model, ev = ns["model"], ns["eval_callback"]
    assert isinstance(model, boostrl.A2C) and model.num_timesteps >= 5000
    assert len(ev.evaluations_timesteps) == (model.num_timesteps // model.n_envs) // 100
    assert (tmp_path / "logs" / "best_model" / "best_model.brl").exists()
    assert (tmp_path / "logs" / "results" / "evaluations.npz").exists()
    assert any(p.startswith("rl_model_") for p in os.listdir(tmp_path / "logs"))


# --- the constructor -------------------------------------------------------


@pytest.mark.parametrize("algo", ["PPO", "A2C", "AWR", "DQN"])
def test_constructor_forms_are_the_same_model(algo):
    cls = getattr(boostrl, algo)
    kw = dict(seed=3, n_envs=2)
    a = cls("CartPole-v1", **kw)  # boostrl's first form
    b = cls("MlpPolicy", "CartPole-v1", **kw)
    c = cls(policy="MlpPolicy", env="CartPole-v1", **kw)
    d = cls(env=gym.make("CartPole-v1"), **kw)
    assert a.policy_name is None and b.policy_name == c.policy_name == "MlpPolicy"
    assert a.config == b.config == c.config == d.config
    assert a.preset == b.preset == c.preset == d.preset == "CartPole-v1"
    a.learn(256)
    b.learn(256)
    assert a._agent.to_bytes() == b._agent.to_bytes()


def test_constructor_errors():
    with pytest.raises(ValueError, match="no env"):
        PPO("MlpPolicy")
    with pytest.raises(ValueError, match="no env"):
        PPO(policy="MlpPolicy")
    with pytest.raises(ValueError, match="LstmPolicy"):
        PPO("LstmPolicy", "CartPole-v1")
    m = PPO("MultiInputPolicy", "CartPole-v1", n_envs=1)
    assert m.policy_name == "MultiInputPolicy"

    class MyPolicy:  # SB3 also takes a policy class
        pass

    assert PPO(MyPolicy, "CartPole-v1", n_envs=1).policy_name == "MyPolicy"


def test_sb3_keywords():
    def linear(start):
        return lambda progress_remaining: progress_remaining * start

    m = PPO("MlpPolicy", "CartPole-v1", n_envs=2, learning_rate=linear(0.05), target_kl=None, clip_range_vf=None)
    assert float(m.config["policy_lr"]) == pytest.approx(0.05)
    assert 0 < float(m.config["policy_lr_end"]) < 1e-6
    assert float(m.config["target_kl"]) <= 0 and float(m.config["clip_range_vf"]) <= 0
    m = PPO("MlpPolicy", "CartPole-v1", n_envs=2, learning_rate=lambda p: 0.02)
    assert float(m.config["policy_lr"]) == pytest.approx(0.02) and float(m.config["policy_lr_end"]) == 0
    # Network settings: ignored with a warning; tree settings in
    # policy_kwargs are taken.
    with pytest.warns(UserWarning, match="max_grad_norm.*net_arch"):
        m = PPO(
            "MlpPolicy",
            "CartPole-v1",
            n_envs=2,
            max_grad_norm=0.5,
            policy_kwargs=dict(net_arch=[64, 64], max_depth=6, log_std_init=-1.0),
        )
    assert m.config["max_depth"] == "6" and float(m.config["log_std_init"]) == -1.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # SB3's defaults pass silently
        m = PPO("MlpPolicy", "CartPole-v1", n_envs=2, use_sde=False, sde_sample_freq=-1, stats_window_size=10)
    assert m.ep_info_buffer.maxlen == 10
    with pytest.raises(ValueError, match="use_sde"):
        PPO("MlpPolicy", "CartPole-v1", use_sde=True)
    d = boostrl.DQN("MlpPolicy", "CartPole-v1", n_envs=2, train_freq=(4, "step"), tau=1.0)
    assert d.config["train_freq"] == "4"
    with pytest.raises(ValueError, match="episode"):
        boostrl.DQN("MlpPolicy", "CartPole-v1", train_freq=(1, "episode"))
    with pytest.raises(ValueError, match="tau"):
        boostrl.DQN("MlpPolicy", "CartPole-v1", tau=0.005)
    with pytest.raises(ValueError, match="nonsense"):
        PPO("MlpPolicy", "CartPole-v1", nonsense=1)


# --- env access --------------------------------------------------------------


def test_get_env_set_env():
    env = gym.make("CartPole-v1")
    m = PPO("MlpPolicy", env, seed=0, n_envs=3, **SMALL)
    venv = m.get_env()
    assert venv is m.get_env() and venv.num_envs == 3
    obs = venv.reset()
    assert obs.shape == (3, 4)
    seen_end = False
    for _ in range(200):
        obs, r, dones, infos = venv.step(np.zeros(3, np.int64))  # always left: short episodes
        for i in np.flatnonzero(dones):
            seen_end = True
            assert infos[i]["terminal_observation"].shape == (4,)
            assert not np.array_equal(infos[i]["terminal_observation"], obs[i])  # reset in the same step
    assert seen_end
    other = make_vec_env("CartPole-v1", n_envs=3, seed=5)
    m.set_env(other)
    assert m.get_env() is other
    m.learn(600)
    assert m.num_timesteps >= 600
    with pytest.raises(ValueError, match="copies"):
        m.set_env(make_vec_env("CartPole-v1", n_envs=2))


def test_make_vec_env_seeding_and_info():
    a = make_vec_env("CartPole-v1", n_envs=2, seed=11)
    b = make_vec_env("CartPole-v1", n_envs=2, seed=11)
    np.testing.assert_array_equal(a.reset(), b.reset())
    got_episode = False
    for _ in range(100):
        _, _, dones, infos = a.step(np.ones(2, np.int64))
        for i in np.flatnonzero(dones):
            # Gymnasium's RecordEpisodeStatistics, SB3's Monitor
            assert infos[i]["episode"]["l"] > 0
            got_episode = True
    assert got_episode
    assert a.env_is_wrapped(gym.wrappers.RecordEpisodeStatistics) == [True, True]
    assert a.get_attr("spec", indices=0)[0].id == "CartPole-v1"


def _trajectory(venv, steps: int = 60):
    venv.seed(4)
    out = [np.array(venv.reset(), copy=True)]
    for t in range(steps):
        obs, r, d, infos = venv.step(np.full(venv.num_envs, t % 2, np.int64))
        out.append(np.array(obs, copy=True))
    return np.stack(out)


def test_dummy_vec_env_is_same_step_on_every_gymnasium():
    """Gymnasium >= 1.1: Gymnasium's SyncVectorEnv in SAME_STEP mode; 1.0:
    the loop. Both are compared with envs stepped by hand."""
    fns = [lambda: gym.make("CartPole-v1") for _ in range(2)]
    venv = DummyVecEnv(fns)
    assert (venv.venv is not None) == (same_step_mode() is not None)
    got = _trajectory(venv)
    envs = [gym.make("CartPole-v1") for _ in range(2)]
    ref = [np.stack([e.reset(seed=4 + i)[0] for i, e in enumerate(envs)])]
    for t in range(60):
        row = []
        for e in envs:
            o, r, te, tr, _ = e.step(t % 2)
            if te or tr:
                o, _ = e.reset()
            row.append(o)
        ref.append(np.stack(row))
    np.testing.assert_array_equal(got, np.stack(ref))


def test_subproc_vec_env():
    fns = [lambda: gym.make("CartPole-v1") for _ in range(2)]
    if same_step_mode() is None:
        with pytest.raises(NotImplementedError, match="Gymnasium >= 1.1"):
            SubprocVecEnv(fns)
        return
    sub = SubprocVecEnv(fns)
    try:
        np.testing.assert_array_equal(_trajectory(sub), _trajectory(DummyVecEnv(fns)))
        m = PPO("MlpPolicy", sub, seed=0, **SMALL).learn(256)
        assert m.n_envs == 2
    finally:
        sub.close()


# --- evaluate_policy, callbacks, SB3 wrappers ------------------------------


class AlwaysLeft:
    """Not a boostrl model: anything with SB3's predict."""

    def predict(self, obs, state=None, episode_start=None, deterministic=True):
        return np.zeros(len(obs), np.int64), state


def test_evaluate_policy_any_model():
    rets, lens = evaluate_policy(AlwaysLeft(), make_vec_env("CartPole-v1", n_envs=2, seed=0), 6, return_episode_rewards=True)
    assert len(rets) == 6 and all(8 <= n <= 12 for n in lens) and rets == [float(n) for n in lens]
    with pytest.raises(AssertionError, match="threshold"):
        evaluate_policy(AlwaysLeft(), gym.make("CartPole-v1"), 2, reward_threshold=100)


def test_evaluate_policy_fast_path_equals_predict_path():
    m = PPO("MlpPolicy", "CartPole-v1", seed=0, n_envs=2, **SMALL).learn(2000)
    fast = evaluate_policy(m, make_vec_env("CartPole-v1", n_envs=2, seed=9), 4, return_episode_rewards=True)
    calls = []
    slow = evaluate_policy(
        m, make_vec_env("CartPole-v1", n_envs=2, seed=9), 4, return_episode_rewards=True,
        callback=lambda lo, gl: calls.append(1),
    )
    assert fast == slow and len(calls) > 0


class DuckCallback:
    """SB3's BaseCallback's methods, without being boostrl's BaseCallback."""

    def __init__(self):
        self.events = []
        self.locals = {}

    def init_callback(self, model):
        self.model = model
        self.events.append("init")

    def on_training_start(self, locals_, globals_):
        self.events.append("start")

    def on_rollout_start(self):
        self.events.append("rollout_start")

    def on_step(self):
        self.events.append("step")
        return True

    def update_locals(self, locals_):
        self.locals.update(locals_)

    def on_rollout_end(self):
        self.events.append("rollout_end")

    def on_training_end(self):
        self.events.append("end")


def test_duck_typed_callback():
    m = PPO("MlpPolicy", "CartPole-v1", seed=0, n_envs=2, **SMALL)
    cb = DuckCallback()
    m.learn(256, callback=cb)
    assert cb.events[:3] == ["init", "start", "rollout_start"] and cb.events[-1] == "end"
    assert cb.events.count("step") == m.num_timesteps // 2
    assert cb.events.count("rollout_end") == m.num_timesteps // (2 * 32)
    assert set(cb.locals) >= {"infos", "rewards", "dones", "new_obs"}
    with pytest.raises(TypeError, match="callback"):
        m.learn(64, callback=42)


class NormalizeObs:
    """An SB3-style VecEnvWrapper (like VecNormalize): SB3's wrappers have
    ``unwrapped`` too, which made boostrl take them for a Gymnasium env."""

    def __init__(self, venv):
        self.venv = venv
        self.num_envs = venv.num_envs
        self.observation_space = venv.observation_space
        self.action_space = venv.action_space
        self.scale = np.array([2.4, 3.0, 0.21, 3.0], np.float32)
        self.steps = 0

    @property
    def unwrapped(self):
        return self.venv

    def reset(self):
        return self.venv.reset() / self.scale

    def step_async(self, actions):
        self.venv.step_async(actions)

    def step_wait(self):
        obs, r, d, infos = self.venv.step_wait()
        self.steps += 1
        for i in np.flatnonzero(d):
            infos[i]["terminal_observation"] = infos[i]["terminal_observation"] / self.scale
        return obs / self.scale, r, d, infos

    def seed(self, seed=None):
        return self.venv.seed(seed)

    def close(self):
        self.venv.close()


def test_sb3_style_vecenv_wrapper_is_a_vecenv():
    venv = NormalizeObs(make_vec_env("CartPole-v1", n_envs=2, seed=0))
    m = PPO("MlpPolicy", venv, seed=0, **SMALL).learn(256)
    assert m.n_envs == 2 and venv.steps >= 128  # stepped through the wrapper
    assert m.get_env() is venv
    mean, _ = evaluate_policy(m, venv, 2)
    assert mean > 0


def test_real_sb3_vecnormalize_and_callbacks(tmp_path):
    sb3 = pytest.importorskip("stable_baselines3")
    from stable_baselines3.common.callbacks import CheckpointCallback, EvalCallback
    from stable_baselines3.common.env_util import make_vec_env as sb3_make_vec_env
    from stable_baselines3.common.vec_env import VecNormalize

    venv = VecNormalize(sb3_make_vec_env("CartPole-v1", n_envs=2, seed=0))
    eval_env = VecNormalize(sb3_make_vec_env("CartPole-v1", n_envs=1, seed=1), training=False, norm_reward=False)
    ck = CheckpointCallback(save_freq=32, save_path=str(tmp_path / "ck"))
    ev = EvalCallback(eval_env, eval_freq=64, n_eval_episodes=2, log_path=str(tmp_path / "ev"), verbose=0)
    m = PPO("MlpPolicy", venv, seed=0, **SMALL).learn(512, callback=[ck, ev])
    assert m.get_env() is venv and venv.obs_rms.count > 1
    assert len(ev.evaluations_timesteps) == 4  # 256 calls, every 64
    assert (tmp_path / "ev" / "evaluations.npz").exists()
    assert os.listdir(tmp_path / "ck")
    mean, _ = sb3.common.evaluation.evaluate_policy(m, eval_env, n_eval_episodes=2)
    assert mean > 0


class VecNormalize(NormalizeObs):
    """Named as SB3's: SB3's callbacks ask the model for it."""


def test_get_vec_normalize_env():
    inner = make_vec_env("CartPole-v1", n_envs=2, seed=0)
    venv = VecNormalize(inner)
    assert PPO("MlpPolicy", venv, seed=0, **SMALL).get_vec_normalize_env() is venv
    assert PPO("MlpPolicy", inner, seed=0, **SMALL).get_vec_normalize_env() is None
    assert PPO("MlpPolicy", "CartPole-v1", n_envs=2).get_vec_normalize_env() is None


def test_logger_exclude_and_record_mean(capsys):
    """SB3's EvalCallback records with exclude="tensorboard"."""
    from boostrl.logger import configure

    lg = configure(None, ["stdout"])
    lg.record("eval/mean_reward", 1.5)
    lg.record("time/total_timesteps", 7, exclude="stdout")
    lg.record_mean("train/x", 1.0)
    lg.record_mean("train/x", 3.0, exclude=("tensorboard",))
    lg.dump(7)
    out = capsys.readouterr().out
    assert "mean_reward" in out and "total_timesteps" not in out
    assert re.search(r"\|\s+x\s+\|\s+2\s+\|", out), out
    lg.record("time/total_timesteps", 8)  # exclusions last one dump
    lg.dump(8)
    assert "total_timesteps" in capsys.readouterr().out


def test_real_sb3_wrappers_around_boostrl_vec_envs():
    pytest.importorskip("stable_baselines3")
    from stable_baselines3.common.evaluation import evaluate_policy as sb3_evaluate_policy
    from stable_baselines3.common.vec_env import VecFrameStack, VecNormalize

    venv = VecNormalize(make_vec_env("CartPole-v1", n_envs=2, seed=0))
    m = PPO("MlpPolicy", venv, seed=0, **SMALL).learn(256)
    assert m.get_vec_normalize_env() is venv and venv.obs_rms.count > 1
    stacked = VecFrameStack(make_vec_env("CartPole-v1", n_envs=2, seed=0), n_stack=3)
    m = PPO("MlpPolicy", stacked, seed=0, **SMALL).learn(256)
    assert m._agent.obs_dim == 12
    rets, _ = sb3_evaluate_policy(m, stacked, n_eval_episodes=2, return_episode_rewards=True)
    assert len(rets) == 2 and min(rets) > 0
