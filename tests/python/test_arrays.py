"""What the binding accepts as arrays, and that it copies only when it must."""

import tracemalloc

import numpy as np
import pytest

import boostrl
from boostrl import _core
from conftest import make_data


def _addr(a):
    return a.__array_interface__["data"][0]


def test_contiguous_float32_is_not_copied():
    X = np.random.default_rng(0).normal(size=(64, 5)).astype(np.float32)
    view = _core._as_float32(X, 5)
    assert view is X and _addr(view) == _addr(X)
    # A C-contiguous slice of rows is used in place too.
    rows = X[10:20]
    assert _addr(_core._as_float32(rows, 5)) == _addr(rows)
    # What must be converted is: another dtype, a strided view, big-endian.
    for other in (X.astype(np.float64), X[:, ::-1], np.asfortranarray(X), X.astype(">f4")):
        conv = _core._as_float32(other, 5)
        assert conv.dtype == np.float32 and conv.flags.c_contiguous
        assert _addr(conv) != _addr(other)
        np.testing.assert_array_equal(conv, np.asarray(other, np.float32))


def test_predict_does_not_copy_contiguous_float32():
    """predict on a large float32 matrix allocates its output only; on a
    float64 matrix it also allocates the float32 copy."""
    rng = np.random.default_rng(1)
    ens = boostrl.Ensemble(16)
    X = rng.normal(size=(20000, 16)).astype(np.float32)  # 1.28 MB
    ens.step(X[:500], rng.normal(size=500))
    X64 = X.astype(np.float64)
    out_bytes = len(X) * 4

    def peak(A):
        ens.predict(A)  # warm up
        tracemalloc.start()
        try:
            ens.predict(A)
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    assert peak(X) < out_bytes + 64 * 1024
    assert peak(X64) >= out_bytes + X.nbytes


def test_other_inputs_are_converted(rng):
    X, y = make_data(rng, n=50, k=1)
    ens = boostrl.Ensemble(X.shape[1]).fit(X, y, iterations=3)
    want = ens.predict(X)

    class HasArray:
        def __init__(self, a):
            self.a = a

        def __array__(self, dtype=None, copy=None):
            return self.a if dtype is None else self.a.astype(dtype)

    class HasDLPack:
        """A DLPack producer that is not a numpy array."""

        def __init__(self, a):
            self.a = a

        def __dlpack__(self, **kwargs):
            return self.a.__dlpack__(**kwargs)

        def __dlpack_device__(self):
            return self.a.__dlpack_device__()

    for obj in (
        X.astype(np.float64),
        X.tolist(),
        HasArray(X),
        HasArray(X.astype(np.float64)),
        HasDLPack(X),
        np.asfortranarray(X),
        memoryview(X),
    ):
        np.testing.assert_array_equal(ens.predict(obj), want)
    Xi = np.round(np.nan_to_num(X) * 4).astype(np.int64)
    np.testing.assert_array_equal(ens.predict(Xi), ens.predict(Xi.astype(np.float32)))
    np.testing.assert_array_equal(
        ens.predict(np.ones((2, X.shape[1]), bool)), ens.predict(np.ones((2, X.shape[1]), np.float32))
    )
    # Gradients, rows and bias convert the same way.
    a, b = boostrl.Ensemble(X.shape[1]), boostrl.Ensemble(X.shape[1])
    g = (a.predict(X) - y).astype(np.float64)
    a.step(X, g.tolist(), rows=list(range(50)))
    b.step(HasDLPack(X), HasArray(g.astype(np.float32)), rows=np.arange(50, dtype=np.uint16))
    assert a.to_bytes() == b.to_bytes()
    a.bias = 1
    b.bias = np.array([[1.0]])
    np.testing.assert_array_equal(a.bias, b.bias)


def test_torch_tensors_through_dlpack(rng):
    torch = pytest.importorskip("torch")
    X, y = make_data(rng, n=80, k=2)
    ens = boostrl.Ensemble(X.shape[1], 2).fit(X, y, iterations=4)
    Xt = torch.from_numpy(X)
    # Zero copy: the array the binding reads is the tensor's memory.
    assert _addr(_core._as_float32(Xt, X.shape[1])) == Xt.data_ptr()
    np.testing.assert_array_equal(ens.predict(Xt), ens.predict(X))
    np.testing.assert_array_equal(ens.predict(Xt.double()), ens.predict(X))
    # Gradients straight from autograd (detached).
    pred = torch.tensor(ens.predict(X), requires_grad=True)
    loss = 0.5 * ((pred - torch.from_numpy(y)) ** 2).sum()
    loss.backward()
    before = ens.n_trees
    ens.step(Xt, pred.grad)
    assert ens.n_trees == before + 1
