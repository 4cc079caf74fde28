"""Results as tables: the :class:`Result` that :func:`dgeval.evaluate` returns and
:func:`dgeval.to_frame`, which turns every tabular thing the package returns into a pandas
DataFrame."""

from __future__ import annotations

from typing import Any, Dict, Optional, Tuple

import numpy as np

from . import _core

#: The kind of each result column ("player_real", "real", "integer", "boolean").
_KINDS: Dict[str, str] = {name: kind for name, kind, _ in _core.result_columns()}

#: Entries evaluate adds beside the columns on request.
_EXTRAS = ("pure_ne", "distance_matrix")

#: Result columns whose value can be undefined: a frame holds them as pandas' nullable boolean
#: (True, False, or <NA> where undefined), whether they arrive as bool or as float64 1/0/NaN.
_NULLABLE_BOOLEAN = ("bound_holds",)


class Result(dict):
    """What :func:`dgeval.evaluate` returns: a dict with one NumPy array per result column, named
    and ordered as :func:`dgeval.result_columns` (plus ``pure_ne`` and ``distance_matrix`` when
    requested), so that ``r["ia"]`` works as for any dict.

    For a batch, per-player columns are [B, n] and per-game columns [B]; for one game
    ([n, k_1..k_n] or ``batch=False``) they are [n] and NumPy scalars.

    :meth:`to_frame` gives a pandas DataFrame with one row per game. ``pandas.DataFrame(r)``
    does not: per-player columns are 2-D (and a single game's columns are scalars).
    """

    def to_frame(self):
        """A pandas DataFrame with one row per game (one row for a single game), indexed by
        ``game`` and laid out as the CLI's CSV: per-player columns expand to
        ``name_0 .. name_{n-1}`` (``ia_0, ia_1, ...``), ``bound_holds`` is pandas' nullable
        boolean ("boolean": <NA> where the check is undefined), ``pure_ne`` (if present) is a
        column of lists of action tuples and ``distance_matrix`` expands to
        ``distance_matrix_a_b``."""
        import pandas as pd

        data, rows = _result_table(self)
        return pd.DataFrame(data, index=pd.RangeIndex(rows, name="game"))

    def __repr__(self) -> str:
        return f"dgeval.Result({dict.__repr__(self)})"


def _batch_form(name: str, value: Any) -> Optional[bool]:
    """True if ``value`` is entry ``name`` of a batch result, False if of a single game, None for
    a name evaluate does not return."""
    if name == "pure_ne":
        if isinstance(value, (list, tuple)):
            return True
        if np.ndim(value) == 2:
            return False
        raise _error(name, value, "a list of [E, n] arrays (a batch) or one [E, n] array (one game)")
    ndim = np.ndim(value)
    if name == "distance_matrix":
        if ndim in (2, 3):
            return ndim == 3
        raise _error(name, value, "[B, 2n, 2n] (a batch) or [2n, 2n] (one game)")
    kind = _KINDS.get(name)
    if kind is None:
        return None
    if kind == "player_real":
        if ndim in (1, 2):
            return ndim == 2
        raise _error(name, value, "[B, n] (a batch) or [n] (one game): a per-player column")
    if ndim in (0, 1):
        return ndim == 1
    raise _error(name, value, "[B] (a batch) or a scalar (one game): a per-game column")


def _error(name: str, value: Any, expected: str) -> Exception:
    from . import Error

    return Error(f"to_frame: result entry '{name}' has shape {np.shape(value)}; expected {expected}")


def _nullable_boolean(name: str, v: np.ndarray):
    """A 1-D bool or float64 (1.0, 0.0, NaN = undefined) column as pandas' "boolean" array."""
    import pandas as pd

    from . import Error

    if v.dtype.kind == "b":
        return pd.arrays.BooleanArray(v.astype(bool, copy=False), np.zeros(v.shape, dtype=bool))
    if v.dtype.kind in "iuf":
        undefined = np.isnan(v) if v.dtype.kind == "f" else np.zeros(v.shape, dtype=bool)
        if not (undefined | (v == 0) | (v == 1)).all():
            raise Error(f"to_frame: result column '{name}' holds values other than 1, 0 and NaN (undefined)")
        return pd.arrays.BooleanArray(v == 1, undefined)
    raise Error(f"to_frame: result column '{name}' has dtype {v.dtype}; expected bool or float64 1/0/NaN")


def _result_table(result: Dict[str, Any]) -> Tuple[Dict[str, Any], int]:
    """(columns, rows) of an evaluate result: one row per game, per-player columns expanded."""
    from . import Error

    forms = {f for f in (_batch_form(name, value) for name, value in result.items()) if f is not None}
    if len(forms) > 1:
        raise Error("to_frame: the result mixes batch entries ([B, ...]) and single-game entries")
    if forms:
        single = forms == {False}
    else:  # only names evaluate does not return: a single game if every entry is a scalar
        single = bool(result) and all(np.ndim(v) == 0 for v in result.values())
    data: Dict[str, Any] = {}
    rows: Optional[int] = None

    def add(name: str, column: Any) -> None:
        nonlocal rows
        if rows is None:
            rows = len(column)
        elif len(column) != rows:
            raise Error(f"to_frame: result column '{name}' has {len(column)} games, the others {rows}")
        data[name] = column

    for name, value in result.items():
        if name == "pure_ne":
            lists = [value] if single else value
            add(name, [[tuple(int(x) for x in row) for row in np.asarray(ne)] for ne in lists])
            continue
        v = np.asarray(value)
        if single:
            v = v[np.newaxis]
        if name == "distance_matrix":
            if v.shape[1] != v.shape[2]:
                raise _error(name, value, "square [2n, 2n] matrices")
            for i in range(v.shape[1]):
                for j in range(v.shape[2]):
                    add(f"{name}_{i}_{j}", v[:, i, j])
        elif _KINDS.get(name) == "player_real":
            for i in range(v.shape[1]):
                add(f"{name}_{i}", v[:, i])
        elif v.ndim != 1:
            expected = "a scalar, as the other entries of one game" if single else "[B], as the other per-game columns"
            raise _error(name, value, expected)
        elif name in _NULLABLE_BOOLEAN:
            add(name, _nullable_boolean(name, v))
        else:
            add(name, v)
    return data, rows or 0


def _is_result(d: Dict[Any, Any]) -> bool:
    """Whether a plain dict holds entries named as evaluate's (e.g. a filtered copy of a result);
    an empty dict is an empty result."""
    return not d or any(isinstance(k, str) and (k in _KINDS or k in _EXTRAS) for k in d)


def _column_frame(d: Dict[Any, Any]):
    """A dict of equal-length 1-D columns as a DataFrame; TypeError for anything else."""
    import pandas as pd

    rows = None
    for name, value in d.items():
        shape = np.shape(value)
        if len(shape) != 1:
            raise TypeError(
                f"to_frame: this dict is not a table: entry {name!r} has shape {shape}, and a table needs "
                "equal-length 1-D columns (evaluate's results expand their per-player columns; other "
                "names than the result columns' are kept as they are)"
            )
        if rows is not None and shape[0] != rows:
            raise TypeError(f"to_frame: this dict is not a table: entry {name!r} has {shape[0]} rows, the first {rows}")
        rows = shape[0]
    return pd.DataFrame(dict(d))


def to_frame(x: Any):
    """A pandas DataFrame of anything tabular that dgeval returns:

    * a :class:`Result` of :func:`evaluate`, or a plain dict with entries named as its (such as
      ``{k: r[k] for k in ("ia", "bound")}``): one row per game, as :meth:`Result.to_frame`;
    * a :class:`Table` of :func:`grid_scan`, :func:`bound_surface` (and its ``points``) or
      :func:`inference_experiment` (and its ``per_game``): the columns of the CLI's CSV;
    * an :class:`Inference` of :func:`infer`: one row per estimate;
    * :class:`Observations`: one row per observation, as the CLI's observation CSV;
    * a :class:`GenerateInfo` (``generate(...).info``): one row per game;
    * :func:`result_columns`: one row per column (name, kind, description);
    * any other dict of equal-length 1-D columns.

    Anything else (games, examples, arrays, ...) raises TypeError saying what to pass instead.
    """
    from . import Column, Example, Games, GenerateInfo, Inference, Observations, Table

    if isinstance(x, (Result, Table, Inference, Observations, GenerateInfo)):
        return x.to_frame()
    if isinstance(x, dict):
        return Result(x).to_frame() if _is_result(x) else _column_frame(x)
    if isinstance(x, (list, tuple)) and x and all(isinstance(c, Column) for c in x):
        import pandas as pd

        return pd.DataFrame(list(x), columns=list(Column._fields))
    if isinstance(x, Games):
        hint = "dgeval.to_frame(games.evaluate()) gives their measures"
        if getattr(x, "info", None) is not None:
            hint += " and dgeval.to_frame(games.info) the generator's report per game"
        raise TypeError(f"to_frame: {type(x).__name__} holds games (utility arrays), not a table; {hint}")
    if isinstance(x, Example):
        raise TypeError("to_frame: an Example is a game, not a table; dgeval.to_frame(example.evaluate()) "
                        "gives its measures")
    raise TypeError(
        f"to_frame: {type(x).__name__} is not a table; expected a Result of evaluate, a Table (grid_scan, "
        "bound_surface, inference_experiment), an Inference, Observations, a GenerateInfo, result_columns() "
        "or a dict of equal-length 1-D columns"
    )
