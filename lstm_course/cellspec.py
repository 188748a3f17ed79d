"""What each recurrent cell is, independent of how it is computed: the one table both implementations read.

``reference/cells.py`` (NumPy) and ``nn/cells.py`` (PyTorch) attach their step functions to these entries;
every gate count, gate order and state name in the package is read from here. Adding a cell type starts with
one entry.

Gate order and names are torch's: the rows of ``weight_ih`` (G*H, D) and ``weight_hh`` (G*H, H) are the gates'
blocks of H rows, in ``gates`` order.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CellSpec:
    """One cell type: its name, its gates in torch's row order, and the states it carries between steps."""

    name: str  # "rnn", "lstm", "gru": the key used everywhere (cell="lstm")
    gates: tuple[str, ...]  # the gate blocks of weight_ih/weight_hh, top to bottom
    states: tuple[str, ...]  # what one step passes to the next: ("h",) or ("h", "c")

    @property
    def num_gates(self) -> int:
        """The number of gates, G (weight_ih is (G*H, D))."""
        return len(self.gates)


SPECS: dict[str, CellSpec] = {
    spec.name: spec
    for spec in (
        CellSpec("rnn", gates=("a",), states=("h",)),
        CellSpec("lstm", gates=("i", "f", "g", "o"), states=("h", "c")),
        CellSpec("gru", gates=("r", "z", "n"), states=("h",)),
    )
}


def spec(cell: object) -> CellSpec:
    """The spec of ``cell`` ("rnn", "lstm" or "gru"); ValueError naming ``cell`` otherwise."""
    if not isinstance(cell, str) or cell not in SPECS:
        raise ValueError(f"cell must be one of {sorted(SPECS)}, got {cell!r}")
    return SPECS[cell]
