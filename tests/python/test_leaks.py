"""No leaks over 10,000 calls: reference counts of the inputs stay put,
Python allocations (tracemalloc) and the process's resident memory (C
allocations) do not grow."""

import gc
import os
import sys
import tracemalloc

import numpy as np
import pytest

import boostrl

N_CALLS = 10_000


def _rss_bytes():
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        return None


def _check(fn, *objs, max_growth=64 * 1024):
    """Calls fn N_CALLS times; inputs keep their refcounts and memory stays
    flat (after a warm-up that fills caches and free lists)."""
    for _ in range(200):
        fn()
    gc.collect()
    refs = [sys.getrefcount(o) for o in objs]
    rss0 = _rss_bytes()
    tracemalloc.start()
    try:
        snap0 = tracemalloc.take_snapshot()
        for _ in range(N_CALLS):
            fn()
        gc.collect()
        snap1 = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    assert [sys.getrefcount(o) for o in objs] == refs
    growth = sum(s.size_diff for s in snap1.compare_to(snap0, "filename"))
    assert growth < max_growth, growth
    rss1 = _rss_bytes()
    if rss0 is not None:
        assert rss1 - rss0 < 8 * 1024 * 1024, (rss0, rss1)


@pytest.fixture(scope="module")
def setup():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(256, 6)).astype(np.float32)
    y = rng.normal(size=(256, 2)).astype(np.float32)
    ens = boostrl.Ensemble(6, 2, max_depth=3, n_threads=1).fit(X, y, iterations=10)
    return ens, X, y


def test_predict_does_not_leak(setup):
    ens, X, _ = setup
    X64 = X.astype(np.float64)
    out = np.empty((len(X), 2), np.float32)
    Xs = X[:16]
    _check(lambda: ens.predict(Xs), ens, Xs)
    _check(lambda: ens.predict(X64, start=2, stop=-1), ens, X64)
    _check(lambda: ens.predict(X, out=out), ens, X, out)


def test_step_and_batches_do_not_leak(setup):
    ens, X, y = setup
    model = boostrl.Ensemble(6, 2, max_depth=3, n_threads=1)
    g = (model.predict(X) - y).astype(np.float32)
    rows = np.arange(0, 256, 2)
    g_rows = np.ascontiguousarray(g[rows])

    def step():
        model.step(X, g_rows, rows=rows)
        model.truncate(0)  # the model itself stays the same size

    _check(step, model, X, g_rows, rows)

    def batch():
        with model.batch(X) as b:
            b.step(g)
            b.predictions()
        model.truncate(0)

    _check(batch, model, X, g)


def test_files_and_accessors_do_not_leak(setup, tmp_path):
    ens, X, _ = setup
    data = ens.to_bytes()
    path = tmp_path / "m.brl"
    ens.save(path)

    def roundtrip():
        boostrl.Ensemble.from_bytes(data).to_bytes()
        ens.bias = ens.bias
        ens.n_trees + ens.model_bytes
        ens.params

    _check(roundtrip, ens, data)
    _check(lambda: boostrl.Ensemble.load(path), ens, path)


def test_errors_do_not_leak(setup, tmp_path):
    ens, X, _ = setup
    bad = np.full((len(X), 2), np.nan, np.float32)
    short = X[:, :3]
    missing = tmp_path / "missing.brl"

    def errors():
        for call in (
            lambda: ens.step(X, bad),
            lambda: ens.predict(short),
            lambda: ens.predict(X, stop=99),
            lambda: boostrl.Ensemble.from_bytes(b"garbage!" * 4),
            lambda: boostrl.Ensemble.load(missing),
            lambda: ens.step(X, bad[:, :1], rows=[0, 1]),
        ):
            try:
                call()
            except (ValueError, OSError):
                pass
            else:  # pragma: no cover
                raise AssertionError("no error")

    _check(errors, ens, X, bad, short)


def test_categorical_calls_do_not_leak():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(64, 2)).astype(np.float32)
    names = np.array(["red", "green", "blue", "cyan"], dtype=object)
    Xc = np.stack([names[rng.integers(0, 4, 64)], names[rng.integers(0, 2, 64)]], axis=1)
    Xc[3, 0] = None
    y = rng.normal(size=64).astype(np.float32)
    ens = boostrl.Ensemble(2, n_cat_features=2, max_depth=3, n_threads=1)
    ens.fit(X, y, Xc, iterations=5)
    codes = ens.encode_categories(Xc)
    Xu = Xc.astype(str)
    short = codes[:3]

    def calls():
        ens.predict(X, Xc)
        ens.predict(X, Xu)
        ens.predict(X, codes)
        ens.encode_categories(Xc)
        ens.categories(0)
        ens.feature_importances()
        try:
            ens.predict(X, short)
        except ValueError:
            pass

    _check(calls, ens, X, Xc, Xu, codes, short, *names)

    model = boostrl.Ensemble(2, n_cat_features=2, max_depth=3, n_threads=1)

    def train():
        model.step(X, y, X_cat=Xc)
        with model.batch(X, Xu) as b:
            b.step(b.predictions()[:, 0] - y)
        model.fit(X, y, codes, iterations=1)
        model.truncate(0)

    _check(train, model, X, Xc, Xu, codes, y, *names)
