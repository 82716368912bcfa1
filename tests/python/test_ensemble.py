"""The Ensemble API: parameters, step, batches, predict, files, errors."""

import contextlib
import copy
import io
import pickle
import re
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import boostrl
from boostrl import _core
from conftest import make_data


def test_defaults_and_params():
    ens = boostrl.Ensemble(4)
    assert ens.n_features == 4 and ens.n_outputs == 1 and ens.n_trees == 0
    p = ens.params
    assert p["max_depth"] == 4 and p["n_bins"] == 256
    assert p["grow_policy"] == "oblivious" and p["split_score"] == "cosine"
    assert p["bin_method"] == "quantile" and p["clip_nonfinite"] is False
    assert p["n_cat_features"] == 0 and ens.n_cat_features == 0
    assert p["optimizer"] == "sgd" and p["control_variates"] is False
    assert (p["adam_beta1"], p["adam_beta2"], p["adam_eps"], p["cv_decay"]) == (
        0.9,
        0.999,
        1e-8,
        0.9,
    )
    assert p["groups"] == [
        {
            "n_outputs": 1,
            "lr": 0.1,
            "lr_end": 0.1,
            "schedule": "constant",
            "schedule_trees": 0,
            "score_weight": 1.0,
        }
    ]
    np.testing.assert_array_equal(ens.bias, np.zeros(1, np.float32))
    assert ens.model_bytes > 0
    assert "Ensemble(n_features=4" in repr(ens)


def test_tree_params_and_groups():
    groups = [
        {"n_outputs": 3, "lr": 0.05, "lr_end": 0.01, "schedule": "linear_trees", "schedule_trees": 10},
        {"n_outputs": 1, "lr": 0.2, "score_weight": 0.0},
    ]
    ens = boostrl.Ensemble(
        2,
        groups=groups,
        max_depth=6,
        n_bins=32,
        grow_policy="greedy",
        split_score="l2",
        bin_method="uniform",
        min_data_in_leaf=5,
        n_threads=1,
        clip_nonfinite=True,
        n_cat_features=3,
        optimizer="adam",
        adam_beta1=0.8,
        adam_beta2=0.99,
        adam_eps=1e-6,
        control_variates=True,
        cv_decay=0.5,
    )
    p = ens.params
    assert p["n_cat_features"] == 3 and ens.n_cat_features == 3
    assert p["optimizer"] == "adam" and p["control_variates"] is True
    assert (p["adam_beta1"], p["adam_beta2"], p["adam_eps"], p["cv_decay"]) == (
        0.8,
        0.99,
        1e-6,
        0.5,
    )
    assert "n_cat_features=3" in repr(ens) and "optimizer='adam'" in repr(ens)
    assert ens.n_outputs == 4
    assert (p["max_depth"], p["n_bins"], p["min_data_in_leaf"], p["n_threads"]) == (6, 32, 5, 1)
    assert (p["grow_policy"], p["split_score"], p["bin_method"]) == ("greedy", "l2", "uniform")
    assert p["clip_nonfinite"] is True
    assert p["groups"][0]["schedule"] == "linear_trees" and p["groups"][0]["lr_end"] == 0.01
    assert p["groups"][1]["lr_end"] == 0.2 and p["groups"][1]["score_weight"] == 0.0
    assert ens.group_lr(0) == 0.05 and ens.group_lr(1) == 0.2
    ens.set_group_lr(1, 0.3)
    assert ens.group_lr(1) == 0.3
    ens.n_threads = 2
    assert ens.n_threads == 2


def test_bad_parameters_raise_value_error_with_the_c_message():
    with pytest.raises(ValueError, match="max_depth is 13"):
        boostrl.Ensemble(3, max_depth=13)
    with pytest.raises(ValueError, match="n_bins is 1"):
        boostrl.Ensemble(3, n_bins=1)
    with pytest.raises(ValueError, match=r"groups\[0\].lr is -1"):
        boostrl.Ensemble(3, lr=-1.0)
    with pytest.raises(ValueError, match="n_features is 0"):
        boostrl.Ensemble(0)
    with pytest.raises(ValueError, match="grow_policy is 'deep'"):
        boostrl.Ensemble(3, grow_policy="deep")
    with pytest.raises(ValueError, match="optimizer is 'rmsprop'"):
        boostrl.Ensemble(3, optimizer="rmsprop")
    with pytest.raises(ValueError, match="adam_beta1"):
        boostrl.Ensemble(3, optimizer="adam", adam_beta1=1.0)
    with pytest.raises(ValueError, match="cv_decay is 1"):
        boostrl.Ensemble(3, control_variates=True, cv_decay=1.0)
    with pytest.raises(ValueError, match="n_cat_features -1"):
        boostrl.Ensemble(3, n_cat_features=-1)
    with pytest.raises(ValueError, match="outputs is 2 but the groups have 1"):
        boostrl.Ensemble(3, 2, groups=[{"n_outputs": 1}])
    with pytest.raises(TypeError, match="unknown keys"):
        boostrl.Ensemble(3, groups=[{"n_outputs": 1, "rate": 0.1}])
    with pytest.raises(ValueError, match="use 1 to 8 output groups"):
        boostrl.Ensemble(3, groups=[{"n_outputs": 1}] * 9)
    with pytest.raises(ValueError) as info:
        boostrl.Ensemble(3, min_data_in_leaf=-1)
    assert info.value.status == "BRL_EINVAL"
    ens = boostrl.Ensemble(3)
    with pytest.raises(RuntimeError, match="already initialized"):
        ens.__init__(3)


def test_step_and_predict_shapes(rng):
    X, y = make_data(rng, k=2)
    ens = boostrl.Ensemble(X.shape[1], 2)
    ens.bias = [1.0, -1.0]
    np.testing.assert_array_equal(ens.predict(X[:3]), [[1, -1]] * 3)
    ens.step(X, ens.predict(X) - y)
    assert ens.n_trees == 1
    pred = ens.predict(X)
    assert pred.shape == (len(X), 2) and pred.dtype == np.float32
    assert ens.predict(X[:0]).shape == (0, 2)
    # Tree ranges add up; the bias comes with start == 0 only.
    ens.step(X, (pred - y)[::2], rows=np.arange(0, len(X), 2))
    whole = ens.predict(X)
    np.testing.assert_allclose(ens.predict(X, stop=1) + ens.predict(X, start=1), whole, rtol=1e-6)
    np.testing.assert_array_equal(ens.predict(X, start=-1), ens.predict(X, start=1, stop=2))
    np.testing.assert_array_equal(ens.predict(X, start=0, stop=0), np.tile(ens.bias, (len(X), 1)))
    out = np.empty((len(X), 2), np.float32)
    assert ens.predict(X, out=out) is out
    np.testing.assert_array_equal(out, whole)
    info = ens.tree_info(0)
    assert info["oblivious"] is True and info["n_leaves"] == 2 ** info["depth"]


def test_single_output_gradients_may_be_1d(rng):
    X, y = make_data(rng, k=1)
    a, b = boostrl.Ensemble(X.shape[1]), boostrl.Ensemble(X.shape[1])
    a.step(X, a.predict(X) - y)
    b.step(X, (b.predict(X) - y)[:, 0])
    assert a.to_bytes() == b.to_bytes()


def test_batch_steps_equal_plain_steps(rng):
    X, y = make_data(rng, k=2)
    a = boostrl.Ensemble(X.shape[1], 2, grow_policy="greedy")
    b = boostrl.Ensemble(X.shape[1], 2, grow_policy="greedy")
    with b.batch(X) as batch:
        assert batch.n_rows == len(X) and batch.model is b and not batch.closed
        assert 2 <= batch.n_bins(0) <= 255
        for i in range(10):
            rows = None if i % 2 else np.arange(i, len(X), 3)
            g = a.predict(X) - y
            g = g if rows is None else g[rows]
            a.step(X, g, rows=rows, progress=0.1 * i)
            pb = batch.predictions()
            np.testing.assert_allclose(pb, b.predict(X), rtol=1e-6, atol=1e-6)
            gb = pb - y if rows is None else (pb - y)[rows]
            batch.step(gb, rows=rows, progress=0.1 * i)
        np.testing.assert_allclose(batch.predictions(), b.predict(X), rtol=1e-6, atol=1e-6)
    assert batch.closed
    with pytest.raises(ValueError, match="closed"):
        batch.predictions()
    np.testing.assert_allclose(a.predict(X), b.predict(X), rtol=1e-5, atol=1e-6)
    # Setting the bias invalidates the cache; the batch recomputes.
    batch = b.batch(X)
    b.bias = [5.0, 5.0]
    np.testing.assert_array_equal(batch.predictions(), b.predict(X))
    with pytest.raises(TypeError):
        _core.Batch()


def test_truncate_and_feature_weights(rng):
    X, y = make_data(rng, k=1)
    ens = boostrl.Ensemble(X.shape[1]).fit(X, y, iterations=5)
    first = ens.predict(X, stop=2)
    ens.truncate(2)
    assert ens.n_trees == 2
    np.testing.assert_array_equal(ens.predict(X), first)
    with pytest.raises(ValueError, match="cannot keep 3 trees of 2"):
        ens.truncate(3)
    # Zero weight on every feature but 4: all splits use feature 4... or none.
    w = np.zeros(X.shape[1], np.float32)
    w[4] = 1.0
    ens.set_feature_weights(w)
    ens.set_feature_weights(None)
    with pytest.raises(ValueError, match="weights has 2 values"):
        ens.set_feature_weights([1.0, 1.0])


def test_save_load_bytes_pickle_copy(rng, tmp_path):
    X, y = make_data(rng, k=2)
    ens = boostrl.Ensemble(X.shape[1], 2, max_depth=3).fit(X, y, iterations=8)
    ens.save(tmp_path / "m.brl")
    for other in (
        boostrl.Ensemble.load(tmp_path / "m.brl"),
        boostrl.Ensemble.load(str(tmp_path / "m.brl")),
        boostrl.Ensemble.from_bytes(ens.to_bytes()),
        boostrl.Ensemble.from_bytes(bytearray(ens.to_bytes())),
        boostrl.Ensemble.from_bytes(memoryview(ens.to_bytes())),
        pickle.loads(pickle.dumps(ens)),
        copy.deepcopy(ens),
        copy.copy(ens),
    ):
        assert type(other) is boostrl.Ensemble
        assert other.params == ens.params and other.n_trees == 8
        np.testing.assert_array_equal(other.predict(X), ens.predict(X))
        np.testing.assert_array_equal(other.bias, ens.bias)


def test_errors_map_to_python_exceptions(rng, tmp_path):
    X, y = make_data(rng, k=1)
    ens = boostrl.Ensemble(X.shape[1])
    # BRL_EIO -> OSError
    with pytest.raises(OSError) as info:
        boostrl.Ensemble.load(tmp_path / "missing.brl")
    assert info.value.status == "BRL_EIO" and "missing.brl" in str(info.value)
    with pytest.raises(OSError):
        ens.save(tmp_path / "no" / "such" / "dir.brl")
    # BRL_EFORMAT -> boostrl.FormatError, a ValueError
    data = bytearray(ens.fit(X, y, iterations=2).to_bytes())
    data[len(data) // 2] ^= 0xFF
    with pytest.raises(boostrl.FormatError) as info:
        boostrl.Ensemble.from_bytes(bytes(data))
    assert isinstance(info.value, ValueError) and info.value.status == "BRL_EFORMAT"
    with pytest.raises(boostrl.FormatError, match="not a boostrl"):
        boostrl.Ensemble.from_bytes(b"hello")
    (tmp_path / "trunc.brl").write_bytes(bytes(data[:20]))
    with pytest.raises(boostrl.FormatError):
        boostrl.Ensemble.load(tmp_path / "trunc.brl")
    # BRL_ENUMERIC -> ValueError naming the row
    bad = np.zeros((len(X), 1), np.float32)
    bad[7, 0] = np.nan
    with pytest.raises(ValueError, match="gradient row 7") as info:
        ens.step(X, bad)
    assert info.value.status == "BRL_ENUMERIC"
    with pytest.raises(ValueError, match="bias"):
        ens.bias = [np.inf]
    # BRL_EINVAL from C -> ValueError
    with pytest.raises(ValueError, match="tree range"):
        ens.predict(X, start=0, stop=50)
    with pytest.raises(ValueError, match="a step takes 1 to"):
        ens.step(X, np.zeros((0, 1), np.float32), rows=np.zeros(0, np.int32))
    # Checks of the binding
    with pytest.raises(ValueError, match="the model has 5 features"):
        ens.predict(X[:, :3])
    with pytest.raises(ValueError, match="2-D"):
        ens.predict(X[0])
    with pytest.raises(ValueError, match="grads has shape"):
        ens.step(X, np.zeros((len(X) - 1, 1)))
    with pytest.raises(ValueError, match=r"rows\[1\] is 300"):
        ens.step(X, np.zeros((2, 1)), rows=[0, 300])
    with pytest.raises(ValueError, match=r"rows\[0\] is -1"):
        ens.step(X, np.zeros((1, 1)), rows=np.array([-1], np.int64))
    with pytest.raises(TypeError, match="integer"):
        ens.step(X, np.zeros((2, 1)), rows=[0.0, 1.0])
    with pytest.raises(TypeError, match="numbers"):
        ens.predict(np.array([["a"] * 5]))
    with pytest.raises(ValueError, match="out must be"):
        ens.predict(X, out=np.empty((len(X), 1), np.float64))
    with pytest.raises(ValueError, match="not initialized"):
        boostrl.Ensemble.__new__(boostrl.Ensemble).predict(X)


def test_x_cat_needs_categorical_features_and_importances():
    ens = boostrl.Ensemble(3)
    X = np.zeros((4, 3), np.float32)
    cat = np.zeros((4, 1), np.int32)
    for call in (
        lambda: ens.predict(X, X_cat=cat),
        lambda: ens.step(X, np.zeros(4), X_cat=cat),
        lambda: ens.batch(X, X_cat=cat),
        lambda: ens.fit(X, np.zeros(4), X_cat=cat),
    ):
        with pytest.raises(ValueError, match="no categorical features"):
            call()
    # X_cat=None is accepted everywhere.
    ens.step(X + np.arange(4)[:, None], np.ones(4), X_cat=None)
    ens.predict(X, X_cat=None)
    imp = ens.feature_importances()
    assert imp.dtype == np.float64 and imp.shape == (3,)
    splits = ens.feature_importances("splits")
    assert splits.shape == (3,) and (splits >= 0).all() and (imp >= 0).all()
    np.testing.assert_array_equal(ens.feature_importances("split"), splits)
    with pytest.raises(ValueError, match="kind is 'weight'"):
        ens.feature_importances("weight")


def test_fit_continues_a_model_with_trees(rng):
    X, y = make_data(rng, n=500, k=1)
    ens = boostrl.Ensemble(X.shape[1], grow_policy="greedy")
    ens.fit(X, y, iterations=20)
    np.testing.assert_allclose(ens.bias, [y.mean()], rtol=1e-6)
    rmse1 = np.sqrt(np.mean((ens.predict(X) - y) ** 2))
    ens.bias = ens.bias  # no change
    ens.fit(X, y, iterations=20, batch_size=128, seed=1)
    rmse2 = np.sqrt(np.mean((ens.predict(X) - y) ** 2))
    assert ens.n_trees == 40 and rmse2 < rmse1
    np.testing.assert_allclose(ens.bias, [y.mean()], rtol=1e-6)  # not reset
    # Same seed, same model.
    a = boostrl.Ensemble(X.shape[1]).fit(X, y, iterations=5, batch_size=50, seed=7)
    b = boostrl.Ensemble(X.shape[1]).fit(X, y, iterations=5, batch_size=50, seed=7)
    assert a.to_bytes() == b.to_bytes()
    with pytest.raises(ValueError, match="y has shape"):
        ens.fit(X, y[:-1])
    with pytest.raises(ValueError, match="batch_size is 0"):
        ens.fit(X, y, batch_size=0)
    with pytest.raises(ValueError, match="iterations is -1"):
        ens.fit(X, y, iterations=-1)
    with pytest.raises(ValueError, match="seed is -1"):
        ens.fit(X, y, seed=-1)
    with pytest.raises(ValueError, match="y row 3"):
        ens.fit(X, np.where(np.arange(len(y))[:, None] == 3, np.nan, y))


def test_fit_is_the_c_librarys_brl_fit(clib, rng, tmp_path):
    """Ensemble.fit passes X, y and its options to brl_fit: the same model,
    byte for byte, as brl_fit called through ctypes, fresh and continued."""
    X, y = make_data(rng, n=400, k=2)
    ens = boostrl.Ensemble(X.shape[1], 2, grow_policy="greedy")
    ens.save(tmp_path / "empty.brl")
    m = clib.load(tmp_path / "empty.brl")
    try:
        ens.fit(X, y, iterations=12)
        clib.fit(m, X, y, iterations=12)
        assert clib.to_bytes(m) == ens.to_bytes()
        ens.fit(X, y, iterations=7, batch_size=96, seed=5, shuffle=False)
        clib.fit(m, X, y, iterations=7, batch_size=96, seed=5, shuffle=False)
        assert clib.to_bytes(m) == ens.to_bytes()
        ens.fit(X.astype(np.float64), y.tolist(), iterations=5, batch_size=64, seed=2**63)
        clib.fit(m, X, y, iterations=5, batch_size=64, seed=2**63)
        assert clib.to_bytes(m) == ens.to_bytes()
    finally:
        clib.free(m)



def test_gil_is_released_during_c_work():
    """A pure-Python thread keeps running while predict works in C."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(4000, 8)).astype(np.float32)
    y = rng.normal(size=(4000, 1)).astype(np.float32)
    ens = boostrl.Ensemble(8, max_depth=6, n_threads=1).fit(X, y, iterations=50)
    # An input large enough for predict to take a while in C.
    Xbig, dt = X, 0.0
    while dt < 0.05:
        Xbig = np.concatenate([Xbig, Xbig])
        t0 = time.perf_counter()
        ens.predict(Xbig)
        dt = time.perf_counter() - t0
    stamps = []
    stop = threading.Event()

    def spin():
        while not stop.is_set():
            stamps.append(time.perf_counter())

    th = threading.Thread(target=spin)
    th.start()
    try:
        time.sleep(0.02)
        t0 = time.perf_counter()
        ens.predict(Xbig)
        t1 = time.perf_counter()
    finally:
        stop.set()
        th.join()
    # The other thread ran while C worked. Had predict kept the GIL, the
    # other thread could only have run at the edges of [t0, t1] (a switch
    # interval, 5 ms, at each end), not in its middle half.
    stamps = np.array(stamps)
    q = (t1 - t0) / 4
    during = int(np.sum((stamps > t0 + q) & (stamps < t1 - q)))
    assert during > 100, (during, t1 - t0)


def test_concurrent_threads_on_one_model(rng):
    """Steps and predictions from several threads on one model are
    serialized by the model's lock: no crash, every step lands."""
    X, y = make_data(rng, n=256, k=1)
    ens = boostrl.Ensemble(X.shape[1], n_threads=1)
    errors = []

    def work(seed):
        try:
            r = np.random.default_rng(seed)
            for _ in range(10):
                rows = r.choice(len(X), 64, replace=False)
                ens.step(X, (ens.predict(X) - y)[rows], rows=rows)
                with ens.batch(X) as b:
                    b.step(b.predictions() - y)
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(s,)) for s in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert ens.n_trees == 80


def test_docs_custom_loss_example():
    """The example of docs/PYTHON.md runs and fits."""
    doc = (Path(__file__).resolve().parents[2] / "docs" / "PYTHON.md").read_text()
    code = re.search(r"custom-loss.*?```python\n(.*?)```", doc, re.S).group(1)
    assert len(code.strip().splitlines()) <= 12
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        exec(compile(code, "PYTHON.md", "exec"), {})
    assert float(buf.getvalue()) < 0.1
