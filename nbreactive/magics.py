"""IPython integration: ``%load_ext nbreactive`` registers the ``%%live`` cell magic."""

from __future__ import annotations

from typing import Any

__all__ = ["load_ipython_extension"]


def load_ipython_extension(ipython: Any) -> None:
    from IPython.core.magic import register_cell_magic
    from IPython.display import display

    from nbreactive.widgets.live_cell import LiveCell, run_code

    @register_cell_magic  # type: ignore[misc]
    def live(line: str, cell: str) -> None:
        """%%live: run the cell now and again whenever data it read changes.

        The cell's output (printed text, displayed objects, the value of its last
        line) is replaced on every re-run; errors show in the output and the cell
        recovers when the data does. The line may name the cell: ``%%live totals``.
        """
        namespace = ipython.user_ns
        label = line.strip() or "%%live"
        live_cell = LiveCell(lambda: run_code(cell, namespace), label=label)
        namespace.setdefault("_nbreactive_live_cells", []).append(live_cell)
        display(live_cell)

    del live  # registered by the decorator
