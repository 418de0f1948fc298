"""Child processes the suites start (`serve`, `moto_server`, crash children): a free port, a stop that
never leaves one running, and a SIGKILL at a chosen point."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listened on a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def stop(proc: subprocess.Popen[Any], grace: float) -> None:
    """SIGTERM, and SIGKILL if the process has not exited within `grace` seconds."""
    proc.terminate()
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def kill_when(
    module: str, args: list[str], env: dict[str, str], reached: Callable[[], bool], *, bound: float = 90
) -> None:
    """Run `python -m module args...` and SIGKILL it as soon as `reached()` (polled); fail the test if
    the child exits first or never gets there within `bound` seconds (a bound, never a speed claim)."""
    child = subprocess.Popen(
        [sys.executable, "-m", module, *args],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + bound
        while not reached():
            if child.poll() is not None:
                stderr = child.stderr.read().decode() if child.stderr else ""
                pytest.fail(f"child exited early ({child.returncode}): {stderr[-2000:]}")
            if time.monotonic() > deadline:
                pytest.fail("child never reached the crash point")
            time.sleep(0.02)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
        if child.stderr:
            child.stderr.close()


def wait_healthy(proc: subprocess.Popen[Any], base: str, err: Path, *, within: float) -> None:
    """Until the server answers /healthz: fail with its stderr if it exits, or after `within` s."""
    import httpx

    deadline = time.monotonic() + within
    while True:
        if proc.poll() is not None:
            pytest.fail(f"serve exited with {proc.returncode}: {err.read_text()[-2000:]}")
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"serve did not answer /healthz within {within:.0f} s")
        time.sleep(0.3)
