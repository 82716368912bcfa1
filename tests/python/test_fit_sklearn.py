"""brl_fit against scikit-learn's GradientBoostingRegressor on the diabetes
data: same depth, rate and tree count; boostrl's training RMSE must be within
5% of scikit-learn's. Calls the C library directly through ctypes."""
import ctypes
import os
import pathlib

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")
from sklearn.datasets import load_diabetes  # noqa: E402
from sklearn.ensemble import GradientBoostingRegressor  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[2]
LIB = os.environ.get("BRL_LIB", str(ROOT / "build" / "libboostrl.so"))


class Group(ctypes.Structure):
    _fields_ = [("n_outputs", ctypes.c_int), ("lr", ctypes.c_float),
                ("lr_end", ctypes.c_float), ("schedule", ctypes.c_int),
                ("schedule_trees", ctypes.c_int),
                ("score_weight", ctypes.c_float)]


# brl_params and brl_fit_params as the header lays them out; the header's
# _default functions are inline wrappers, so ctypes calls the exported
# _sized ones with the struct's size.
class Params(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_size_t),
                ("n_features", ctypes.c_int), ("n_groups", ctypes.c_int),
                ("groups", Group * 8), ("max_depth", ctypes.c_int),
                ("min_data_in_leaf", ctypes.c_int), ("n_bins", ctypes.c_int),
                ("grow_policy", ctypes.c_int), ("split_score", ctypes.c_int),
                ("bin_method", ctypes.c_int), ("n_threads", ctypes.c_int),
                ("clip_nonfinite", ctypes.c_int),
                ("n_cat_features", ctypes.c_int), ("optimizer", ctypes.c_int),
                ("adam_beta1", ctypes.c_float), ("adam_beta2", ctypes.c_float),
                ("adam_eps", ctypes.c_float),
                ("control_variates", ctypes.c_int),
                ("cv_decay", ctypes.c_float)]


class FitParams(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_size_t),
                ("iterations", ctypes.c_int), ("batch_size", ctypes.c_int64),
                ("shuffle", ctypes.c_int), ("seed", ctypes.c_uint64)]


@pytest.fixture(scope="module")
def lib():
    if not pathlib.Path(LIB).exists():
        pytest.skip(f"{LIB} not built")
    lib = ctypes.CDLL(LIB)
    lib.brl_last_error.restype = ctypes.c_char_p
    return lib


def fit_boostrl(lib, X, y, grow):
    fptr = ctypes.POINTER(ctypes.c_float)
    p = Params()
    lib.brl_params_default_sized(ctypes.byref(p), ctypes.c_size_t(ctypes.sizeof(p)),
                                 X.shape[1], 1)
    p.max_depth = 4
    p.grow_policy = grow
    p.groups[0].lr = p.groups[0].lr_end = 0.1
    m = ctypes.c_void_p()
    assert lib.brl_model_create(ctypes.byref(p), ctypes.byref(m)) == 0
    fp = FitParams()
    lib.brl_fit_params_default_sized(ctypes.byref(fp),
                                     ctypes.c_size_t(ctypes.sizeof(fp)))
    fp.iterations = 100
    X = np.ascontiguousarray(X, dtype=np.float32)
    y32 = np.ascontiguousarray(y, dtype=np.float32)
    rc = lib.brl_fit(m, X.ctypes.data_as(fptr), None, y32.ctypes.data_as(fptr),
                     ctypes.c_int64(len(y)), ctypes.byref(fp))
    assert rc == 0, lib.brl_last_error()
    out = np.zeros(len(y), dtype=np.float32)
    rc = lib.brl_model_predict(m, X.ctypes.data_as(fptr), ctypes.c_int64(len(y)),
                               0, -1, out.ctypes.data_as(fptr))
    assert rc == 0, lib.brl_last_error()
    lib.brl_model_free(ctypes.byref(m))
    return float(np.sqrt(np.mean((out - y) ** 2)))


def test_diabetes_within_5_percent_of_sklearn(lib):
    X, y = load_diabetes(return_X_y=True)
    ref = GradientBoostingRegressor(max_depth=4, n_estimators=100,
                                    learning_rate=0.1, random_state=0)
    ref.fit(X, y)
    ref_rmse = float(np.sqrt(np.mean((ref.predict(X) - y) ** 2)))
    greedy = fit_boostrl(lib, X, y, grow=1)
    print(f"diabetes training RMSE: sklearn {ref_rmse:.3f}, "
          f"boostrl greedy {greedy:.3f}")
    assert greedy <= 1.05 * ref_rmse
    # Oblivious trees are constrained but must still learn the data.
    oblivious = fit_boostrl(lib, X, y, grow=0)
    assert oblivious < 0.8 * float(np.std(y))
