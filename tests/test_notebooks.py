"""Run every example notebook (``notebooks/*.ipynb``) from top to bottom with nbclient.

Each notebook is one test, named after the file. A notebook passes when every cell
runs without an uncaught error (a lesson that shows an error catches it in its cell);
a failure names the cell and shows its source and the error.

The kernel is always the interpreter running pytest: ``python3`` is resolved from
ipykernel itself (``KernelSpecManager(kernel_dirs=[])``), never from a kernelspec
installed in the user's or system's Jupyter folders, which may point at some other
Python without nbreactive. So a fresh venv with ``pip install -e ".[test]"`` is
enough — no ``python -m ipykernel install`` step. The kernel starts in the
notebooks folder (so relative paths in a notebook resolve there) with the repository
root on ``PYTHONPATH``, so the notebooks import this checkout's ``nbreactive`` even
when it is not installed.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import nbclient
import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import AsyncKernelManager
from nbclient.exceptions import CellExecutionError, CellTimeoutError
from traitlets import default

REPO_ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS_DIR = REPO_ROOT / "notebooks"
NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("*.ipynb"))

KERNEL_NAME = "python3"
CELL_TIMEOUT_SECONDS = 120
# A whole notebook (kernel start included) may take longer than one cell.
NOTEBOOK_TIMEOUT_SECONDS = 600


class _ThisPythonKernelManager(AsyncKernelManager):
    """A kernel manager whose ``python3`` is ipykernel's native spec for ``sys.executable``."""

    @default("kernel_spec_manager")
    def _kernel_spec_manager_default(self) -> KernelSpecManager:
        # No kernel folders: "python3" falls back to ipykernel's built-in spec, whose
        # argv starts with sys.executable (the interpreter running these tests).
        return KernelSpecManager(kernel_dirs=[], ensure_native_kernel=True)


def _kernel_env() -> dict[str, str]:
    env = dict(os.environ)
    path = env.get("PYTHONPATH")
    env["PYTHONPATH"] = str(REPO_ROOT) + (os.pathsep + path if path else "")
    # Keep kernels quiet and independent of the user's IPython/Jupyter setup.
    env.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    return env


def _failed_cell(nb: nbformat.NotebookNode) -> str:
    """``cell N`` for the cell whose output holds the error (nbclient records outputs
    into ``nb`` as it goes), or ``a cell`` if none does."""
    for n, cell in enumerate(nb.cells):
        if any(out.get("output_type") == "error" for out in cell.get("outputs", [])):
            return f"cell {n}"
    return "a cell"


def test_notebooks_exist() -> None:
    assert NOTEBOOKS, f"no notebooks found in {NOTEBOOKS_DIR}"


def test_python3_kernel_is_this_interpreter() -> None:
    spec = _ThisPythonKernelManager(kernel_name=KERNEL_NAME).kernel_spec
    assert spec is not None
    assert spec.argv[0] == sys.executable, spec.argv


@pytest.mark.timeout(NOTEBOOK_TIMEOUT_SECONDS)
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        nb,
        timeout=CELL_TIMEOUT_SECONDS,
        kernel_name=KERNEL_NAME,
        kernel_manager_class=_ThisPythonKernelManager,
        resources={"metadata": {"path": str(NOTEBOOKS_DIR)}},
        allow_errors=False,
    )
    try:
        client.execute(env=_kernel_env())
    except CellTimeoutError as e:
        pytest.fail(
            f"{path.name}: a cell ran longer than {CELL_TIMEOUT_SECONDS} s:\n{e}", pytrace=False
        )
    except CellExecutionError as e:
        # str(e) holds the failing cell's source and the kernel's traceback.
        pytest.fail(f"{path.name}: {_failed_cell(nb)} failed:\n{e}", pytrace=False)
