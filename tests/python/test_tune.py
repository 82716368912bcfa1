"""boostrl.tune: Optuna tuning on a custom env the library has no preset for.

Parity5: each step shows 5 random bits and pays 1 when the action is their
parity (20 steps an episode, so returns lie in [0, 20], chance is 10). The
parity of 5 bits is a 5-way interaction that no sum of depth-4 trees
represents, so the library's defaults (max_depth 4) stay at chance, and a
configuration with max_depth >= 5 scores 20: the tuner must find that.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import numpy as np

optuna = pytest.importorskip("optuna")
gym = pytest.importorskip("gymnasium")

import boostrl  # noqa: E402
from boostrl import tune  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent


class Parity5(gym.Env):
    """The action must be the parity of the 5 observed bits."""

    K = 5

    def __init__(self):
        self.observation_space = gym.spaces.Box(0, 1, (self.K,), np.float32)
        self.action_space = gym.spaces.Discrete(2)

    def _draw(self):
        self.x = (self.np_random.random(self.K) < 0.5).astype(np.float32)
        return self.x

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return self._draw(), {}

    def step(self, action):
        r = float(int(action) == int(self.x.sum()) % 2)
        self.t += 1
        return self._draw(), r, False, self.t >= 20, {}


TIMESTEPS = 2048


def held_out(config):
    """Mean return over seeds 0-2 (never used while tuning)."""
    return tune.train_and_evaluate("ppo", Parity5, config, (0, 1, 2), TIMESTEPS, 1, 5)[0]


def run_tune(tmp_path, n_trials, name="parity", **kw):
    args = dict(
        algo="ppo",
        n_trials=n_trials,
        timesteps=TIMESTEPS,
        seeds=(100,),
        n_evals=2,
        eval_episodes=5,
        storage=f"sqlite:///{tmp_path / 'tune.db'}",
        study_name=name,
        sampler_seed=0,
        out=str(tmp_path / "best.json"),
    )
    args.update(kw)
    return tune.tune(Parity5, **args)


def test_import_boostrl_does_not_import_optuna():
    code = "import sys, boostrl; print('optuna' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_tuned_beats_defaults_on_held_out_seeds(tmp_path):
    config = run_tune(tmp_path, n_trials=10)
    assert config["algo"] == "ppo" and config["n_timesteps"] == TIMESTEPS
    assert config["max_depth"] >= 5, config
    default = held_out({})
    tuned = held_out(config)
    assert default < 13.0, default  # chance is 10
    assert tuned > default + 5.0, (tuned, default)
    # The file holds the same configuration, which the Python API takes.
    saved = json.loads((tmp_path / "best.json").read_text())
    assert saved == config
    model = boostrl.PPO("MlpPolicy", Parity5(), seed=0, **saved)
    for k in ("max_depth", "n_bins", "n_steps", "n_epochs"):
        assert int(model.config[k]) == config[k], k
    assert model.config["grow_policy"] == config["grow_policy"]


def test_deterministic_for_a_sampler_seed(tmp_path):
    a = run_tune(tmp_path, n_trials=4, storage=None, out=None)
    b = run_tune(tmp_path, n_trials=4, storage=None, out=None)
    assert a == b


def test_bad_trials_are_pruned_and_study_resumes(tmp_path):
    db = tmp_path / "tune.db"
    run_tune(tmp_path, n_trials=8, name="resume")
    study = optuna.load_study(study_name="resume", storage=f"sqlite:///{db}")
    assert len(study.trials) == 8
    states = [t.state for t in study.trials]
    assert optuna.trial.TrialState.PRUNED in states, states
    # The first trial is the library's own configuration (max_depth 4).
    assert study.trials[0].params["max_depth"] == 4
    assert study.trials[0].user_attrs["defaults"] is True
    run_tune(tmp_path, n_trials=2, name="resume")
    study = optuna.load_study(study_name="resume", storage=f"sqlite:///{db}")
    assert len(study.trials) == 10
    # The defaults are enqueued only in a new study.
    assert [t.number for t in study.trials if t.user_attrs.get("defaults")] == [0]


def test_parallel_trials_share_the_study(tmp_path):
    run_tune(tmp_path, n_trials=4, name="jobs", n_jobs=2, timesteps=512, n_evals=1)
    study = optuna.load_study(study_name="jobs", storage=f"sqlite:///{tmp_path / 'tune.db'}")
    assert len(study.trials) == 4
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials)


def test_search_spaces_of_all_algorithms_make_valid_agents():
    """One sampled configuration of each algorithm is a valid agent."""
    for algo in tune.ALGOS:
        study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
        trial = study.ask()
        config = tune.sample_config(trial, algo)
        assert {"max_depth", "n_bins", "grow_policy", "policy_lr", "value_lr"} <= set(config)
        if algo in ("ppo", "a2c"):
            assert "shared_tree" in config
        cls = {"ppo": boostrl.PPO, "a2c": boostrl.A2C, "awr": boostrl.AWR, "dqn": boostrl.DQN}[algo]
        model = cls(Parity5(), seed=0, algo=algo, **config)
        model.learn(64)


def test_cli_module_writes_a_config_for_boostrl_train(tmp_path):
    """python -m boostrl.tune on an env factory ('module:function') and on a
    native env id; the second file is a valid `boostrl train --config`."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]))
    out = tmp_path / "parity.json"
    r = subprocess.run(
        [sys.executable, "-m", "boostrl.tune", "test_tune:Parity5", "--trials", "2", "--timesteps", "512",
         "--seeds", "100", "--evals", "1", "--eval-episodes", "2", "--storage", f"sqlite:///{tmp_path / 't.db'}",
         "--out", str(out), "-q"],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120,
    )
    assert r.returncode == 0, r.stderr
    assert json.loads(out.read_text())["algo"] == "ppo"
    assert json.loads(r.stdout.strip().splitlines()[-1])["out"] == str(out)

    cart = tmp_path / "cartpole.json"
    r = subprocess.run(
        [sys.executable, "-m", "boostrl.tune", "boostrl/CartPole-v1", "--trials", "2", "--timesteps", "1024",
         "--seeds", "100", "--evals", "1", "--eval-episodes", "1", "--storage", "none", "--out", str(cart), "-q",
         "--set", "n_envs=4"],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120,
    )
    assert r.returncode == 0, r.stderr
    saved = json.loads(cart.read_text())
    assert saved["n_envs"] == "4"
    boostrl.PPO("CartPole-v1", seed=0, **saved)
    cli = _boostrl_cli()
    if cli is None:
        pytest.skip("no boostrl command built (BRL_LIB's folder): the Python path is tested")
    run = subprocess.run(
        [cli, "train", "CartPole-v1", "--config", str(cart), "--timesteps", "1024", "--out", str(tmp_path / "run"),
         "--eval-episodes", "1", "--json"],
        capture_output=True, text=True, timeout=120,
    )
    assert run.returncode == 0, run.stderr
    resolved = json.loads((tmp_path / "run" / "config.json").read_text())
    for k in ("max_depth", "n_bins", "grow_policy", "n_steps"):
        assert str(resolved[k]) == str(saved[k]), k


def test_errors_say_what_to_do(tmp_path):
    with pytest.raises(ValueError, match="module:function"):
        tune.resolve_env("no_such_module_xyz:make")
    with pytest.raises(ValueError, match="unknown algorithm"):
        tune.tune(Parity5, algo="sac", storage=None)
    r = subprocess.run(
        [sys.executable, "-m", "boostrl.tune", "no_such_module_xyz:make", "--storage", "none"],
        capture_output=True, text=True, cwd=tmp_path, timeout=60,
    )
    assert r.returncode == 1 and "module:function" in r.stderr


def _boostrl_cli():
    lib = os.environ.get("BRL_LIB")
    cands = [Path(lib).parent / "boostrl"] if lib else []
    cands.append(ROOT / "build" / "boostrl")
    for c in cands:
        if c.exists():
            return str(c)
    return shutil.which("boostrl")
