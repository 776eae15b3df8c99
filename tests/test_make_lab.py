"""`make lab` starts JupyterLab on notebooks/ with kino's extension (the README's first command)."""

import json
import os
import signal
import subprocess
import time
import urllib.request

from tests.browser.harness import REPO, free_port


def test_make_lab_serves_the_notebooks():
    port, token = free_port(), "make-lab-test"
    process = subprocess.Popen(
        ["make", "-s", "lab", f"PORT={port}",
         f"LAB_ARGS=--ServerApp.token={token} --LabApp.news_url="],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    try:
        listing = None
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and listing is None:
            assert process.poll() is None, process.stdout.read().decode()[-3000:]
            try:
                url = f"http://127.0.0.1:{port}/api/contents?token={token}"
                with urllib.request.urlopen(url, timeout=2) as response:
                    listing = json.load(response)
            except OSError:
                time.sleep(0.5)
        assert listing is not None, "make lab did not start a server in 180 s"
        names = {item["name"] for item in listing["content"]}
        assert "01-tensors.ipynb" in names, names
        url = f"http://127.0.0.1:{port}/lab/api/extensions?token={token}"
        with urllib.request.urlopen(url, timeout=10) as response:
            extensions = {e["name"]: e for e in json.load(response)}
        assert extensions["jupyter-kino"]["enabled"] is True
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
