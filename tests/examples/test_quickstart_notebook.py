"""examples/quickstart.ipynb runs top to bottom in a real kernel and shows what it says."""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parents[2] / "examples" / "quickstart.ipynb"


def outputs_of(cell: nbformat.NotebookNode) -> str:
    texts = []
    for out in cell.get("outputs", []):
        texts.append(str(out.get("text", "")))
        for kind in ("text/plain", "text/html"):
            texts.append(str(out.get("data", {}).get(kind, "")))
    return "\n".join(texts)


def test_the_notebook_is_stored_without_outputs() -> None:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(not c.outputs and c.execution_count is None for c in code)


def test_quickstart_executes_and_shows_the_mesh_at_work(tmp_path: Path) -> None:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    shown = "\n".join(outputs_of(c) for c in nb.cells if c.cell_type == "code")
    assert (tmp_path / ".mesh" / "audit.sqlite").exists(), "the mesh lives where it ran"
    assert "('weather', 0.3" in shown  # the registered agent is found by meaning
    assert "Paris tomorrow: light rain, 14 °C (by weather)" in shown
    assert "14 °C = 57.2 °F (by units)" in shown
    assert "60 km = 37.2822715342 mi (by units)" in shown
    assert "graph TD;" in shown and "discover" in shown
    assert "task_started" in shown and "391 m = 1282.80839895 ft" in shown
    assert "2/2 tasks done (2 succeeded)" in shown
    assert 'data-state="succeeded"' in shown  # the DAG drawn from the events
    assert "policy denied 'mallory' dispatch to 'weather'" in shown
    assert "Oslo tomorrow: snow, -3 °C" in shown and "chain intact" in shown
