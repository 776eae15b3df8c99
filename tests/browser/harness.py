"""The real-browser test harness: JupyterLab / Voila servers and a guarded Chromium.

Tests import the helpers from here and get servers and pages from the fixtures in
``conftest.py``. Every page fails its test on a console error, an uncaught
exception, or any request that tries to leave 127.0.0.1 (the offline check).

Every ``timeout`` a helper takes is a budget at normal speed: the helper scales it
by ``KINO_TEST_TIMEOUT_SCALE`` (``tests/conftest.py``), as tests should scale their
own waits with ``budget`` / ``budget_ms``.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat

from tests.conftest import budget, budget_ms

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"
CHROMIUM = Path(os.environ.get("KINO_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Console messages that JupyterLab itself prints in a healthy session, matched as
# substrings. Keep this list short and say why each entry is harmless.
BENIGN_CONSOLE_ERRORS: tuple[str, ...] = ()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_http(url: str, process: subprocess.Popen, log: Path, timeout: float = 90) -> None:
    timeout = budget(timeout)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log.read_text()[-4000:]
            raise RuntimeError(f"server exited with {process.returncode}:\n{tail}")
        try:
            with urllib.request.urlopen(url, timeout=budget(2)) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"server did not answer {url} in {timeout}s:\n{log.read_text()[-4000:]}")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=budget(10))
    except (ProcessLookupError, subprocess.TimeoutExpired):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=budget(10))


@dataclass
class Server:
    """A JupyterLab or Voila server running on 127.0.0.1 in its own temporary root."""

    kind: str
    root: Path
    port: int
    token: str
    process: subprocess.Popen
    log: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str = "") -> str:
        """Absolute URL of ``path`` on this server, with the token when it has one."""
        sep = "&" if "?" in path else "?"
        suffix = f"{sep}token={self.token}" if self.token else ""
        return f"{self.base}/{path.lstrip('/')}{suffix}"

    def stop(self) -> None:
        _stop(self.process)


def _server_env(home: Path, python: Path | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "JUPYTER_CONFIG_DIR": str(home / "config"),
            "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
            "IPYTHONDIR": str(home / "ipython"),
            "JUPYTER_PLATFORM_DIRS": "1",
            "PYTHONUNBUFFERED": "1",
        }
    )
    # Run kernels with this interpreter so they import the kino under test.
    bin_dir = str(Path(python or sys.executable).parent)
    env["PATH"] = bin_dir + os.pathsep + env.get("PATH", "")
    return env


def start_lab(root: Path, home: Path, python: Path | None = None) -> Server:
    """Start JupyterLab on ``root`` (settings and workspaces kept under ``home``).

    ``python`` is the interpreter of the environment to serve (default: this one).
    """
    port, token = free_port(), "kino-test-token"
    log = home / "jupyterlab.log"
    home.mkdir(parents=True, exist_ok=True)
    # No "get notified about Jupyter news?" toast over the widgets in screenshots.
    notification = home / "settings" / "@jupyterlab" / "apputils-extension"
    notification.mkdir(parents=True, exist_ok=True)
    (notification / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')
    command = [
        str(python or sys.executable), "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1",
        f"--port={port}", f"--ServerApp.token={token}", f"--ServerApp.root_dir={root}",
        "--allow-root", "--LabApp.news_url=",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--LabApp.expose_app_in_browser=True",
        f"--LabApp.user_settings_dir={home / 'settings'}",
        f"--LabApp.workspaces_dir={home / 'workspaces'}",
        "--ServerApp.iopub_msg_rate_limit=1000",
    ]  # fmt: skip
    process = subprocess.Popen(
        command, cwd=root, env=_server_env(home, python), stdout=log.open("wb"),
        stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    server = Server("lab", root, port, token, process, log)
    try:
        _wait_http(server.url("api/status"), process, log)
    except BaseException:
        server.stop()
        raise
    return server


def start_voila(root: Path, home: Path, notebook_dir: str = ".") -> Server:
    """Start standalone Voila (as ``make dashboard`` does) serving ``root / notebook_dir``."""
    port = free_port()
    log = home / "voila.log"
    home.mkdir(parents=True, exist_ok=True)
    # Serve the working tree's kino template (JUPYTER_PATH comes before the installed
    # copy), so a template change is tested before it is installed. Copied, not
    # linked: Voila refuses files behind a link that leaves its data directory.
    data = home / "share"
    shutil.copytree(REPO / "kino" / "voila_templates", data / "voila" / "templates",
                    dirs_exist_ok=True)  # fmt: skip
    env = _server_env(home)
    env["JUPYTER_PATH"] = os.pathsep.join(filter(None, [str(data), env.get("JUPYTER_PATH")]))
    command = [
        sys.executable, "-m", "voila", notebook_dir, "--template=kino", "--no-browser",
        "--Voila.ip=127.0.0.1",
        f"--port={port}", "--show_tracebacks=True",
    ]  # fmt: skip
    process = subprocess.Popen(
        command, cwd=root, env=env, stdout=log.open("wb"),
        stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    server = Server("voila", root, port, "", process, log)
    try:
        _wait_http(server.url(""), process, log)
    except BaseException:
        server.stop()
        raise
    return server


def write_notebook(server: Server, name: str, cells: list[str | tuple[str, str]]) -> Path:
    """Write a notebook into the server's root: code cells as strings, ``("markdown", text)`` too.

    >>> write_notebook(lab, "chart.ipynb", ["import kino", "kino.markdown('**hi**')"])
    """
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)",
                                 "language": "python"}  # fmt: skip
    for cell in cells:
        if isinstance(cell, tuple):
            kind, source = cell
            nb.cells.append(
                nbformat.v4.new_markdown_cell(source) if kind == "markdown"
                else nbformat.v4.new_code_cell(source)
            )  # fmt: skip
        else:
            nb.cells.append(nbformat.v4.new_code_cell(cell))
    path = server.root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


@dataclass
class PageGuard:
    """What went wrong in a page: console errors, page errors and blocked requests."""

    problems: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    # Console errors a test has declared expected from here on (substrings).
    forgiven: set[str] = field(default_factory=set)

    def take(self) -> list[str]:
        """Return and forget the problems seen so far (for tests that expect some)."""
        taken = self.problems + [f"request blocked: {u}" for u in self.blocked]
        self.problems.clear()
        self.blocked.clear()
        return taken


def guard_page(page: Any, allowed_origin: str) -> PageGuard:
    """Record console errors and uncaught exceptions; abort requests leaving ``allowed_origin``."""
    guard = PageGuard()

    def on_console(message: Any) -> None:
        if message.type != "error":
            return
        text = message.text
        if any(benign in text for benign in (*BENIGN_CONSOLE_ERRORS, *guard.forgiven)):
            return
        location = message.location or {}
        guard.problems.append(f"console error: {text} ({location.get('url', '')})")

    def on_route(route: Any) -> None:
        url = route.request.url
        if url.startswith((allowed_origin, "data:", "blob:")):
            route.continue_()
        else:
            guard.blocked.append(url)
            route.abort()

    page.on("console", on_console)
    page.on("pageerror", lambda error: guard.problems.append(f"uncaught exception: {error}"))
    page.route("**/*", on_route)
    return guard


# True once no finite CSS animation or transition is running (a spinner that loops forever
# does not count); wait_for_function checks it once per frame.
SETTLED = """() => document.getAnimations().every(a => a.playState !== 'running'
    || a.effect?.getComputedTiming().iterations === Infinity)"""


def settle(page: Any, timeout: float = 30_000) -> None:
    """Wait until the page's CSS transitions and finite animations have finished.

    A theme switch fades colours in; a picture taken meanwhile shows half of each theme.

    >>> set_theme(page, "dark"); settle(page)  # what set_theme and screenshot do
    """
    page.wait_for_function(SETTLED, timeout=budget_ms(timeout))


# A 1x1 GIF the probe image gets from a route, so the probe touches no server.
PROBE_GIF = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
PROBE_PATH = "/__kino_probe__.gif"


def after_image_requests(page: Any, src: str | None = None, timeout: float = 30_000) -> None:
    """Load one probe image (``src``, default a GIF a route answers) and wait for its events.

    An image the page asked for before it (a remote pixel, an injected ``<img src=x
    onerror=...>``) has been requested, and its handler has had its turn, by then: the
    condition a test waits on before it checks that nothing was fetched or run.

    >>> after_image_requests(page, "x"); page.evaluate("() => window.__kinoXss")
    """
    if src is None:
        page.route(
            f"**{PROBE_PATH}",
            lambda route: route.fulfill(status=200, content_type="image/gif", body=PROBE_GIF),
        )
    page.evaluate(
        """src => { window.__kinoProbe = false; const image = new Image();
        image.onload = image.onerror = () => { window.__kinoProbe = true; };
        image.src = new URL(src, location.href).href; }""",
        src or PROBE_PATH,
    )
    page.wait_for_function("() => window.__kinoProbe === true", timeout=budget_ms(timeout))


def screenshot(page: Any, name: str, selector: str | None = None) -> Path:
    """Save a PNG of the page (or of one element) to ``artifacts/screenshots/<name>.png``.

    Transitions finish first (``settle``), so the picture shows one state.
    """
    settle(page)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    if selector:
        page.locator(selector).first.screenshot(path=str(path))
    else:
        page.screenshot(path=str(path), full_page=False)
    return path


def wait_until(page: Any, condition: Callable[[], Any], what: str, timeout: float = 30_000) -> Any:
    """Let the page run until ``condition()``, checked in Python, is true; return its value.

    For conditions the page cannot evaluate itself (what ``guard_page`` recorded, a
    file the kernel wrote). ``timeout`` is in milliseconds, scaled like every budget.

    >>> wait_until(page, lambda: page.kino_guard.blocked, "a blocked request")
    """
    limit = budget_ms(timeout)
    deadline = time.monotonic() + limit / 1000
    while not (value := condition()):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} did not happen within {limit:.0f} ms")
        page.wait_for_timeout(100)  # a polling step: playwright delivers events meanwhile
    return value


def lab_command(page: Any, command: str, args: dict | None = None) -> Any:
    """Run a JupyterLab command in the page (the app is exposed by the harness).

    Returns the command's result when it is plain data; a widget (what "launcher:create"
    gives) comes back as None, since playwright cannot serialize one."""
    return page.evaluate(
        """([c, a]) => window.jupyterapp.commands.execute(c, a).then((result) => {
          try {
            return JSON.parse(JSON.stringify(result ?? null));
          } catch {
            return null;
          }
        })""",
        [command, args or {}],
    )


def wait_for_app(page: Any, timeout: float = 90_000) -> None:
    """Wait until JupyterLab has started, activated its plugins and restored its layout."""
    timeout = budget_ms(timeout)
    page.wait_for_function("() => window.jupyterapp !== undefined", timeout=timeout)
    page.evaluate("() => window.jupyterapp.restored.then(() => true)")


def set_theme(page: Any, theme: str) -> None:
    """Switch JupyterLab to the ``"light"`` or ``"dark"`` theme and wait until it applies."""
    names = {"light": "JupyterLab Light", "dark": "JupyterLab Dark"}
    if theme not in names:
        raise ValueError(f"theme must be 'light' or 'dark', got {theme!r}")
    lab_command(page, "apputils:change-theme", {"theme": names[theme]})
    page.wait_for_function(
        "light => document.body.dataset.jpThemeLight === light",
        arg="true" if theme == "light" else "false",
        timeout=budget_ms(30_000),
    )
    settle(page)


def open_notebook(page: Any, server: Server, name: str, timeout: float = 90_000) -> None:
    """Open a notebook in JupyterLab and wait until its kernel is idle."""
    # A fresh workspace per page, so JupyterLab does not reopen an earlier test's notebooks.
    workspace = f"t{uuid.uuid4().hex[:12]}"
    page.goto(server.url(f"lab/workspaces/{workspace}/tree/{name}"), timeout=budget_ms(timeout))
    wait_for_app(page, timeout=timeout)
    timeout = budget_ms(timeout)
    page.wait_for_selector(".jp-Notebook", timeout=timeout)
    page.wait_for_function(
        """() => {
            const panel = window.jupyterapp.shell.currentWidget;
            const kernel = panel && panel.sessionContext && panel.sessionContext.session
                && panel.sessionContext.session.kernel;
            return kernel && kernel.status === 'idle' && kernel.connectionStatus === 'connected';
        }""",
        timeout=timeout,
    )


_CELL_ERRORS = """() => {
    const panel = window.jupyterapp.shell.currentWidget;
    const out = [];
    for (const cell of panel.content.widgets) {
        if (cell.model.type !== 'code') continue;
        for (const o of cell.model.outputs.toJSON()) {
            if (o.output_type === 'error') out.push(o.ename + ': ' + o.evalue);
        }
    }
    return out;
}"""


def run_all(page: Any, timeout: float = 180_000) -> None:
    """Run every cell of the open notebook and wait until each code cell has executed.

    Run All stops at the first cell that raises, so that cell's error ends the wait
    at once and fails the call with the error text.
    """
    lab_command(page, "notebook:run-all-cells")
    timeout = budget_ms(timeout)
    page.wait_for_function(
        f"""() => {{
            const panel = window.jupyterapp.shell.currentWidget;
            if (!panel || !panel.content) return false;
            const idle = panel.sessionContext.session.kernel.status === 'idle';
            if (idle && ({_CELL_ERRORS})().length > 0) return true;
            const cells = panel.content.widgets.filter(c => c.model.type === 'code');
            return idle && cells.every(c => c.model.executionCount !== null
                && !c.node.querySelector('.jp-InputArea-prompt')?.textContent?.includes('*'));
        }}""",
        timeout=timeout,
    )
    failed = page.evaluate(_CELL_ERRORS)
    if failed:
        raise AssertionError(f"cells raised: {failed}")


def run_notebook(page: Any, server: Server, name: str, timeout: float = 180_000) -> None:
    """Open ``name`` in JupyterLab, run all cells and wait for them to finish.

    Cell errors fail the call with the error text, so a test never waits on a
    widget that a failed cell never displayed.
    """
    open_notebook(page, server, name, timeout=timeout)
    try:
        run_all(page, timeout=timeout)
    except AssertionError as error:
        raise AssertionError(f"{name}: {error}") from None


def copy_notebooks(destination: Path) -> Path:
    """Copy the curated notebooks into a fresh folder for a server to serve."""
    source = REPO / "notebooks"
    if source.is_dir():
        shutil.copytree(source, destination, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints"))  # fmt: skip
    else:
        destination.mkdir(parents=True, exist_ok=True)
    return destination


def widget_state_of(notebook: Path) -> dict[str, Any]:
    """The saved widget state of a notebook file (empty when none was saved)."""
    data = json.loads(notebook.read_text())
    return (
        data.get("metadata", {})
        .get("widgets", {})
        .get("application/vnd.jupyter.widget-state+json", {})
    )


# JupyterLab's debugger asks a kernel for its state as the kernel starts; a kernel
# shut down or restarted before it answers cancels that request, and JupyterLab logs it.
DEBUGGER_CANCELLED = "Could not restore the debugger state: Canceled future"


def forgive_debugger_cancellation(page: Any, guard: PageGuard | None = None) -> None:
    """Drop that one message from the page's problems, now and from here on (JupyterLab
    may log it after the shutdown returns); any other problem still fails."""
    guard = guard or getattr(page, "kino_guard", None)
    if guard is None:
        return
    guard.forgiven.add(DEBUGGER_CANCELLED)
    kept = [p for p in guard.take() if DEBUGGER_CANCELLED not in p]
    guard.problems.extend(kept)


def end_sessions(server: Server, path: str) -> None:
    """Shut down the kernels of ``path``'s sessions (an earlier test's), so it opens on a
    fresh kernel: JupyterLab reconnects a reopened notebook to its running kernel, whose
    live widgets the widget manager restores and marks the notebook modified for."""
    with urllib.request.urlopen(server.url("api/sessions"), timeout=budget(30)) as reply:
        sessions = json.load(reply)
    for session in sessions:
        if session.get("path") == path:
            request = urllib.request.Request(
                server.url(f"api/sessions/{session['id']}"), method="DELETE"
            )
            urllib.request.urlopen(request, timeout=budget(60)).close()


def shut_down_kernel(page: Any) -> None:
    """Shut the open notebook's kernel down, so a reopen starts a fresh one."""
    page.evaluate("() => window.jupyterapp.shell.currentWidget.sessionContext.shutdown()")
    forgive_debugger_cancellation(page)
