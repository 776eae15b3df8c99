"""`make lab` starts JupyterLab on notebooks/ with kino's extension (the README's first command),
and a second `make` with nothing changed installs and builds nothing."""

import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.browser.harness import REPO, free_port
from tests.conftest import budget


def test_make_lab_serves_the_notebooks():
    port, token = free_port(), "make-lab-test"
    process = subprocess.Popen(
        ["make", "-s", "lab", f"PORT={port}",
         f"LAB_ARGS=--ServerApp.token={token} --LabApp.news_url="],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    try:
        listing = None
        # A first run may install and build; the budget only bounds a hang.
        deadline = time.monotonic() + budget(600)
        while time.monotonic() < deadline and listing is None:
            assert process.poll() is None, process.stdout.read().decode()[-3000:]
            try:
                url = f"http://127.0.0.1:{port}/api/contents?token={token}"
                with urllib.request.urlopen(url, timeout=budget(2)) as response:
                    listing = json.load(response)
            except OSError:
                time.sleep(0.5)
        assert listing is not None, f"make lab did not start a server in {budget(600)} s"
        names = {item["name"] for item in listing["content"]}
        assert "01-tensors.ipynb" in names, names
        url = f"http://127.0.0.1:{port}/lab/api/extensions?token={token}"
        with urllib.request.urlopen(url, timeout=budget(10)) as response:
            extensions = {e["name"]: e for e in json.load(response)}
        assert extensions["jupyter-kino"]["enabled"] is True
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=budget(30))


# Stands in for npm, logging each call. Like the real one, `npm install` rewrites
# package-lock.json, and `npm run build` writes the files the install needs.
FAKE_NPM = """\
#!/bin/sh
echo "npm $*" >> "$KINO_TOOL_LOG"
case "$1" in
  install) touch package-lock.json ;;
  ci) mkdir -p node_modules ;;
  run) [ "$2" = build ] && mkdir -p ../kino/static ../kino/labextension \\
        && echo "export default {}" > ../kino/static/markdown.js \\
        && echo '{"name": "jupyter-kino"}' > ../kino/labextension/package.json ;;
esac
exit 0
"""

# Stands in for `python -m pip`, logging each call; `install -e .[…]` runs hatchling's
# real editable build (pyproject.toml's jupyter-builder hook included), as pip would.
FAKE_PIP = """\
#!/bin/sh
echo "pip $*" >> "$KINO_TOOL_LOG"
case "$*" in
  *" -e "*) exec {python} -c "from hatchling.build import build_editable; \\
print(build_editable('dist'))" ;;
esac
exit 0
"""


def _executable(path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


def _checkout(destination: Path) -> Path:
    """The files `make install` reads, copied from the working tree (built outputs left out)."""
    destination.mkdir()
    for name in ("Makefile", "pyproject.toml", "README.md", "install.json"):
        shutil.copy2(REPO / name, destination / name)
    ignore = shutil.ignore_patterns("node_modules", "lib", "static", "labextension", "__pycache__")
    shutil.copytree(REPO / "kino", destination / "kino", ignore=ignore)
    shutil.copytree(REPO / "labextension", destination / "labextension", ignore=ignore)
    shutil.copytree(REPO / "labextension" / "src", destination / "labextension" / "src",
                    dirs_exist_ok=True)  # fmt: skip
    return destination


def test_a_second_make_with_nothing_changed_installs_and_builds_nothing(tmp_path):
    root = _checkout(tmp_path / "kino")
    tools = root / ".venv" / "bin"
    tools.mkdir(parents=True)
    (tools / "python").symlink_to(sys.executable)
    _executable(tools / "npm", FAKE_NPM)
    _executable(tools / "pip", FAKE_PIP.format(python=sys.executable))
    log = tmp_path / "tools.log"
    env = {**os.environ, "KINO_TOOL_LOG": str(log)}
    env.pop("HATCH_JUPYTER_BUILDER_SKIP_NPM", None)

    def make(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["make", *args, f"PIP={tools / 'pip'}"], cwd=root, env=env,
            capture_output=True, text=True, timeout=budget(300),
        )  # fmt: skip

    first = make("install")
    assert first.returncode == 0, first.stdout + first.stderr
    calls = log.read_text().splitlines()
    assert calls.count("npm ci --no-audit --no-fund") == 1, calls
    assert calls.count("npm run build") == 1, f"the front end was built more than once: {calls}"
    assert "npm install" not in calls, f"package-lock.json was rewritten: {calls}"
    assert any(" -e .[all]" in c for c in calls), calls
    assert (root / "dist").is_dir(), "the editable build ran"

    log.write_text("")
    assert make("-q", "install").returncode == 0, "make thinks something is out of date"
    second = make("install")
    assert second.returncode == 0, second.stdout + second.stderr
    assert log.read_text() == "", f"second make reran: {log.read_text()}"

    # `make test` installs more extras; then it too is up to date.
    assert make("-q", "install", "EXTRAS=all,ray,test").returncode == 1
    log.write_text("")
    assert make("install", "EXTRAS=all,ray,test").returncode == 0
    # One editable install, of the new set of extras (the data packages that install
    # with every set, such as the pinned model files, may come with it).
    assert [c for c in log.read_text().splitlines() if c.startswith("pip") and " -e " in c] == [
        "pip install --quiet --no-build-isolation -e .[all,ray,test]"
    ]
    assert make("-q", "install", "EXTRAS=all,ray,test").returncode == 0


def test_the_makefile_installs_every_extra_for_lab_and_ray_and_test_tools_for_test():
    dry = subprocess.run(
        ["make", "-n", "-B", "lab", "test", "PIP=pip"], cwd=REPO,
        capture_output=True, text=True, timeout=budget(60),
    )  # fmt: skip
    installs = [
        line for line in dry.stdout.splitlines() if "pip install" in line and " -e " in line
    ]
    assert any(line.endswith('-e ".[all]"') for line in installs), installs
    assert any(line.endswith('-e ".[all,ray,test]"') for line in installs), installs
    # The front end is already built when pip runs: the install must not build it again.
    assert all("HATCH_JUPYTER_BUILDER_SKIP_NPM=1" in line for line in installs), installs
