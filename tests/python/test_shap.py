"""SHAP values: Ensemble.shap / expected_value and model.explain of the RL
algorithms (exact TreeSHAP from the C library, brl_model_shap)."""

from __future__ import annotations

import numpy as np
import pytest

import boostrl


def _numeric(rng, K=2, n=300, d=5):
    X = rng.normal(size=(n, d)).astype(np.float32)
    y = np.stack([X[:, 0] * 2 + np.sin(X[:, 1]) + X[:, 2] * X[:, 3] + k for k in range(K)], axis=1)
    ens = boostrl.Ensemble(d, outputs=K, max_depth=4, grow_policy="greedy")
    ens.fit(X, y.astype(np.float32), iterations=30)
    return ens, X


def _assert_additive(pred, contrib, expected):
    total = contrib.astype(np.float64).sum(axis=1) + expected.astype(np.float64)[None, :]
    np.testing.assert_allclose(total, pred, rtol=1e-4, atol=1e-4 * max(1.0, float(np.abs(pred).max())))


@pytest.mark.parametrize("grow_policy", ["greedy", "oblivious"])
def test_shap_numeric_adds_up_to_predict(grow_policy):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 5)).astype(np.float32)
    y = (X[:, 0] * 2 + np.sin(X[:, 1]) + X[:, 2] * X[:, 3]).astype(np.float32)
    y = np.stack([y, -y + 1.0, X[:, 4]], axis=1).astype(np.float32)
    ens = boostrl.Ensemble(5, outputs=3, grow_policy=grow_policy)
    ens.bias = [0.5, -0.25, 0.0]
    ens.fit(X, y, iterations=40)
    contrib, expected = ens.shap(X)
    assert contrib.shape == (300, 5, 3) and contrib.dtype == np.float32
    assert expected.shape == (3,) and expected.dtype == np.float32
    np.testing.assert_array_equal(expected, ens.expected_value)
    raw = ens._shap(X)
    assert raw.shape == (300, 6, 3)
    np.testing.assert_array_equal(raw[:, :5], contrib)
    _assert_additive(ens.predict(X), contrib, expected)
    # Feature 4 only drives output 2; feature 0 matters most for output 0.
    assert np.abs(contrib[:, 0, 0]).mean() > np.abs(contrib[:, 4, 0]).mean()


def test_shap_single_output_and_empty_model():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(50, 3)).astype(np.float32)
    ens = boostrl.Ensemble(3)
    ens.bias = [2.0]
    contrib, expected = ens.shap(X)
    np.testing.assert_array_equal(contrib, 0.0)
    np.testing.assert_allclose(expected, [2.0])
    ens.fit(X, X[:, 0] * 3, iterations=10)
    contrib, expected = ens.shap(X[:7])
    assert contrib.shape == (7, 3, 1)
    _assert_additive(ens.predict(X[:7]), contrib, expected)


def test_shap_categorical_adds_up_to_predict():
    rng = np.random.default_rng(2)
    n = 400
    X = rng.normal(size=(n, 2)).astype(np.float32)
    colors = np.array(["red", "green", "blue"], dtype=object)
    Xc = np.empty((n, 2), dtype=object)
    Xc[:, 0] = colors[rng.integers(0, 3, n)]
    Xc[:, 1] = colors[rng.integers(0, 3, n)]
    Xc[3, 1] = None
    effect = {"red": 0.0, "green": 2.0, "blue": -1.5}
    y = np.array([effect[c] for c in Xc[:, 0]], np.float32) + 0.5 * X[:, 1]
    ens = boostrl.Ensemble(2, n_cat_features=2, grow_policy="greedy")
    ens.fit(X, y, X_cat=Xc, iterations=30)
    contrib, expected = ens.shap(X, Xc)
    assert contrib.shape == (n, 4, 1)
    _assert_additive(ens.predict(X, Xc), contrib, expected)
    # The string column drives the target: it gets the largest share.
    share = np.abs(contrib[:, :, 0]).mean(axis=0)
    assert share.argmax() == 2
    # Integer codes give the same values.
    codes = ens.encode_categories(Xc)
    c2, e2 = ens.shap(X, codes)
    np.testing.assert_array_equal(c2, contrib)
    np.testing.assert_array_equal(e2, expected)
    with pytest.raises(ValueError):
        ens.shap(X)  # X_cat is required


def test_shap_rejects_bad_shapes():
    ens = boostrl.Ensemble(3)
    with pytest.raises(ValueError):
        ens.shap(np.zeros((4, 2), np.float32))


def test_shap_adam_not_implemented():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(100, 3)).astype(np.float32)
    ens = boostrl.Ensemble(3, optimizer="adam")
    ens.fit(X, X[:, 0], iterations=5)
    with pytest.raises(NotImplementedError):
        ens.shap(X)
    with pytest.raises(NotImplementedError):
        ens.expected_value


# ------------------------------------------------------------------ agents

gym = pytest.importorskip("gymnasium")


def _policy(model):
    return boostrl.Ensemble.from_bytes(model._agent.model_bytes(0))


def test_explain_ppo_cartpole_adds_up_to_chosen_logit():
    model = boostrl.PPO("CartPole-v1", seed=0, n_envs=4, n_steps=64, batch_size=64, n_epochs=2)
    model.learn(3_000)
    assert model.n_trees[0] > 0
    obs = np.random.default_rng(0).normal(size=(40, 4)).astype(np.float32) * 0.2
    ex = model.explain(obs)
    assert ex.contributions.shape == (40, 1, 4)
    assert ex.expected_value.shape == (40, 1) and ex.outputs.shape == (40, 1)
    assert ex.feature_names is None
    acts, _ = model.predict(obs, deterministic=True)
    np.testing.assert_array_equal(ex.actions[:, 0].astype(np.int64), acts)
    logits = _policy(model).predict(obs)
    chosen = logits[np.arange(40), acts]
    assert np.array_equal(acts, logits[:, :2].argmax(axis=1))
    total = ex.contributions.astype(np.float64).sum(axis=-1)[:, 0] + ex.expected_value[:, 0]
    np.testing.assert_allclose(total, chosen, rtol=1e-4, atol=1e-4 * max(1.0, float(np.abs(chosen).max())))
    np.testing.assert_allclose(ex.outputs[:, 0], chosen, rtol=1e-4, atol=1e-4)
    # A single observation drops the batch axis.
    one = model.explain(obs[0])
    assert one.contributions.shape == (1, 4) and one.expected_value.shape == (1,)
    np.testing.assert_allclose(one.contributions, ex.contributions[0], rtol=1e-6, atol=1e-7)
    # Names given by the user come back.
    model.feature_names = ["x", "x_dot", "theta", "theta_dot"]
    assert model.explain(obs[:2]).feature_names == model.feature_names


def test_explain_box_means():
    model = boostrl.PPO("Pendulum-v1", seed=0, n_envs=2, n_steps=32, batch_size=64, n_epochs=1)
    model.learn(256)
    obs = np.random.default_rng(1).uniform(-1, 1, size=(16, 3)).astype(np.float32)
    ex = model.explain(obs)
    assert ex.contributions.shape == (16, 1, 3)
    means = _policy(model).predict(obs)[:, 0]
    total = ex.contributions.astype(np.float64).sum(axis=-1)[:, 0] + ex.expected_value[:, 0]
    np.testing.assert_allclose(total, means, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(np.clip(means, -2, 2), ex.actions[:, 0], rtol=1e-5, atol=1e-6)


def test_explain_dict_observations_names():
    class DictEnv(gym.Env):
        observation_space = gym.spaces.Dict(
            {"pos": gym.spaces.Box(-1, 1, (2,), np.float32), "flag": gym.spaces.Discrete(3)}
        )
        action_space = gym.spaces.Discrete(2)

        def reset(self, *, seed=None, options=None):
            super().reset(seed=seed)
            return self.observation_space.sample(), {}

        def step(self, action):
            o = self.observation_space.sample()
            return o, float(action == (o["pos"][0] > 0)), False, False, {}

    model = boostrl.PPO(DictEnv(), seed=0, n_envs=2, n_steps=32, batch_size=64, n_epochs=1)
    model.learn(256)
    assert model.feature_names == ["flag", "pos[0]", "pos[1]"] or model.feature_names == ["pos[0]", "pos[1]", "flag"]
    o = model.observation_space.sample()
    ex = model.explain(o)
    assert ex.contributions.shape == (1, 3)
    assert ex.feature_names == model.feature_names


@pytest.fixture(scope="module")
def small_ppo():
    model = boostrl.PPO("CartPole-v1", seed=0, n_envs=4, n_steps=64, batch_size=64, n_epochs=2)
    model.learn(1_000)
    return model


def test_explain_plain_without_shap(small_ppo, monkeypatch):
    """Without the shap package explain() returns the plain Explanation;
    as_shap=True says which package is missing."""
    import sys

    monkeypatch.setitem(sys.modules, "shap", None)  # import shap -> ImportError
    obs = np.random.default_rng(2).normal(size=(8, 4)).astype(np.float32) * 0.2
    ex = small_ppo.explain(obs)
    assert type(ex) is boostrl.algorithms.Explanation
    assert ex.contributions.shape == (8, 1, 4) and ex["actions"].shape == (8, 1)
    assert type(small_ppo.explain(obs, as_shap=False)) is boostrl.algorithms.Explanation
    with pytest.raises(ImportError, match="shap"):
        small_ppo.explain(obs, as_shap=True)


def test_explain_as_shap_explanation(small_ppo):
    shap = pytest.importorskip("shap")
    obs = np.random.default_rng(3).normal(size=(30, 4)).astype(np.float32) * 0.2
    plain = small_ppo.explain(obs, as_shap=False)
    ex = small_ppo.explain(obs)
    assert isinstance(ex, shap.Explanation)
    np.testing.assert_array_equal(ex.values, plain.contributions[:, 0, :])
    np.testing.assert_array_equal(ex.base_values, plain.expected_value[:, 0])
    np.testing.assert_array_equal(ex.data, obs)
    # The plain fields stay: attributes and string keys.
    np.testing.assert_array_equal(ex.contributions, plain.contributions)
    np.testing.assert_array_equal(ex["actions"], plain.actions)
    np.testing.assert_array_equal(ex.outputs, plain.outputs)
    # Values plus base values add up to the explained logit.
    np.testing.assert_allclose(ex.values.sum(-1) + ex.base_values, plain.outputs[:, 0], rtol=1e-4, atol=1e-4)
    small_ppo.feature_names = ["x", "x_dot", "theta", "theta_dot"]
    try:
        named = small_ppo.explain(obs)
        assert list(named.feature_names) == small_ppo.feature_names
        one = small_ppo.explain(obs[0])
        assert one.values.shape == (4,) and np.ndim(one.base_values) == 0
        # A slice is a plain shap.Explanation of one feature.
        assert named[:, 2].values.shape == (30,)
        mpl = pytest.importorskip("matplotlib")
        mpl.use("Agg")
        shap.plots.bar(named, show=False)
        shap.plots.beeswarm(named, show=False)
    finally:
        small_ppo.feature_names = None
