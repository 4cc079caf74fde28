"""Arrays on a CUDA GPU (DLPack: PyTorch, CuPy, JAX) go to the CUDA backend in place.

Without a GPU, the routing and the checks are exercised with a stand-in array that speaks DLPack
and claims CUDA memory (its data are host memory): every backend must refuse it with a clear
error, never read it. With a GPU and CuPy or PyTorch, real device arrays are compared with the
host evaluation of the same games.
"""

import ctypes

import numpy as np
import pytest

import dgeval


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


_capsule_new = ctypes.pythonapi.PyCapsule_New
_capsule_new.restype = ctypes.py_object
_capsule_new.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p]


class FakeCudaArray:
    """A C-contiguous (or strided) array that says, through DLPack, it lives on CUDA device 0."""

    def __init__(self, host: np.ndarray, strides=None):
        self._host = host
        self.shape = host.shape
        self.dtype = host.dtype
        self._shape = (ctypes.c_int64 * host.ndim)(*host.shape)
        self._strides = None if strides is None else (ctypes.c_int64 * host.ndim)(*strides)
        self._tensors = []

    def __dlpack_device__(self):
        return (2, 0)  # kDLCUDA, device 0

    def __dlpack__(self, stream=None, **kwargs):
        t = _DLManagedTensor()
        t.dl_tensor.data = self._host.ctypes.data
        t.dl_tensor.device = _DLDevice(2, 0)
        t.dl_tensor.ndim = self._host.ndim
        t.dl_tensor.dtype = _DLDataType(2, self._host.dtype.itemsize * 8, 1)  # kDLFloat
        t.dl_tensor.shape = self._shape
        t.dl_tensor.strides = self._strides
        t.dl_tensor.byte_offset = 0
        self._tensors.append(t)  # kept alive with the array (no deleter)
        return _capsule_new(ctypes.addressof(t), b"dltensor", None)


def games(dims=(3, 2), count=5, dtype=np.float64):
    a, p = dgeval.generate_uniform(dims, count, 7)
    return a.astype(dtype), p.astype(dtype)


@pytest.mark.parametrize("backend", ["auto", "cpu"])
def test_device_memory_is_never_read_as_host_memory(backend):
    a, p = games()
    with pytest.raises(dgeval.Error, match="CUDA device memory"):
        dgeval.evaluate(FakeCudaArray(a), FakeCudaArray(p), backend=backend)


def test_device_arrays_are_checked_before_any_backend():
    a, p = games()
    with pytest.raises(dgeval.Error, match="both be on the GPU or both in host memory"):
        dgeval.evaluate(FakeCudaArray(a), p)
    with pytest.raises(dgeval.Error, match="differ in shape"):
        dgeval.evaluate(FakeCudaArray(a), FakeCudaArray(p[:3]))
    with pytest.raises(dgeval.Error, match="same dtype"):
        dgeval.evaluate(FakeCudaArray(a), FakeCudaArray(p.astype(np.float32)))
    with pytest.raises(dgeval.Error, match="float32 or float64"):
        dgeval.evaluate(FakeCudaArray(a.astype(np.float16)), FakeCudaArray(p.astype(np.float16)))
    # [5, 2, 3, 2] arrays whose last two axes are stored transposed (column-major games).
    with pytest.raises(dgeval.Error, match="C-contiguous"):
        dgeval.evaluate(FakeCudaArray(a, strides=(12, 6, 1, 3)), FakeCudaArray(p, strides=(12, 6, 1, 3)))
    with pytest.raises(dgeval.Error, match="device=1 but the arrays are on CUDA device 0"):
        dgeval.evaluate(FakeCudaArray(a), FakeCudaArray(p), device=1)


def test_an_array_with_only_the_cuda_array_interface_is_refused_clearly():
    class OnlyCai:
        shape = (2, 3, 2)
        __cuda_array_interface__ = {"shape": (2, 3, 2), "typestr": "<f8", "data": (0, True), "version": 3}

    a, p = games(count=1)
    with pytest.raises(dgeval.Error, match="without DLPack"):
        dgeval.evaluate(OnlyCai(), p[0])


def _gpu_array_module():
    if not dgeval.cuda_available():
        return None
    for name in ("cupy", "torch"):
        try:
            return __import__(name)
        except ImportError:
            pass
    return None


@pytest.mark.skipif(_gpu_array_module() is None, reason="needs a usable GPU and CuPy or PyTorch")
def test_real_device_arrays_match_the_host():
    xp = _gpu_array_module()
    for dtype in (np.float64, np.float32):
        a, p = games((4, 3, 2), 300, dtype)
        host = dgeval.evaluate(a, p, backend="cpu", list_equilibria=True)
        if xp.__name__ == "torch":
            da, dp = xp.as_tensor(a, device="cuda"), xp.as_tensor(p, device="cuda")
        else:
            da, dp = xp.asarray(a), xp.asarray(p)
        gpu = dgeval.evaluate(da, dp, list_equilibria=True)
        for name in ("ia", "ca_principals", "ne_count", "principals_welfare_regret"):
            np.testing.assert_allclose(gpu[name], host[name], rtol=1e-9, atol=1e-12, err_msg=name)
