"""Devices: Ensemble(device=...), .to(), the algorithms' device argument,
and CUDA tensors through DLPack (refused on a cpu ensemble; read and written
in device memory on a cuda one, where a GPU and torch are present)."""

from __future__ import annotations

import ctypes

import numpy as np
import pytest

import boostrl
from boostrl import _core

CUDA = _core.cuda_available()


def make_data(n=200, d=4, k=2, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)).astype(np.float32)
    y = np.stack([np.sin(X[:, 0]) + X[:, j % d] for j in range(k)], 1).astype(np.float32)
    return X, y


def test_cpu_is_the_default():
    X, y = make_data()
    a = boostrl.Ensemble(4, 2).fit(X, y, iterations=5)
    b = boostrl.Ensemble(4, 2, device="cpu").fit(X, y, iterations=5)
    assert a.device == b.device == "cpu"
    assert a.to_bytes() == b.to_bytes()
    assert b.to("cpu") is b and b.device == "cpu"
    np.testing.assert_array_equal(a.predict(X), b.predict(X))


def test_bad_device_name():
    with pytest.raises(ValueError, match="'gpu'.*cpu.*cuda.*auto"):
        boostrl.Ensemble(4, device="gpu")


@pytest.mark.skipif(CUDA, reason="a CUDA device is available")
def test_cuda_without_gpu_is_a_clear_error():
    with pytest.raises(NotImplementedError, match="CUDA backend is not available") as ei:
        boostrl.Ensemble(4, device="cuda")
    assert ei.value.status == "BRL_EUNSUPPORTED"
    e = boostrl.Ensemble(4)
    with pytest.raises(NotImplementedError, match="CUDA"):
        e.to("cuda")
    assert e.device == "cpu"


def test_auto_falls_back_to_cpu():
    X, y = make_data()
    e = boostrl.Ensemble(4, 2, device="auto").fit(X, y, iterations=3)
    assert e.device == ("cuda" if CUDA else "cpu")
    ref = boostrl.Ensemble(4, 2).fit(X, y, iterations=3)
    np.testing.assert_allclose(e.predict(X), ref.predict(X), rtol=1e-5, atol=1e-6)


def test_files_and_pickles_are_device_independent():
    import pickle

    X, y = make_data()
    e = boostrl.Ensemble(4, 2, device="auto").fit(X, y, iterations=3)
    for f in (boostrl.Ensemble.from_bytes(e.to_bytes()), pickle.loads(pickle.dumps(e))):
        assert f.device == "cpu"
        np.testing.assert_array_equal(f.predict(X), e.predict(X))


# --- CUDA tensors through DLPack -------------------------------------------


class _DLDevice(ctypes.Structure):
    _fields_ = [("device_type", ctypes.c_int32), ("device_id", ctypes.c_int32)]


class _DLDataType(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint8), ("bits", ctypes.c_uint8), ("lanes", ctypes.c_uint16)]


class _DLTensor(ctypes.Structure):
    _fields_ = [
        ("data", ctypes.c_void_p),
        ("device", _DLDevice),
        ("ndim", ctypes.c_int32),
        ("dtype", _DLDataType),
        ("shape", ctypes.POINTER(ctypes.c_int64)),
        ("strides", ctypes.POINTER(ctypes.c_int64)),
        ("byte_offset", ctypes.c_uint64),
    ]


class _DLManagedTensor(ctypes.Structure):
    _fields_ = [("dl_tensor", _DLTensor), ("manager_ctx", ctypes.c_void_p), ("deleter", ctypes.c_void_p)]


class FakeCudaTensor:
    """A DLPack producer that claims CUDA device 0 (no GPU needed: the data
    pointer is never dereferenced by the code under test)."""

    def __init__(self, rows, cols):
        self.shape = (ctypes.c_int64 * 2)(rows, cols)
        self.mt = _DLManagedTensor()
        t = self.mt.dl_tensor
        t.data = 0x1000
        t.device = _DLDevice(2, 0)
        t.ndim = 2
        t.dtype = _DLDataType(2, 32, 1)
        t.shape = self.shape
        self.taken = 0

    def __dlpack_device__(self):
        return (2, 0)

    def __dlpack__(self, **kwargs):
        self.taken += 1
        new = ctypes.pythonapi.PyCapsule_New
        new.restype = ctypes.py_object
        new.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p]
        return new(ctypes.addressof(self.mt), b"dltensor", None)


def test_cuda_tensor_on_a_cpu_ensemble_is_refused():
    X, y = make_data()
    e = boostrl.Ensemble(4, 2).fit(X, y, iterations=2)
    fake = FakeCudaTensor(10, 4)
    with pytest.raises(ValueError, match="CUDA tensor.*on the cpu"):
        e.predict(fake)
    assert fake.taken == 0  # refused before touching the tensor
    # CPU DLPack producers keep working as before.

    class HostDLPack:
        def __init__(self, a):
            self.a = a

        def __dlpack__(self, **kwargs):
            return self.a.__dlpack__(**kwargs)

        def __dlpack_device__(self):
            return self.a.__dlpack_device__()

    np.testing.assert_array_equal(e.predict(HostDLPack(X)), e.predict(X))


def _torch_cuda():
    torch = pytest.importorskip("torch")
    if not (CUDA and torch.cuda.is_available()):
        pytest.skip("needs a GPU, the CUDA backend and torch with CUDA")
    return torch


def test_torch_cuda_tensors_stay_on_the_device():
    torch = _torch_cuda()
    X, y = make_data(n=3000, d=6, k=3)
    e = boostrl.Ensemble(6, 3, device="cuda").fit(X, y, iterations=20)
    want = e.predict(X)
    Xd = torch.from_numpy(X).cuda()
    got = e.predict(Xd)
    assert isinstance(got, _core.DeviceArray) and got.shape == (3000, 3)
    t = torch.from_dlpack(got)
    assert t.is_cuda and t.dtype == torch.float32
    np.testing.assert_array_equal(t.cpu().numpy(), want)
    np.testing.assert_array_equal(got.numpy(), want)
    out = torch.full((3000, 3), float("nan"), device="cuda")
    assert e.predict(Xd, out=out) is out
    np.testing.assert_array_equal(out.cpu().numpy(), want)
    np.testing.assert_array_equal(
        torch.from_dlpack(e.predict(Xd, start=5, stop=12)).cpu().numpy(), e.predict(X, start=5, stop=12)
    )
    with pytest.raises(ValueError, match="on the cpu"):
        e.to("cpu").predict(Xd)


# --- the algorithms ----------------------------------------------------------


def test_algorithms_take_sb3s_device(tmp_path):
    m = boostrl.PPO("CartPole-v1", n_envs=2, n_steps=8, batch_size=8, seed=0)
    assert m.device == "cpu" and m.config["device"] == "cpu"
    m = boostrl.A2C("CartPole-v1", n_envs=2, n_steps=8, device="cpu", seed=0)
    assert m.device == "cpu" and m.config["device"] == "cpu"
    m = boostrl.PPO("CartPole-v1", n_envs=2, n_steps=8, batch_size=8, device="auto", seed=0)
    assert m.config["device"] == "auto"
    assert m.device == ("cuda" if CUDA else "cpu")
    m.learn(64)
    path = tmp_path / "agent.brl"
    m.save(path)
    loaded = boostrl.PPO.load(path)
    assert loaded.config["device"] == "auto" and loaded.device == m.device
    loaded = boostrl.PPO.load(path, device="cpu")
    assert loaded.device == "cpu" and loaded.config["device"] == "cpu"
    obs = np.zeros((3, 4), np.float32)
    np.testing.assert_array_equal(loaded.predict(obs, deterministic=True)[0], m.predict(obs, deterministic=True)[0])
    with pytest.raises(ValueError, match="device = 'tpu'"):
        boostrl.DQN("CartPole-v1", device="tpu")


@pytest.mark.skipif(CUDA, reason="a CUDA device is available")
def test_algorithms_cuda_without_gpu_is_a_clear_error():
    with pytest.raises(NotImplementedError, match="device = cuda: the CUDA backend is not available"):
        boostrl.PPO("CartPole-v1", device="cuda")
    m = boostrl.AWR("CartPole-v1", seed=0)
    with pytest.raises(NotImplementedError, match="cuda"):
        m.set_device("cuda")
    assert m.device == "cpu"
