"""IPython integration: ``%load_ext nbreactive`` registers the ``%%live`` cell magic."""

from __future__ import annotations

from typing import Any

__all__ = ["load_ipython_extension"]


def load_ipython_extension(ipython: Any) -> None:
    from IPython.core.magic import register_cell_magic
    from IPython.display import display

    from nbreactive.widgets import live_cell as live_cells
    from nbreactive.widgets.live_cell import LiveCell, run_code

    # A cell run again stops the live blocks its previous run started (see
    # nbreactive/widgets/live_cell.py); registered once however often the extension loads.
    for event, callback in (("pre_run_cell", live_cells.cell_started),
                            ("post_run_cell", live_cells.cell_finished)):
        if callback not in ipython.events.callbacks[event]:
            ipython.events.register(event, callback)

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
        live_cells.adopt(live_cell)
        cells = namespace.setdefault("_nbreactive_live_cells", [])
        cells[:] = [c for c in cells if not c.stopped]
        cells.append(live_cell)
        display(live_cell)

    del live  # registered by the decorator
