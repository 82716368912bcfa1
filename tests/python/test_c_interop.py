"""The binding against the C library itself (loaded with ctypes, see
conftest.py): same predictions, same trees from the same gradients, model
files going both ways."""

import numpy as np
import pytest

import boostrl
from conftest import make_data


def _train_python(X, y, steps, **params):
    ens = boostrl.Ensemble(X.shape[1], y.shape[1], **params)
    ens.bias = y.mean(axis=0)
    for i in range(steps):
        ens.step(X, ens.predict(X) - y, progress=i / steps)
    return ens


@pytest.mark.parametrize("grow_policy", ["oblivious", "greedy"])
def test_predictions_equal_c_library(clib, rng, tmp_path, grow_policy):
    X, y = make_data(rng)
    ens = _train_python(X, y, 15, grow_policy=grow_policy, max_depth=3)
    path = tmp_path / "py.brl"
    ens.save(path)
    m = clib.load(path)
    try:
        Xt = rng.normal(size=(257, X.shape[1])).astype(np.float32)
        Xt[5, 0] = np.nan
        assert clib.n_trees(m) == ens.n_trees == 15
        np.testing.assert_array_equal(ens.predict(Xt), clib.predict(m, Xt))
        for start, stop in [(0, 5), (5, 15), (3, 3), (14, -1)]:
            got = ens.predict(Xt, start=start, stop=None if stop < 0 else stop)
            np.testing.assert_array_equal(got, clib.predict(m, Xt, start, stop))
        # Same bytes: the loaded C model serializes as the Python one does.
        assert clib.to_bytes(m) == ens.to_bytes() == path.read_bytes()
    finally:
        clib.free(m)


def test_same_steps_grow_the_same_model_in_c_and_python(clib, rng, tmp_path):
    """Python's step passes X, grads, rows and progress exactly as C takes
    them: the two models are byte for byte the same."""
    X, y = make_data(rng, n=400, d=6, k=3)
    groups = [
        {"n_outputs": 2, "lr": 0.2, "lr_end": 0.05, "schedule": "linear_progress"},
        {"n_outputs": 1, "lr": 0.1, "score_weight": 0.5},
    ]
    ens = boostrl.Ensemble(6, groups=groups, grow_policy="greedy", split_score="l2")
    ens.bias = y.mean(axis=0)
    path = tmp_path / "start.brl"
    ens.save(path)
    m = clib.load(path)
    try:
        for i in range(12):
            rows = rng.choice(len(X), size=128, replace=False).astype(np.int32)
            grads = (ens.predict(X[rows]) - y[rows]).astype(np.float32)
            if i % 3 == 0:
                grads[0, 0] = 0.0
            ens.step(X, grads, rows=rows, progress=i / 12)
            clib.step(m, X, grads, rows=rows, progress=i / 12)
        assert clib.to_bytes(m) == ens.to_bytes()
    finally:
        clib.free(m)


def test_model_saved_from_c_loads_in_python(clib, rng, tmp_path):
    X, y = make_data(rng, k=1)
    # The parameters come from an empty Python model; the trees are grown
    # and the file written by C.
    boostrl.Ensemble(X.shape[1], 1, max_depth=5).save(tmp_path / "empty.brl")
    m = clib.load(tmp_path / "empty.brl")
    try:
        pred = clib.predict(m, X)
        for _ in range(20):
            clib.step(m, X, pred - y)
            pred = clib.predict(m, X)
        clib.save(m, tmp_path / "c.brl")
        ens = boostrl.Ensemble.load(tmp_path / "c.brl")
        assert isinstance(ens, boostrl.Ensemble)
        assert ens.n_trees == 20 and ens.params["max_depth"] == 5
        np.testing.assert_array_equal(ens.predict(X), pred)
        assert ens.to_bytes() == (tmp_path / "c.brl").read_bytes()
        ens2 = boostrl.Ensemble.from_bytes(clib.to_bytes(m))
        np.testing.assert_array_equal(ens2.predict(X), pred)
    finally:
        clib.free(m)


def test_model_saved_from_python_loads_in_c(clib, rng, tmp_path):
    X, y = make_data(rng, k=2)
    ens = boostrl.Ensemble(X.shape[1], 2, grow_policy="greedy")
    ens.fit(X, y, iterations=25, batch_size=100, seed=3)
    path = tmp_path / "fit.brl"
    ens.save(str(path))
    m = clib.load(path)
    try:
        assert clib.n_trees(m) == 25
        np.testing.assert_array_equal(clib.predict(m, X), ens.predict(X))
        # ... and C can keep training it.
        clib.step(m, X, clib.predict(m, X) - y)
        clib.save(m, path)
        assert boostrl.Ensemble.load(path).n_trees == 26
    finally:
        clib.free(m)
