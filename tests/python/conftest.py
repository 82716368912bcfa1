"""Fixtures of the boostrl Python tests.

`clib` is the C library itself, loaded with ctypes, as the reference the
binding is compared with: $BRL_LIB if set, else build/libboostrl.so under the
repository root, else a fresh build of the shared library with cmake in a
temporary folder (skipped only where cmake is missing).
"""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
from pathlib import Path

import pytest

import numpy as np

ROOT = Path(__file__).resolve().parents[2]

c_float_p = ctypes.POINTER(ctypes.c_float)
c_int32_p = ctypes.POINTER(ctypes.c_int32)
c_double_p = ctypes.POINTER(ctypes.c_double)


class FitParams(ctypes.Structure):
    """brl_fit_params (filled by brl_fit_params_default_sized: the header's
    brl_fit_params_default is an inline function)."""

    _fields_ = [
        ("struct_size", ctypes.c_size_t),
        ("iterations", ctypes.c_int),
        ("batch_size", ctypes.c_int64),
        ("shuffle", ctypes.c_int),
        ("seed", ctypes.c_uint64),
    ]


class CLib:
    """The few C calls the tests need, on float32 numpy arrays."""

    def __init__(self, path: str) -> None:
        self.path = path
        lib = ctypes.CDLL(path)
        vp = ctypes.c_void_p
        lib.brl_last_error.restype = ctypes.c_char_p
        lib.brl_model_load.argtypes = [ctypes.c_char_p, ctypes.POINTER(vp)]
        lib.brl_model_save.argtypes = [vp, ctypes.c_char_p]
        lib.brl_model_save_buffer.argtypes = [
            vp,
            ctypes.POINTER(vp),
            ctypes.POINTER(ctypes.c_size_t),
        ]
        lib.brl_free.argtypes = [vp]
        lib.brl_free.restype = None
        lib.brl_model_free.argtypes = [ctypes.POINTER(vp)]
        lib.brl_model_free.restype = None
        lib.brl_model_n_trees.argtypes = [vp]
        lib.brl_model_n_outputs.argtypes = [vp]
        lib.brl_model_n_features.argtypes = [vp]
        lib.brl_model_predict.argtypes = [
            vp,
            c_float_p,
            ctypes.c_int64,
            ctypes.c_int,
            ctypes.c_int,
            c_float_p,
        ]
        lib.brl_model_predict_cat.argtypes = [
            vp,
            c_float_p,
            c_int32_p,
            ctypes.c_int64,
            ctypes.c_int,
            ctypes.c_int,
            c_float_p,
        ]
        lib.brl_model_n_all_features.argtypes = [vp]
        lib.brl_model_feature_importance.argtypes = [vp, ctypes.c_int, c_double_p]
        lib.brl_model_cat_encode.argtypes = [
            vp,
            ctypes.c_int,
            ctypes.c_char_p,
            ctypes.c_int,
            c_int32_p,
        ]
        lib.brl_model_cat_size.argtypes = [vp, ctypes.c_int]
        lib.brl_fit_params_default_sized.argtypes = [
            ctypes.POINTER(FitParams),
            ctypes.c_size_t,
        ]
        lib.brl_fit_params_default_sized.restype = None
        lib.brl_fit.argtypes = [
            vp,
            c_float_p,
            c_int32_p,
            c_float_p,
            ctypes.c_int64,
            ctypes.POINTER(FitParams),
        ]
        lib.brl_batch_create.argtypes = [vp, c_float_p, ctypes.c_int64, ctypes.POINTER(vp)]
        lib.brl_batch_create_cat.argtypes = [
            vp,
            c_float_p,
            c_int32_p,
            ctypes.c_int64,
            ctypes.POINTER(vp),
        ]
        lib.brl_batch_predict.argtypes = [vp, vp, c_float_p]
        lib.brl_batch_free.argtypes = [ctypes.POINTER(vp)]
        lib.brl_batch_free.restype = None
        lib.brl_model_step.argtypes = [
            vp,
            vp,
            c_int32_p,
            ctypes.c_int64,
            c_float_p,
            ctypes.c_float,
        ]
        self.lib = lib

    def check(self, rc: int) -> None:
        if rc != 0:
            raise RuntimeError(f"C call failed ({rc}): {self.lib.brl_last_error().decode()}")

    @staticmethod
    def fptr(a):
        assert a.dtype == np.float32 and a.flags.c_contiguous
        return a.ctypes.data_as(c_float_p)

    @staticmethod
    def iptr(a):
        if a is None:
            return None
        assert a.dtype == np.int32 and a.flags.c_contiguous
        return a.ctypes.data_as(c_int32_p)

    # A model handle is a ctypes.c_void_p; free it with free().
    def load(self, path) -> ctypes.c_void_p:
        m = ctypes.c_void_p()
        self.check(self.lib.brl_model_load(os.fsencode(path), ctypes.byref(m)))
        return m

    def save(self, m, path) -> None:
        self.check(self.lib.brl_model_save(m, os.fsencode(path)))

    def to_bytes(self, m) -> bytes:
        buf, n = ctypes.c_void_p(), ctypes.c_size_t()
        self.check(self.lib.brl_model_save_buffer(m, ctypes.byref(buf), ctypes.byref(n)))
        try:
            return ctypes.string_at(buf, n.value)
        finally:
            self.lib.brl_free(buf)

    def free(self, m) -> None:
        self.lib.brl_model_free(ctypes.byref(m))

    def n_trees(self, m) -> int:
        return self.lib.brl_model_n_trees(m)

    def predict(self, m, X, start=0, stop=-1):
        X = np.ascontiguousarray(X, dtype=np.float32)
        out = np.empty((X.shape[0], self.lib.brl_model_n_outputs(m)), np.float32)
        fn = self.lib.brl_model_predict
        self.check(fn(m, self.fptr(X), X.shape[0], start, stop, self.fptr(out)))
        return out

    def predict_cat(self, m, X, X_cat, start=0, stop=-1):
        X = np.ascontiguousarray(X, dtype=np.float32)
        X_cat = np.ascontiguousarray(X_cat, dtype=np.int32)
        out = np.empty((X.shape[0], self.lib.brl_model_n_outputs(m)), np.float32)
        self.check(
            self.lib.brl_model_predict_cat(
                m, self.fptr(X), self.iptr(X_cat), X.shape[0], start, stop, self.fptr(out)
            )
        )
        return out

    def step(self, m, X, grads, rows=None, progress=0.0, X_cat=None) -> None:
        with self.batch(m, X, X_cat) as b:
            b.step(grads, rows=rows, progress=progress)

    def batch(self, m, X, X_cat=None) -> "CBatch":
        return CBatch(self, m, X, X_cat)

    def fit(self, m, X, y, X_cat=None, iterations=100, batch_size=0, shuffle=True, seed=0):
        X = np.ascontiguousarray(X, dtype=np.float32)
        y = np.ascontiguousarray(y, dtype=np.float32)
        if X_cat is not None:
            X_cat = np.ascontiguousarray(X_cat, dtype=np.int32)
        fp = FitParams()
        self.lib.brl_fit_params_default_sized(ctypes.byref(fp), ctypes.sizeof(fp))
        fp.iterations, fp.batch_size, fp.shuffle, fp.seed = iterations, batch_size, shuffle, seed
        self.check(
            self.lib.brl_fit(
                m, self.fptr(X), self.iptr(X_cat), self.fptr(y), X.shape[0], ctypes.byref(fp)
            )
        )

    def feature_importance(self, m, kind):
        out = np.empty(self.lib.brl_model_n_all_features(m), np.float64)
        self.check(
            self.lib.brl_model_feature_importance(m, kind, out.ctypes.data_as(c_double_p))
        )
        return out

    def cat_encode(self, m, j, value: str, add=False) -> int:
        code = ctypes.c_int32()
        self.check(
            self.lib.brl_model_cat_encode(m, j, value.encode(), int(add), ctypes.byref(code))
        )
        return code.value

    def cat_size(self, m, j) -> int:
        return self.lib.brl_model_cat_size(m, j)


class CBatch:
    """A brl_batch of the C library kept over several steps (a context
    manager that frees it)."""

    def __init__(self, clib: CLib, m, X, X_cat=None) -> None:
        self.clib, self.m = clib, m
        self.X = np.ascontiguousarray(X, dtype=np.float32)
        self.X_cat = None if X_cat is None else np.ascontiguousarray(X_cat, dtype=np.int32)
        self.b = ctypes.c_void_p()
        clib.check(
            clib.lib.brl_batch_create_cat(
                m, clib.fptr(self.X), clib.iptr(self.X_cat), self.X.shape[0], ctypes.byref(self.b)
            )
        )

    def predictions(self):
        out = np.empty((self.X.shape[0], self.clib.lib.brl_model_n_outputs(self.m)), np.float32)
        self.clib.check(self.clib.lib.brl_batch_predict(self.b, self.m, self.clib.fptr(out)))
        return out

    def step(self, grads, rows=None, progress=0.0) -> None:
        grads = np.ascontiguousarray(grads, dtype=np.float32)
        if rows is None:
            rp, n = None, self.X.shape[0]
        else:
            rows = np.ascontiguousarray(rows, dtype=np.int32)
            rp, n = rows.ctypes.data_as(c_int32_p), rows.shape[0]
        self.clib.check(
            self.clib.lib.brl_model_step(self.m, self.b, rp, n, self.clib.fptr(grads), progress)
        )

    def close(self) -> None:
        self.clib.lib.brl_batch_free(ctypes.byref(self.b))

    def __enter__(self) -> "CBatch":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _build_shared_lib(tmp: Path) -> str:
    cmake = shutil.which("cmake")
    if cmake is None:
        pytest.skip("no C library to compare with: set BRL_LIB or install cmake")
    subprocess.run(
        [cmake, "-S", str(ROOT), "-B", str(tmp), "-DBRL_BUILD_TESTS=OFF", "-DBRL_BUILD_CLI=OFF"],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    subprocess.run(
        [cmake, "--build", str(tmp), "--target", "boostrl_shared", "-j2"],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return str(next(tmp.glob("libboostrl.so*")))


@pytest.fixture(scope="session")
def clib(tmp_path_factory) -> CLib:
    path = os.environ.get("BRL_LIB")
    if not path:
        default = ROOT / "build" / "libboostrl.so"
        path = str(default) if default.exists() else None
    if not path:
        path = _build_shared_lib(tmp_path_factory.mktemp("clib"))
    return CLib(path)


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


def make_data(rng, n=300, d=5, k=2):
    """Features with a little structure, a missing value, and MSE gradients
    towards a nonlinear target."""
    X = rng.normal(size=(n, d)).astype(np.float32)
    X[3, 1] = np.nan
    y = np.stack([np.sin(X[:, 0]) + (X[:, 2] > 0.5) * (j + 1) for j in range(k)], axis=1)
    return X, np.nan_to_num(y).astype(np.float32)
