"""The web app locally: built from web/ when its sources changed, served by the Static Web Apps CLI,
which also keeps who is signed in (/.auth/me, /.auth/logout) and proxies /api to the local Functions
host with the signed-in user in X-MS-CLIENT-PRINCIPAL, as Azure Static Web Apps does with a linked
backend. It proxies to the host's port reserved for it, the one port where the host keeps that header
(``LocalFunctionsHost.proxy_url``). People reach it through devstack.front, which serves a sign-in page
that works offline."""

from __future__ import annotations

import os
import shutil
import subprocess
import urllib.request
from pathlib import Path

from devstack import PROJECT_ROOT
from devstack.front import WebFront
from devstack.processes import ManagedProcess, ProcessFailed

WEB_DIR = PROJECT_ROOT / "web"
DIST = WEB_DIR / "dist"
SOURCES = ("src", "public", "index.html", "package-lock.json", "vite.config.ts", "tsconfig.json")


class WebMissing(RuntimeError):
    pass


def swa_executable() -> Path:
    swa = WEB_DIR / "node_modules" / ".bin" / "swa"
    if not swa.exists():
        raise WebMissing("the web app's packages are not installed: run `npm ci --ignore-scripts` in web/ "
                         "(make up and make test do it)")
    return swa


def needs_build() -> bool:
    built = DIST / "index.html"
    if not built.exists():
        return True
    stamp = built.stat().st_mtime
    return any(_newest(WEB_DIR / name) > stamp for name in SOURCES)


def build(log_path: Path) -> None:
    """`npm run build` in web/ (types from the API document, type check, bundle) when sources changed."""
    swa_executable()
    if not needs_build():
        return
    npm = shutil.which("npm")
    if npm is None:
        raise WebMissing("npm is not on PATH: the web app needs Node 20 or later")
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        done = subprocess.run([npm, "run", "build"], cwd=WEB_DIR, stdout=log, stderr=subprocess.STDOUT,
                              stdin=subprocess.DEVNULL, timeout=300)
    if done.returncode != 0:
        raise ProcessFailed(f"building the web app failed (npm run build in web/); see {log_path}")


def start_web(port: int, api_url: str, log_path: Path) -> ManagedProcess:
    """The SWA CLI on 127.0.0.1:``port`` serving web/dist, ``/api`` going to ``api_url`` (the local host's
    proxy port)."""
    argv = [str(swa_executable()), "start", str(DIST), "--swa-config-location", str(DIST),
            "--api-devserver-url", api_url, "--host", "127.0.0.1", "--port", str(port),
            "--devserver-timeout", "60"]
    environment = {**os.environ, "NO_COLOR": "1"}
    process = ManagedProcess("static web apps cli", argv, log_path, env=environment, cwd=WEB_DIR)
    process.start(ready=lambda: _serves(f"http://127.0.0.1:{port}/"), timeout=90)
    return process


def start_front(port: int, swa_port: int) -> WebFront:
    """What people open: 127.0.0.1:``port``, the sign-in page, and the SWA CLI on ``swa_port`` behind it."""
    return WebFront(port, swa_port).start()


def _serves(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as answer:
            return answer.status == 200
    except OSError:
        return False


def _newest(path: Path) -> float:
    if path.is_file():
        return path.stat().st_mtime
    return max((p.stat().st_mtime for p in path.rglob("*") if p.is_file()), default=0.0)
