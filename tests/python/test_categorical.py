"""Categorical columns (X_cat) in the binding: integer codes read in place,
strings through the model's dictionaries (saved with the model), fit through
brl_fit, feature importances, and the Adam and control-variate options,
compared with the C library (ctypes, see conftest.py)."""

import pickle
import tracemalloc

import numpy as np
import pytest

import boostrl
from conftest import make_data

COLORS = np.array(["red", "green", "blue", "cyan", "black"], dtype=object)
SHAPES = np.array(["circle", "square"], dtype=object)


def _addr(a):
    return a.__array_interface__["data"][0]


def cat_data(rng, n=600):
    """Two numeric features and two string columns; the target depends on
    the first string column (green, blue) and on X[:, 0]. Some strings are
    missing (None / NaN)."""
    X = rng.normal(size=(n, 2)).astype(np.float32)
    Xc = np.empty((n, 2), dtype=object)
    Xc[:, 0] = COLORS[rng.integers(0, len(COLORS), n)]
    Xc[:, 1] = SHAPES[rng.integers(0, len(SHAPES), n)]
    Xc[5, 0] = None
    Xc[9, 1] = float("nan")
    effect = {"red": 0.0, "green": 2.0, "blue": -1.5, "cyan": 0.0, "black": 0.0, None: 0.0}
    y = np.array([effect[c] for c in Xc[:, 0]], np.float32) + 0.3 * X[:, 0]
    return X, Xc, y


def train_strings(X, Xc, y, steps=30, **params):
    ens = boostrl.Ensemble(X.shape[1], n_cat_features=Xc.shape[1], grow_policy="greedy", **params)
    ens.bias = [y.mean()]
    with ens.batch(X, Xc) as batch:
        for _ in range(steps):
            batch.step(batch.predictions()[:, 0] - y)
    return ens


# ------------------------------------------------------------------ strings


def test_string_categoricals_round_trip_through_save_and_load(rng, tmp_path):
    X, Xc, y = cat_data(rng)
    ens = train_strings(X, Xc, y)
    # Codes in order of first appearance; missing entries are not entered.
    first = list(dict.fromkeys(c for c in Xc[:, 0] if c is not None))
    assert ens.categories(0) == first and sorted(first) == sorted(COLORS)
    assert sorted(ens.categories(1)) == sorted(SHAPES)
    codes = ens.encode_categories(Xc)
    assert codes.dtype == np.int32 and codes.shape == Xc.shape
    assert codes[5, 0] == -1 and codes[9, 1] == -1
    pred = ens.predict(X, Xc)
    np.testing.assert_array_equal(pred, ens.predict(X, codes))
    # The model learned the colors.
    rmse = np.sqrt(np.mean((pred[:, 0] - y) ** 2))
    assert rmse < 0.25 * np.std(y), rmse

    ens.save(tmp_path / "m.brl")
    for other in (
        boostrl.Ensemble.load(tmp_path / "m.brl"),
        boostrl.Ensemble.from_bytes(ens.to_bytes()),
        pickle.loads(pickle.dumps(ens)),
    ):
        assert other.n_cat_features == 2
        assert [other.categories(j) for j in range(2)] == [ens.categories(j) for j in range(2)]
        np.testing.assert_array_equal(other.encode_categories(Xc), codes)
        np.testing.assert_array_equal(other.predict(X, Xc), pred)
        assert other.to_bytes() == ens.to_bytes()

    # Unseen strings at prediction go to "other": the prediction of a code
    # that no split tests (CAT_UNSEEN, or any code never seen), and they are
    # not added to the dictionary.
    loaded = boostrl.Ensemble.load(tmp_path / "m.brl")
    Xn = Xc[:50].copy()
    Xn[:, 0] = "magenta"
    Xn[::2, 1] = "hexagon"
    got = loaded.encode_categories(Xn)
    assert (got[:, 0] == boostrl.CAT_UNSEEN).all() and (got[::2, 1] == boostrl.CAT_UNSEEN).all()
    p_unseen = loaded.predict(X[:50], Xn)
    never = loaded.encode_categories(Xc[:50])
    never[:, 0] = 1000
    never[::2, 1] = 77
    np.testing.assert_array_equal(p_unseen, loaded.predict(X[:50], never))
    np.testing.assert_array_equal(p_unseen, loaded.predict(X[:50], got))
    assert len(loaded.categories(0)) == 5 and len(loaded.categories(1)) == 2
    assert loaded.to_bytes() == ens.to_bytes()
    # Missing (None / NaN) is -1, its own code.
    Xm = Xc[:50].copy()
    Xm[:, 0] = None
    Xm[:, 1] = np.nan
    np.testing.assert_array_equal(
        loaded.predict(X[:50], Xm), loaded.predict(X[:50], np.full((50, 2), -1, np.int32))
    )


def test_training_calls_add_strings_prediction_does_not(rng):
    X, Xc, y = cat_data(rng, n=64)
    ens = boostrl.Ensemble(2, n_cat_features=2)
    ens.predict(X, Xc)
    assert ens.categories(0) == [] and ens.categories(1) == []
    ens.step(X[:10], y[:10], X_cat=Xc[:10])
    n0 = len(ens.categories(0))
    assert n0 == len({c for c in Xc[:10, 0] if c is not None})
    with ens.batch(X, Xc) as batch:
        # Categorical column j is feature n_features + j.
        assert batch.n_bins(2) == len(COLORS) + 1  # + "other"
    assert sorted(ens.categories(0)) == sorted(COLORS)
    ens.fit(X, y, [["violet", "star"]] * len(X), iterations=1)
    assert ens.categories(0)[-1] == "violet" and ens.categories(-1)[-1] == "star"
    assert ens.encode_categories([["teal", None]]).tolist() == [[boostrl.CAT_UNSEEN, -1]]
    assert ens.encode_categories([["teal", None]], add=True).tolist() == [[6, -1]]
    assert ens.categories(0)[6] == "teal"


def test_string_input_forms_give_the_same_codes():
    ens = boostrl.Ensemble(1, n_cat_features=2)
    rows = [["a", "x"], ["é✓", "y"], ["a", "🐍"], ["", "x"]]
    want = ens.encode_categories(np.array(rows, dtype=object), add=True)
    assert want.tolist() == [[0, 0], [1, 1], [0, 2], [2, 0]]
    assert ens.categories(0) == ["a", "é✓", ""] and ens.categories(1) == ["x", "y", "🐍"]
    forms = [
        rows,
        np.array(rows),  # <U
        np.array(rows).astype(">U4"),  # big-endian unicode
        np.asfortranarray(np.array(rows)),
        np.array(rows)[:, ::-1][:, ::-1],  # strided
        np.array([[s.encode() for s in r] for r in rows]),  # bytes, UTF-8
        np.array([[s.encode() for s in r] for r in rows], dtype=object),
        np.array(rows, dtype=object),
    ]
    if hasattr(np.dtypes, "StringDType"):
        forms.append(np.array(rows, dtype=np.dtypes.StringDType()))
    for form in forms:
        np.testing.assert_array_equal(ens.encode_categories(form), want)
    # Missing entries: None and NaN in lists and object arrays.
    got = ens.encode_categories([["a", None], [float("nan"), np.float32("nan")]])
    assert got.tolist() == [[0, -1], [-1, -1]]
    # Other objects are their str(): 3 is "3", as numpy makes it.
    ens.encode_categories([["3", "x"]], add=True)
    assert ens.encode_categories([[3, "x"]]).tolist() == [[3, 0]]
    # Strings that are not valid UTF-8 round-trip through surrogateescape.
    raw = b"\xff\xfe"
    code = ens.encode_categories(np.array([[raw, b"x"]], dtype=object), add=True)[0, 0]
    name = ens.categories(0)[code]
    assert name.encode("utf-8", "surrogateescape") == raw
    assert ens.encode_categories([[name, "x"]])[0, 0] == code


# ------------------------------------------------------------ integer codes


def test_int32_codes_are_read_in_place(rng):
    ens = boostrl.Ensemble(2, n_cat_features=3)
    X = rng.normal(size=(20000, 2)).astype(np.float32)
    Xc = rng.integers(-1, 8, size=(20000, 3)).astype(np.int32)
    ens.step(X[:500], rng.normal(size=500), X_cat=Xc[:500])
    # What the binding reads is the array itself.
    assert ens.encode_categories(Xc) is Xc
    rows = Xc[100:200]
    assert _addr(ens.encode_categories(rows)) == _addr(rows)
    # predict allocates its output only; int64 codes are converted.
    out_bytes = len(X) * 4

    def peak(C):
        ens.predict(X, C)
        tracemalloc.start()
        try:
            ens.predict(X, C)
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    assert peak(Xc) < out_bytes + 64 * 1024
    assert peak(Xc.astype(np.int64)) >= out_bytes + Xc.nbytes
    # Other integer arrays are converted (negative = missing -> -1).
    for other in (
        Xc.astype(np.int64),
        Xc.astype(np.int16),
        Xc.astype(">i4"),
        np.asfortranarray(Xc),
        Xc.tolist(),
    ):
        conv = ens.encode_categories(other)
        assert conv.dtype == np.int32 and conv.flags.c_contiguous
        assert _addr(conv) != _addr(Xc)
        np.testing.assert_array_equal(conv, Xc)
        np.testing.assert_array_equal(ens.predict(X[:50], other[:50]), ens.predict(X[:50], Xc[:50]))
    big = np.array([[-(2**40), 5, 2**31 - 1]], np.int64)
    assert ens.encode_categories(big).tolist() == [[-1, 5, 2**31 - 1]]
    assert ens.encode_categories(np.array([[0, 7, 255]], np.uint64)).tolist() == [[0, 7, 255]]
    assert ens.encode_categories(np.array([[True, False, True]])).tolist() == [[1, 0, 1]]


def test_categorical_model_predictions_equal_the_c_library(clib, rng, tmp_path):
    X, Xc, y = cat_data(rng)
    ens = train_strings(X, Xc, y, steps=15)
    ens.save(tmp_path / "cat.brl")
    m = clib.load(tmp_path / "cat.brl")
    try:
        codes = ens.encode_categories(Xc)
        np.testing.assert_array_equal(clib.predict_cat(m, X, codes), ens.predict(X, Xc))
        np.testing.assert_array_equal(
            clib.predict_cat(m, X, codes, 3, 9), ens.predict(X, codes, start=3, stop=9)
        )
        # The C model holds the same dictionaries.
        for j in range(2):
            assert clib.cat_size(m, j) == len(ens.categories(j))
            for c, s in enumerate(ens.categories(j)):
                assert clib.cat_encode(m, j, s) == c
        assert clib.cat_encode(m, 0, "magenta") == boostrl.CAT_UNSEEN
        # Steps with the same codes grow the same trees in C and Python.
        g = ens.predict(X, codes)[:, 0] - y
        clib.step(m, X, g, X_cat=codes)
        ens.step(X, g, X_cat=Xc)
        assert clib.to_bytes(m) == ens.to_bytes()
    finally:
        clib.free(m)


# ---------------------------------------------------------------------- fit


def test_fit_with_categories_continues_and_equals_brl_fit(clib, rng, tmp_path):
    X, Xc, y = cat_data(rng)
    ens = boostrl.Ensemble(2, n_cat_features=2, grow_policy="greedy")
    ens.save(tmp_path / "empty.brl")
    ens.fit(X, y, Xc, iterations=10)
    rmse = [np.sqrt(np.mean((ens.predict(X, Xc)[:, 0] - y) ** 2))]
    np.testing.assert_allclose(ens.bias, [y.mean()], rtol=1e-6)
    for seed in (1, 2):
        ens.fit(X, y, X_cat=Xc, iterations=10, batch_size=128, seed=seed)
        rmse.append(np.sqrt(np.mean((ens.predict(X, Xc)[:, 0] - y) ** 2)))
    assert ens.n_trees == 30 and rmse[2] < rmse[1] < rmse[0], rmse
    np.testing.assert_allclose(ens.bias, [y.mean()], rtol=1e-6)  # not reset
    # The same calls of brl_fit through ctypes build the same model (with
    # the same dictionaries, which the model file holds).
    m = clib.load(tmp_path / "empty.brl")
    try:
        for j in range(2):
            for c, s in enumerate(ens.categories(j)):
                assert clib.cat_encode(m, j, s, add=True) == c
        codes = ens.encode_categories(Xc)
        clib.fit(m, X, y, codes, iterations=10)
        for seed in (1, 2):
            clib.fit(m, X, y, codes, iterations=10, batch_size=128, seed=seed)
        assert clib.to_bytes(m) == ens.to_bytes()
    finally:
        clib.free(m)


def test_fit_releases_the_gil():
    """brl_fit runs without the GIL: another Python thread keeps running."""
    import threading
    import time

    rng = np.random.default_rng(0)
    X = rng.normal(size=(20000, 8)).astype(np.float32)
    y = rng.normal(size=20000).astype(np.float32)
    ens = boostrl.Ensemble(8, max_depth=6, n_threads=1)
    ticks = []
    stop = threading.Event()

    def spin():
        while not stop.is_set():
            ticks.append(time.perf_counter())

    th = threading.Thread(target=spin)
    th.start()
    try:
        time.sleep(0.01)
        t0 = time.perf_counter()
        ens.fit(X, y, iterations=40)
        t1 = time.perf_counter()
    finally:
        stop.set()
        th.join()
    ticks = np.array(ticks)
    q = (t1 - t0) / 4
    assert int(np.sum((ticks > t0 + q) & (ticks < t1 - q))) > 100


# -------------------------------------------------------------- importances


def test_importances_point_at_the_informative_feature(clib, rng, tmp_path):
    # Numeric: only feature 2 matters.
    X = rng.normal(size=(500, 4)).astype(np.float32)
    y = np.where(X[:, 2] > 0, 1.0, -1.0).astype(np.float32)
    ens = boostrl.Ensemble(4, grow_policy="greedy", max_depth=3).fit(X, y, iterations=20)
    gain, splits = ens.feature_importances("gain"), ens.feature_importances(kind="splits")
    assert gain.shape == splits.shape == (4,) and gain.dtype == np.float64
    assert gain.argmax() == 2 and gain[2] > 0.5 * gain.sum()
    assert splits[2] > 0 and splits.sum() > 0
    # Categorical: the color column (feature n_features + 0) matters.
    Xn, Xc, yc = cat_data(rng)
    yc = yc - 0.3 * Xn[:, 0]  # colors only
    cat = boostrl.Ensemble(2, n_cat_features=2, grow_policy="greedy").fit(Xn, yc, Xc, iterations=20)
    gain = cat.feature_importances()
    assert gain.shape == (4,) and gain.argmax() == 2 and gain[2] > 0.5 * gain.sum()
    # The C library's own numbers.
    cat.save(tmp_path / "imp.brl")
    m = clib.load(tmp_path / "imp.brl")
    try:
        np.testing.assert_array_equal(clib.feature_importance(m, 1), gain)
        splits = cat.feature_importances("splits")
        np.testing.assert_array_equal(clib.feature_importance(m, 0), splits)
    finally:
        clib.free(m)
    # Feature weights cover the categorical columns too.
    cat.set_feature_weights([1.0, 1.0, 0.0, 1.0])
    with pytest.raises(ValueError, match="weights has 2 values: the model has 4 features"):
        cat.set_feature_weights([1.0, 1.0])


# ------------------------------------------------ Adam and control variates


def test_adam_predictions_match_the_c_library(clib, rng, tmp_path):
    X, y = make_data(rng, n=400, k=2)
    ens = boostrl.Ensemble(X.shape[1], 2, optimizer="adam", adam_beta1=0.8, lr=0.05)
    assert ens.params["optimizer"] == "adam"
    ens.save(tmp_path / "empty.brl")
    m = clib.load(tmp_path / "empty.brl")
    try:
        with ens.batch(X) as batch, clib.batch(m, X) as cb:
            for i in range(12):
                g = batch.predictions() - y
                np.testing.assert_array_equal(cb.predictions(), batch.predictions())
                rows = None if i % 2 else rng.choice(len(X), 128, replace=False)
                batch.step(g if rows is None else g[rows], rows=rows)
                cb.step(g if rows is None else g[rows], rows=rows)
        assert clib.to_bytes(m) == ens.to_bytes()
        Xt = rng.normal(size=(100, X.shape[1])).astype(np.float32)
        np.testing.assert_array_equal(ens.predict(Xt), clib.predict(m, Xt))
        np.testing.assert_array_equal(ens.predict(Xt, stop=5), clib.predict(m, Xt, 0, 5))
    finally:
        clib.free(m)
    loaded = boostrl.Ensemble.load(tmp_path / "empty.brl")
    assert loaded.params["optimizer"] == "adam" and loaded.params["adam_beta1"] == 0.8
    # Adam's prediction is a recursion over the trees: ranges start at 0.
    with pytest.raises(NotImplementedError, match="not additive") as info:
        ens.predict(Xt, start=3)
    assert info.value.status == "BRL_EUNSUPPORTED"
    # It fits.
    fit = boostrl.Ensemble(X.shape[1], 2, optimizer="adam").fit(X, y, iterations=30)
    assert np.mean((fit.predict(X) - y) ** 2) < 0.5 * np.var(y)


def test_control_variates_match_the_c_library(clib, rng, tmp_path):
    X, y = make_data(rng, n=300, k=1)
    ens = boostrl.Ensemble(X.shape[1], control_variates=True, cv_decay=0.7)
    ens.save(tmp_path / "cv.brl")
    m = clib.load(tmp_path / "cv.brl")
    try:
        noise = np.random.default_rng(3)
        with ens.batch(X) as batch, clib.batch(m, X) as cb:
            for _ in range(8):
                g = batch.predictions() - y + noise.normal(size=y.shape).astype(np.float32)
                batch.step(g)
                cb.step(g)
        assert clib.to_bytes(m) == ens.to_bytes()
    finally:
        clib.free(m)


# ------------------------------------------------------------------- errors


def test_bad_x_cat_raises_value_error(rng):
    ens = boostrl.Ensemble(2, n_cat_features=2)
    X = rng.normal(size=(6, 2)).astype(np.float32)
    good = np.zeros((6, 2), np.int32)
    calls = {
        "predict": lambda c: ens.predict(X, c),
        "step": lambda c: ens.step(X, np.zeros(6), X_cat=c),
        "batch": lambda c: ens.batch(X, c),
        "fit": lambda c: ens.fit(X, np.zeros(6), c, iterations=1),
    }
    cases = [
        (None, "the model has 2 categorical features: pass X_cat"),
        (good[:, :1], r"X_cat has shape \(6, 1\).*must be \(6, 2\)"),
        (good[:5], r"X_cat has shape \(5, 2\)"),
        (good.ravel(), r"X_cat has shape \(12,\)"),
        (good[None], r"X_cat has shape \(1, 6, 2\)"),
        (good.astype(np.float32), "integer codes .* got dtype float32"),
        (good.astype(np.complex64), "got dtype complex64"),
        (np.full((6, 2), "a\0b"), "NUL character"),
        (np.full((6, 2), 2**31, np.int64), "below 2\\^31"),
    ]
    for bad, msg in cases:
        for name, call in calls.items():
            with pytest.raises(ValueError, match=msg):
                call(bad)
    # Nothing was added, no tree grown, by the failed calls.
    assert ens.n_trees == 0 and ens.categories(0) == []
    with pytest.raises(ValueError, match="categorical feature 2 does not exist"):
        ens.categories(2)
    with pytest.raises(ValueError, match="X_cat is None"):
        ens.encode_categories(None)
    # One column: a 1-D array is rejected with a hint.
    one = boostrl.Ensemble(1, n_cat_features=1)
    with pytest.raises(ValueError, match=r"reshape\(-1, 1\)"):
        one.predict(np.zeros((3, 1)), ["a", "b", "c"])
