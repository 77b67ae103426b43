"""The course as students open it: JupyterLab 4 in headless Chromium (Playwright, the system browser).

* Every committed notebook opens unchanged (no "unsaved changes"), with no widget error, no progress
  bar stuck at "0%", and its saved figures rendered.
* Lesson 00 and every lesson with a widget run top to bottom from the student copy: no cell shows an
  error, every figure renders as an image, the slider appears, and moving it changes what it shows.
  A screenshot of each goes to ``build/browser/``.

The server runs on a copy of ``solutions/`` and ``notebooks/`` (``tests/browser_harness.py``), so a
run never writes to the committed files. ``scripts/ensure_chromium.sh`` (run by ``make test``)
installs Debian's ``chromium`` and ``chromium-driver`` where they are missing.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
from browser_harness import ROOT, Lab, chromium_path, lab_server, saved_notebook

playwright = pytest.importorskip("playwright.sync_api", reason="Playwright comes with the dev extra")
if chromium_path() is None:
    pytest.skip(
        "no system Chromium: run scripts/ensure_chromium.sh (make test does)", allow_module_level=True
    )

SHOTS = ROOT / "build" / "browser"
COMMITTED = sorted(
    p.relative_to(ROOT).as_posix() for p in (ROOT / "solutions").glob("[0-9][0-9]_*.ipynb")
) + sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def _has_widget(path: Path) -> bool:
    nb = saved_notebook(path)
    sources = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]
    return any("interactive(" in s or "interact(" in s for s in sources)


WITH_WIDGET = [p.name for p in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")) if _has_widget(p)]
RUN_IN_BROWSER = sorted({"00_getting_started.ipynb", *WITH_WIDGET})


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    work = tmp_path_factory.mktemp("lab")
    for folder in ("solutions", "notebooks"):
        shutil.copytree(ROOT / folder, work / folder)
    SHOTS.mkdir(parents=True, exist_ok=True)
    with lab_server(work) as (base, token), playwright.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path())
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        try:
            yield Lab(page, base, token), work
        finally:
            browser.close()


@pytest.mark.parametrize("path", COMMITTED)
def test_committed_notebook_opens_unchanged_and_renders(lab, path):
    lab, work = lab
    lab.open(path)
    time.sleep(1.5)  # let every output and widget view settle
    assert not lab.is_dirty(), f"{path}: JupyterLab marks the committed file as changed on opening"
    texts = "\n".join(lab.output_texts())
    for bad in ("Error displaying widget", "model not found", "Error rendering"):
        assert bad not in texts, f"{path}: an output shows {bad!r}"
    assert "0%|" not in texts.replace("100%|", ""), f"{path}: a saved progress bar reads 0%"
    pngs = sum(
        "image/png" in out.get("data", {})
        for cell in saved_notebook(work / path)["cells"]
        for out in cell.get("outputs", [])
    )
    shown = lab.images()
    assert len(shown) == pngs, f"{path}: {pngs} saved figures but {len(shown)} rendered"
    assert all(img["complete"] and img["w"] > 0 for img in shown), f"{path}: a figure did not load"
    lab.shutdown_kernels()


def _widget_view(lab: Lab) -> dict:
    """What the first interactive widget shows: its output text and the sources of its images."""
    return lab.page.evaluate(
        """() => {
            const box = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .widget-interact');
            if (!box) return null;
            const out = box.querySelector('.jupyter-widgets-output-area, .widget-output');
            return {text: out ? out.innerText : '', images: [...box.querySelectorAll('img')].map(i => i.src)};
        }"""
    )


@pytest.mark.parametrize("name", RUN_IN_BROWSER)
def test_student_lesson_runs_in_jupyterlab(lab, name):
    lab, work = lab
    path = f"notebooks/{name}"
    lab.open(path)
    assert not lab.is_dirty(), f"{path}: JupyterLab marks the committed file as changed on opening"
    seconds = lab.run_all(timeout_s=400)
    errors = lab.error_outputs()
    assert not errors, f"{name}: a cell shows an error after Run All ({seconds:.0f} s):\n{errors[0]}"
    lab.command("docmanager:save")
    time.sleep(1.0)
    saved = saved_notebook(work / path)
    failed = [o for c in saved["cells"] for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not failed, (
        f"{name}: saved with an error output: {failed[0].get('ename')}: {failed[0].get('evalue')}"
    )
    pngs = sum("image/png" in o.get("data", {}) for c in saved["cells"] for o in c.get("outputs", []))
    shown = lab.images()
    assert len(shown) >= pngs and all(i["complete"] and i["w"] > 0 for i in shown), (
        f"{name}: figures did not render"
    )
    if name in WITH_WIDGET:
        before = _widget_view(lab)
        assert before is not None, f"{name}: the interactive widget did not appear"
        handle = lab.page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .widget-interact .noUi-handle").first
        handle.scroll_into_view_if_needed()
        handle.focus()
        for _ in range(3):
            handle.press("ArrowRight")
        deadline = time.monotonic() + 30
        after = _widget_view(lab)
        while after == before and time.monotonic() < deadline:
            time.sleep(0.5)
            after = _widget_view(lab)
        assert after != before, f"{name}: moving the slider did not change what the widget shows"
        # Three key presses queue three runs of the function: let the last one finish, so the screenshot
        # shows the output of the slider's final position (not a middle one).
        settled = None
        while settled != after and time.monotonic() < deadline:
            settled, _ = after, time.sleep(1.5)
            after = _widget_view(lab)
    lab.page.screenshot(path=str(SHOTS / name.replace(".ipynb", ".png")))
    lab.shutdown_kernels()
