"""JupyterLab in a real browser, for ``tests/test_browser.py`` (the course as students open it).

``lab_server`` starts JupyterLab on 127.0.0.1 with a free port and a random token, in a copy of the
course folders (running a lesson never touches the committed files), and always shuts it down;
``Lab`` drives one page of it from headless Chromium through Playwright, pointed at the system's
Chromium (Debian packages ``chromium`` and ``chromium-driver``, which ``scripts/ensure_chromium.sh``
installs): Playwright never downloads a browser here.

The page reaches JupyterLab's command registry through ``window.jupyterapp`` (the server is started
with ``--expose-app-in-browser``), so the tests run commands by name, as the menus do.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PANEL = ".jp-NotebookPanel:not(.lm-mod-hidden)"  # the notebook in the current tab


def chromium_path() -> str | None:
    """The system Chromium, or None."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


# Settings of the test user: every cell stays rendered (JupyterLab 4 otherwise renders only the cells
# in view, and the tests read all outputs), and no pop-up asks about Jupyter news.
USER_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def lab_server(workdir: Path, env: dict | None = None, timeout: float = 90.0):
    """Run JupyterLab on ``workdir``; yields ``(base_url, token)``; stops it (and its kernels) on exit."""
    port, token = free_port(), secrets.token_hex(16)
    home = Path(workdir) / ".jupyter-home"  # settings, workspaces and runtime files of this run only
    for sub in ("config", "data", "runtime"):
        (home / sub).mkdir(parents=True, exist_ok=True)
    for plugin, settings in USER_SETTINGS.items():
        path = home / "settings" / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(settings))
    server_env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(home / "config"),
        "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
        "MMLEARN_DEVICE": "cpu",
        **(env or {}),
    }
    server_env.pop("JUPYTER_PATH", None)
    cmd = [
        sys.executable, "-m", "jupyterlab", "--no-browser", "--expose-app-in-browser",
        "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={workdir}",
        f"--LabApp.workspaces_dir={home / 'workspaces'}", f"--LabApp.user_settings_dir={home / 'settings'}",
        "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]  # fmt: skip
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")  # containers and CI machines often run as root
    log = open(Path(workdir) / ".jupyter-home" / "server.log", "w")  # noqa: SIM115 (closed below)
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=server_env, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"JupyterLab exited with {proc.returncode}: see {log.name}")
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"JupyterLab did not answer within {timeout:.0f} s: see {log.name}")
            time.sleep(0.5)
        yield base, token
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)  # the server and the kernels it started
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


class Lab:
    """One JupyterLab page: open a notebook, run commands, wait for the kernel, read what it shows."""

    def __init__(self, page, base: str, token: str):
        self.page, self.base, self.token = page, base, token

    def open(self, path: str, timeout_ms: int = 60_000) -> None:
        """Open ``path`` (relative to the server's root) in a fresh tab; wait until its kernel is idle."""
        if not self.page.evaluate("() => !!window.jupyterapp"):
            self.page.goto(f"{self.base}/lab?token={self.token}", timeout=timeout_ms)
            self.page.wait_for_function(  # every plugin that the tests use has registered its commands
                """() => window.jupyterapp
                         && ['application:close-all', 'docmanager:open', 'notebook:run-all-cells']
                            .every(c => window.jupyterapp.commands.hasCommand(c))""",
                timeout=timeout_ms,
            )
        self.command("application:close-all")
        self.command("docmanager:open", {"path": path, "factory": "Notebook"})
        self.page.wait_for_function(  # the notebook's tab exists, is in front and has loaded its file
            """([p]) => { const app = window.jupyterapp;
                          const w = [...app.shell.widgets('main')]
                                    .find(w => w.context && w.context.path === p);
                          if (!w) return false;
                          if (app.shell.currentWidget !== w) app.shell.activateById(w.id);
                          return w.context.isReady && app.shell.currentWidget === w; }""",
            arg=[path],
            timeout=timeout_ms,
        )
        self.page.wait_for_selector(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell", timeout=timeout_ms)
        self.wait_idle(timeout_ms)

    def command(self, name: str, args: dict | None = None):
        return self.page.evaluate(
            "([name, args]) => window.jupyterapp.commands.execute(name, args)", [name, args or {}]
        )

    def kernel_status(self) -> str:
        return self.page.evaluate(
            """() => {
                const w = window.jupyterapp.shell.currentWidget;
                const s = w && w.sessionContext && w.sessionContext.session;
                const k = s && s.kernel;
                return k ? k.status : 'none';
            }"""
        )

    def wait_idle(self, timeout_ms: int) -> None:
        deadline = time.monotonic() + timeout_ms / 1000
        while self.kernel_status() != "idle":
            if time.monotonic() > deadline:
                raise TimeoutError(f"kernel still {self.kernel_status()!r} after {timeout_ms / 1000:.0f} s")
            time.sleep(0.5)

    def run_all(self, timeout_s: float) -> float:
        """Run every cell (Run > Run All Cells) and wait until none is queued or running; returns seconds."""
        start = time.monotonic()
        self.command("notebook:run-all-cells")
        time.sleep(1.0)
        while True:
            busy = self.page.evaluate(
                """(panel) => [...document.querySelectorAll(panel + ' .jp-InputPrompt')]
                        .some(p => p.textContent.includes('*'))""",
                PANEL,
            )
            if not busy and self.kernel_status() == "idle":
                return time.monotonic() - start
            if time.monotonic() - start > timeout_s:
                raise TimeoutError(f"the notebook was still running after {timeout_s:.0f} s")
            time.sleep(1.0)

    def shutdown_kernels(self) -> None:
        """Stop every kernel of the server (through its REST API), so the next notebook starts alone."""
        with urllib.request.urlopen(f"{self.base}/api/kernels?token={self.token}", timeout=10) as r:
            kernels = json.load(r)
        for kernel in kernels:
            request = urllib.request.Request(
                f"{self.base}/api/kernels/{kernel['id']}?token={self.token}", method="DELETE"
            )
            urllib.request.urlopen(request, timeout=30).close()

    def is_dirty(self) -> bool:
        return self.page.evaluate(
            """() => { const w = window.jupyterapp.shell.currentWidget;
                       return !!(w && w.context && w.context.model.dirty); }"""
        )

    def output_texts(self) -> list[str]:
        return self.page.evaluate(
            """(panel) => [...document.querySelectorAll(panel + ' .jp-OutputArea-output')]
                    .map(o => o.innerText)""",
            PANEL,
        )

    def error_outputs(self) -> list[str]:
        """Texts of the error outputs (tracebacks) shown in the open notebook."""
        return self.page.evaluate(
            """() => [...document.querySelectorAll(
                '.jp-NotebookPanel:not(.lm-mod-hidden) [data-mime-type="application/vnd.jupyter.stderr"]')]
                .filter(o => o.closest('.jp-OutputArea-output') && /Error|Traceback/.test(o.innerText)
                             && o.innerText.includes('Traceback'))
                .map(o => o.innerText.slice(0, 2000))"""
        )

    def images(self) -> list[dict]:
        """Every rendered image output: its natural size (0 x 0 when it failed to load)."""
        return self.page.evaluate(
            """(panel) => [...document.querySelectorAll(panel + ' .jp-RenderedImage img')]
                    .map(i => ({w: i.naturalWidth, h: i.naturalHeight, complete: i.complete}))""",
            PANEL,
        )


def saved_notebook(path: Path) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))
