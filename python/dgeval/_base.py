"""What every part of the package shares, from the compiled core (dgeval/dgeval.hpp): the
exceptions, the result columns and their flag bits, and whether CUDA is usable."""

from __future__ import annotations

import enum
from typing import List, NamedTuple, Tuple

from . import _core


#: Raised for bad input and misuse (bad arrays, unknown option names, out-of-range levels,
#: NaN utilities, ...). A subclass of ValueError; the message is the one the CLI prints.
Error = _core.Error
Error.__module__ = "dgeval"

#: Raised when the ``progress`` callback of :func:`evaluate` returns False.
Cancelled = _core.Cancelled
Cancelled.__module__ = "dgeval"


class BackendWarning(UserWarning):
    """``backend="auto"`` fell back to the CPU although dgeval was built with CUDA (issued once
    per process, with the reason; pass ``backend="cpu"`` to choose the CPU explicitly)."""


class Column(NamedTuple):
    """One result column: ``kind`` is "player_real" (float64 [B, n]), "real" (float64 [B]),
    "integer" (int64 [B]) or "boolean" (float64 [B]: 1.0, 0.0, or NaN where undefined)."""

    name: str
    kind: str
    description: str


_COLUMNS: Tuple[Column, ...] = tuple(Column(*c) for c in _core.result_columns())

#: Bits of the ``flags`` result column (``Flag(r["flags"][g])`` names them).
Flag = enum.IntFlag("Flag", [(name, value) for name, value in _core.result_flags()], module="dgeval")


def result_columns() -> List[Column]:
    """All result columns in output order (the CLI's order and names)."""
    return list(_COLUMNS)


def cuda_available() -> bool:
    """True if the CUDA backend is compiled in and a usable device is present."""
    return bool(_core.cuda_status()[0])
