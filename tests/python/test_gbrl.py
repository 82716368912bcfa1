"""The gbrl workflow (boosting from gradients computed outside the library)
against scikit-learn. The binding's per-call overhead is measured by
bench/python_overhead.py (timings are not asserted in tests)."""

import numpy as np
import pytest

import boostrl
from boostrl import _core

sklearn = pytest.importorskip("sklearn")
from sklearn.datasets import load_diabetes  # noqa: E402
from sklearn.ensemble import GradientBoostingRegressor  # noqa: E402

DEPTH, LR, TREES = 4, 0.1, 100


def _rmse(a, b):
    return float(np.sqrt(np.mean((np.asarray(a, np.float64).ravel() - b) ** 2)))


def test_diabetes_steps_with_numpy_mse_gradients_match_sklearn():
    X, y = load_diabetes(return_X_y=True)
    sk = GradientBoostingRegressor(
        max_depth=DEPTH, learning_rate=LR, n_estimators=TREES, random_state=0
    ).fit(X, y)
    sk_rmse = _rmse(sk.predict(X), y)

    ens = boostrl.Ensemble(X.shape[1], 1, lr=LR, max_depth=DEPTH, grow_policy="greedy", split_score="l2")
    ens.bias = [y.mean()]
    Xf = X.astype(np.float32)
    yf = y.astype(np.float32)[:, None]
    for _ in range(TREES):
        grads = ens.predict(Xf) - yf  # d/dpred of 0.5 * (pred - y)^2
        ens.step(Xf, grads)
    assert ens.n_trees == TREES
    rmse = _rmse(ens.predict(Xf), y)
    print(f"\ndiabetes training RMSE: boostrl {rmse:.3f}, scikit-learn {sk_rmse:.3f}")
    assert rmse <= 1.05 * sk_rmse

    # fit() (here in Python over step) does the same with a batch.
    fitted = boostrl.Ensemble(X.shape[1], 1, lr=LR, max_depth=DEPTH, grow_policy="greedy", split_score="l2")
    fitted.fit(Xf, yf, iterations=TREES)
    assert _rmse(fitted.predict(Xf), y) <= 1.05 * sk_rmse
    np.testing.assert_allclose(fitted.predict(Xf), ens.predict(Xf), rtol=1e-4, atol=1e-3)


def test_time_predict_counts_c_calls():
    """_core._time_predict (the C side of bench/python_overhead.py, which
    measures the binding's per-call overhead; timings are not asserted in
    tests) runs the predictions it is asked for on valid input only."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 8)).astype(np.float32)
    ens = boostrl.Ensemble(8, 2, max_depth=4, n_threads=1)
    ens.fit(X, rng.normal(size=(64, 2)), iterations=5)
    assert _core._time_predict(ens, np.ascontiguousarray(X[:16]), 10) > 0.0
    with pytest.raises(ValueError):
        _core._time_predict(ens, np.zeros((4, 3), np.float32), 10)
    with pytest.raises(ValueError, match="repeats"):
        _core._time_predict(ens, np.ascontiguousarray(X[:16]), 0)
