"""Fixtures for tests that drive a real browser: headless Chromium through Selenium.

``browser`` is a Selenium WebDriver on Debian's ``chromium`` + ``chromium-driver`` (``.ci/run``
installs them with apt-get); ``jupyter_lab`` is a JupyterLab server on 127.0.0.1 at a random
free port with a random token. Both skip with a reason where the pieces are missing, so the
suite still passes on a machine with no browser.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import ROOT, chromium_paths, free_port, new_driver, wait_for_http


@pytest.fixture
def browser() -> Iterator[Any]:
    """A headless Chromium (1400×1000 window), quit after the test."""
    driver = new_driver()
    try:
        yield driver
    finally:
        driver.quit()


@dataclass
class JupyterLab:
    """A running JupyterLab: ``url`` (no token), ``token``, ``root`` (its notebook folder)."""

    url: str
    token: str
    root: Path

    def write_notebook(self, name: str, cells: list[str]) -> str:
        """Write a notebook of code cells into the server's folder; returns its name."""
        nb = {
            "cells": [{"cell_type": "code", "execution_count": None, "id": f"c{i}", "metadata": {},
                       "outputs": [], "source": src} for i, src in enumerate(cells)],
            "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
            "nbformat": 4,
            "nbformat_minor": 5,
        }
        (self.root / name).write_text(json.dumps(nb))
        return name

    def lab_url(self, name: str) -> str:
        # ?reset: start from an empty workspace, so notebooks an earlier test opened do not come back
        # as tabs (one of them could be the current widget when this one is still loading).
        return f"{self.url}/lab/tree/{name}?reset&token={self.token}"

    def open_and_run(self, driver: Any, name: str, timeout: float = 90.0) -> None:
        """Open notebook ``name`` in ``driver``, run all cells, wait until the kernel is idle."""
        from selenium.webdriver.support.ui import WebDriverWait

        driver.get(self.lab_url(name))
        wait = WebDriverWait(driver, timeout)
        # The app is exposed on window (LabApp.expose_app_in_browser) so commands can be run.
        wait.until(lambda d: d.execute_script(
            "const a = window.jupyterapp; const w = a && a.shell.currentWidget;"
            "return !!(w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel"
            " && w.sessionContext.session.kernel.connectionStatus === 'connected');"))
        driver.execute_script("return window.jupyterapp.commands.execute('notebook:run-all-cells');")
        wait.until(lambda d: d.execute_script(
            "const w = window.jupyterapp.shell.currentWidget;"
            "const s = w && w.sessionContext && w.sessionContext.session;"
            "if (!s || !s.kernel || !w.content) return false;"
            "const k = s.kernel;"
            "const cells = w.content.widgets;"
            "return k.status === 'idle' && cells.every(c => c.model.type !== 'code'"
            " || (c.model.executionCount !== null && !c.node.classList.contains('jp-mod-running')"
            " && !(c.promptNode && c.promptNode.textContent.includes('*'))));"))


@pytest.fixture(scope="session")
def jupyter_lab() -> Iterator[JupyterLab]:
    """JupyterLab on 127.0.0.1, a random free port and a random token; stopped at the end."""
    pytest.importorskip("jupyterlab", reason="jupyterlab is not installed (pip install -e '.[dev]')")
    chromium_paths()
    root = Path(tempfile.mkdtemp(prefix="lab-"))
    settings = Path(tempfile.mkdtemp(prefix="lab-settings-"))
    # No "get news?" popup over the notebook in screenshots.
    news = settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    news.parent.mkdir(parents=True)
    news.write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    port, token = free_port(), secrets.token_hex(16)
    env = dict(os.environ, JUPYTER_PLATFORM_DIRS="1", PYTHONPATH=os.pathsep.join(
        [str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep))
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
         f"--IdentityProvider.token={token}", "--allow-root", f"--ServerApp.root_dir={root}",
         "--ServerApp.open_browser=False",
         "--LabApp.expose_app_in_browser=True", f"--LabApp.user_settings_dir={settings}",
         f"--LabApp.workspaces_dir={settings}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, cwd=root,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(f"{url}/api/status?token={token}")
        yield JupyterLab(url, token, root)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(root, ignore_errors=True)
        shutil.rmtree(settings, ignore_errors=True)
