"""Arguments as the compiled core takes them: utility arrays (dtype, layout and shape rules, with
the CLI's messages) and the option values the generators, inference and experiments share
(dims, sizes, lists of numbers or names, intervals)."""

from __future__ import annotations

import warnings
from typing import Any, List, Optional, Sequence, Tuple, Union

import numpy as np

from . import _core
from ._base import Error


def _real_array(x: Any, name: str) -> np.ndarray:
    """x as an ndarray of real numbers, not yet converted: float, integer or boolean (nested
    lists of numbers read as float64). Complex, string, object and other dtypes raise
    :class:`Error`."""
    try:
        v = np.asarray(x)
    except (ValueError, TypeError) as e:
        raise Error(f"{name}: cannot be read as an array of numbers ({e})") from None
    if v.dtype.kind == "c":
        raise Error(f"{name}: dtype {v.dtype} is not supported; expected real numbers (pass {name}.real if the "
                    "imaginary parts are zero)")
    if v.dtype.kind not in "biuf":
        raise Error(f"{name}: dtype {v.dtype} is not supported; expected real numbers: a float, integer or "
                    "boolean array")
    if isinstance(x, (list, tuple)) and v.dtype != np.float64:
        v = v.astype(np.float64)
    return v


def _float64_array(x: Any, name: str) -> np.ndarray:
    """x as a C-contiguous float64 ndarray (:func:`_real_array`'s dtypes cast as NumPy casts)."""
    return np.ascontiguousarray(_real_array(x, name), dtype=np.float64)


def _utility_array(x: Any, name: str, copy: bool) -> np.ndarray:
    """x as a C-contiguous, native-endian float32/float64 ndarray (a view where possible):
    integer, boolean and other float arrays are cast to float64, unless ``copy=False``."""
    x = _real_array(x, name)
    if x.dtype.kind != "f" or x.dtype.itemsize not in (4, 8):
        if not copy:
            raise Error(f"{name}: dtype {x.dtype} needs converting to float64, and copy=False forbids converting it")
        x = x.astype(np.float64)
    if not x.dtype.isnative:
        if not copy:
            raise Error(f"{name}: the array is not in native byte order and copy=False forbids converting it")
        x = x.astype(x.dtype.newbyteorder("="))
    if not x.flags.c_contiguous:
        if not copy:
            raise Error(
                f"{name}: the array is not C-contiguous (strides {x.strides}) and copy=False forbids copying it; "
                f"pass np.ascontiguousarray({name}) or copy=True"
            )
        x = np.ascontiguousarray(x)
    return x


_DLPACK_CUDA = (2, 13)  # DLPack's kDLCUDA and kDLCUDAManaged


def _on_cuda_device(x: Any, name: str) -> bool:
    """Whether x is an array in CUDA device memory that dgeval can read in place (a PyTorch,
    CuPy or JAX array on the GPU: DLPack, ``__dlpack_device__``)."""
    if isinstance(x, np.ndarray):
        return False
    device = getattr(x, "__dlpack_device__", None)
    if device is not None:
        try:
            kind = int(device()[0])
        except Exception:  # not a usable DLPack producer: read as a host array
            return False
        return kind in _DLPACK_CUDA
    if hasattr(x, "__cuda_array_interface__"):
        raise Error(
            f"{name}: a GPU array without DLPack (__cuda_array_interface__ only); "
            "wrap it with cupy.asarray(x) or torch.as_tensor(x, device='cuda')"
        )
    return False


def _shape_text(shape: Sequence[int]) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


_BATCH_FORM = "[B, n, k_1, ..., k_n] (a batch: n = shape[1] players need n + 2 axes)"
_SINGLE_FORM = "[n, k_1, ..., k_n] (one game: n = shape[0] players need n + 1 axes)"


def _read_shape(shape: Tuple[int, ...], batch: Optional[bool], name: str) -> Tuple[Tuple[int, ...], int, bool]:
    """(action counts, games, is_batch) from a utility array shape, with the CLI's rules and
    messages: a batch is [B, n, k_1..k_n], one game [n, k_1..k_n]; a shape that reads both
    ways (B = n + 1) is read as a batch, with a warning unless ``batch`` says which."""
    ndim = len(shape)
    text = _shape_text(shape)
    fits_batch = ndim >= 3 and shape[1] == ndim - 2
    fits_single = ndim >= 2 and shape[0] == ndim - 1
    if batch is None:
        if not fits_batch and not fits_single:
            note = ""
            if ndim >= 2 and (shape[0] > _core.max_players() + 2 or (ndim >= 3 and shape[1] > _core.max_players())):
                note = f"; note that at most {_core.max_players()} players are supported"
            raise Error(f"{name}: shape {text} is not {_BATCH_FORM} or {_SINGLE_FORM}{note}")
        batch = fits_batch
        warn = fits_batch and fits_single
    else:
        warn = False
        if batch and not fits_batch:
            raise Error(f"{name}: shape {text} is not {_BATCH_FORM} (batch=True)")
        if not batch and not fits_single:
            raise Error(f"{name}: shape {text} is not {_SINGLE_FORM} (batch=False)")
    actions = tuple(int(k) for k in shape[2:]) if batch else tuple(int(k) for k in shape[1:])
    try:
        dims_text = _core.dims_text(list(actions))
    except Error as e:
        raise Error(f"{name}: shape {text}: {e}") from None
    games = int(shape[0]) if batch else 1
    if warn:
        warnings.warn(
            f"{name}: shape {text} read as {games} games of {len(actions)} players ({dims_text}); "
            "if it is one game, pass batch=False (batch=True silences this warning)",
            stacklevel=3,
        )
    return actions, games, bool(batch)


def _dims(dims: Union[str, Sequence[int]], name: str = "dims") -> List[int]:
    """Action counts from "3x3" / (3, 3), checked by the C++ Dims (its messages)."""
    if isinstance(dims, str):
        return list(_core.parse_dims(dims))
    try:
        actions = [int(k) for k in dims]
    except (TypeError, ValueError):
        raise Error(f"{name}: expected action counts such as (3, 3) or \"3x3\", got {dims!r}") from None
    _core.dims_text(actions)  # raises Error for no players, too many, counts below 1
    return actions


def _size_list(sizes: Any, name: str = "sizes") -> List[List[int]]:
    """Game sizes from "3x3,5x5x4" or a sequence of dims ("3x3" or (3, 3) each)."""
    if isinstance(sizes, str):
        return [_dims(s, name) for s in sizes.split(",")]
    if len(sizes) > 0 and all(isinstance(k, (int, np.integer)) for k in sizes):
        raise Error(f"{name}: a list of sizes is expected, e.g. [(3, 3), (5, 5, 4)] or \"3x3,5x5x4\"")
    return [_dims(s, name) for s in sizes]


def _float_list(x: Any, name: str) -> List[float]:
    """Numbers from one value, a sequence, or a comma-separated string "0.2,0.9"."""
    if x is None:
        return []
    items = x.split(",") if isinstance(x, str) else (list(np.ravel(x)) if np.ndim(x) else [x])
    out = []
    for item in items:
        try:
            out.append(float(item))
        except (TypeError, ValueError):
            raise Error(f"{name}: not a number: {item!r}") from None
    if not out:
        raise Error(f"{name}: no value")
    return out


def _name_list(x: Any) -> List[str]:
    """Names from "a,b" or a sequence of names."""
    if isinstance(x, str):
        return [s for s in x.split(",") if s]
    return [str(s) for s in x]


def _interval(x: Any, name: str, default: Tuple[float, float]) -> Tuple[float, float]:
    """(lo, hi) from (lo, hi), one value (lo = hi) or "lo,hi"."""
    if x is None:
        return default
    v = _float_list(x, name)
    if len(v) == 1:
        return v[0], v[0]
    if len(v) != 2:
        raise Error(f"{name}: expected (lo, hi) or one value")
    return v[0], v[1]
