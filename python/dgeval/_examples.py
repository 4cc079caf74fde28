"""The built-in worked games of docs/MATH.md §8 (dgeval/examples.hpp, ``dgeval examples``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List

import numpy as np

from . import _core
from ._evaluate import evaluate
from ._frame import Result


@dataclass(frozen=True)
class Example:
    """A worked game of docs/MATH.md §8: one game, agents and principals [n, k_1..k_n] float64, and the
    keyword arguments of :func:`evaluate` docs/MATH.md §8 evaluates it with."""

    name: str
    description: str
    agents: np.ndarray = field(repr=False)
    principals: np.ndarray = field(repr=False)
    options: Dict[str, Any] = field(default_factory=dict)

    def evaluate(self, **kwargs: Any) -> Result:
        """``evaluate(self.agents, self.principals, **{**self.options, **kwargs})``."""
        return evaluate(self.agents, self.principals, **{**self.options, **kwargs})


def example(name: str) -> Example:
    """The built-in example called ``name`` ("mammoth", "mammoth-negated", "misaligned",
    "matching-pennies", "common-3x3", "max-ca-negative"); :class:`Error` if unknown."""
    n, description, agents, principals, options = _core.example(str(name))
    return Example(n, description, agents, principals, dict(options))


def examples() -> List[Example]:
    """Every built-in example, in the order of docs/MATH.md §8."""
    return [example(name) for name in _core.example_names()]
