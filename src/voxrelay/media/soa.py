"""Per-stream state as numpy columns (structure of arrays), so one tick updates every leg.

A ``Table`` has named columns, each a numpy array with one row per stream (and optional
trailing dimensions, e.g. a ring of payloads). ``add`` hands out a free row filled with the
columns' defaults, ``remove`` frees it, ``move`` copies a row into another table (a leg
joining or leaving a media clock's batch). Columns grow by doubling, so code keeps row
numbers, never the arrays themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import numpy as np

Ints = np.ndarray[Any, np.dtype[np.int64]]


@dataclass(frozen=True, slots=True)
class Column:
    """A column: numpy ``dtype``, the value of a fresh row, and per-row ``shape``."""

    dtype: Any
    default: Any = 0
    shape: tuple[int, ...] = ()


class Table:
    """Rows of state with the given ``columns`` (read them as attributes)."""

    def __init__(self, columns: dict[str, Column], capacity: int = 4) -> None:
        self._columns = columns
        self._capacity = 0
        self._free: list[int] = []
        self._grow(max(1, capacity))

    def _grow(self, capacity: int) -> None:
        for name, column in self._columns.items():
            array = np.full((capacity, *column.shape), column.default, dtype=column.dtype)
            if self._capacity:
                array[: self._capacity] = getattr(self, name)
            setattr(self, name, array)
        self._free.extend(range(capacity - 1, self._capacity - 1, -1))
        self._capacity = capacity

    def add(self) -> int:
        """A free row, filled with the defaults."""
        if not self._free:
            self._grow(2 * self._capacity)
        row = self._free.pop()
        for name, column in self._columns.items():
            getattr(self, name)[row] = column.default
        return row

    def remove(self, row: int) -> None:
        self._free.append(row)

    def move(self, row: int, into: Table) -> int:
        """Copy ``row`` into a new row of ``into`` (same columns), free it here; returns the
        new row."""
        new = into.add()
        for name in self._columns:
            getattr(into, name)[new] = getattr(self, name)[row]
        self.remove(row)
        return new

    def __getattr__(self, name: str) -> Any:  # columns are set in _grow; this is for mypy
        raise AttributeError(name)


B = TypeVar("B", bound=Table)


class RowView(Generic[B]):
    """One stream's view of its row in a bank (``bank``, ``row``); streams ticked alone
    have a bank of their own, which ``move_to`` trades for a media tick's and back."""

    def __init__(self, bank: B) -> None:
        self.bank = bank
        self.row = bank.add()

    def move_to(self, bank: B) -> None:
        """Carry this row's state into ``bank``."""
        if bank is not self.bank:
            self.row = self.bank.move(self.row, bank)
            self.bank = bank

    def free(self) -> None:
        """Give the row back to its bank (the stream is gone)."""
        self.bank.remove(self.row)


def rounds(rows: Any) -> list[Any]:
    """Index arrays that split ``rows`` so no row repeats within one (arrival order kept);
    ``[None]`` when no row repeats."""
    if len(rows) < 2:
        return [None]
    order = np.argsort(rows, kind="stable")
    ranked = rows[order]
    first = np.r_[True, ranked[1:] != ranked[:-1]]
    if first.all():
        return [None]
    starts = np.maximum.accumulate(np.where(first, np.arange(len(rows)), 0))
    rank = np.empty(len(rows), dtype=np.int64)
    rank[order] = np.arange(len(rows)) - starts
    return [np.flatnonzero(rank == k) for k in range(int(rank.max()) + 1)]
