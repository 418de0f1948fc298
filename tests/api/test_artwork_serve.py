"""End to end through a real `customization-vault serve`: a registry CSV of artwork (one work REVIEW, one
BLOCK, one bad line); an upload holding a placed, turned, cropped copy is flagged with the region it
lies in, a copy of the BLOCK work is blocked, an unrelated painting is clear; the reviewer sees the
registered work beside the design, in the JSON review API and on the workbench's case page."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.processes import wait_healthy
from tests.screening.image.artworks import crop_turn_place, hue_turn, painting
from tests.screening.image.logos import encode

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    refs = tmp_path / "refs"
    refs.mkdir()
    for seed in (11, 12):
        (refs / f"{seed}.png").write_bytes(encode(painting(seed)))
    registry = tmp_path / "artworks.csv"
    registry.write_text(
        "id,path,label,owner,severity\n"
        "starry,refs/11.png,Starry,Studio A,review\n"
        "lilies,refs/12.png,Lilies,Studio B,block\n"
        "broken,refs/missing.png,Gone,Studio C\n"
    )
    port = _free_port()
    data_dir = tmp_path / "var"
    err = tmp_path / "stderr.txt"
    env = {
        **os.environ,
        "CV_ENVIRONMENT": "development",
        "CV_BOOTSTRAP_DEMO": "true",
        "CV_SCREENING__REGISTRY_PATH": str(registry),
        "CV_SCREENING__OCR": "false",
    }
    cmd = [sys.executable, "-c", "from api.cli import main; main()", "serve", "--host", "127.0.0.1"]
    cmd += ["--port", str(port), "--data-dir", str(data_dir)]
    with (tmp_path / "stdout.txt").open("wb") as o, err.open("wb") as e:
        proc = subprocess.Popen(cmd, stdout=o, stderr=e, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(proc, base, err, within=120)
        yield base, data_dir
        assert "artworks.csv: skipped line 4: cannot read image file" in err.read_text()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _upload(c: httpx.Client, h: dict[str, str], order: str, data: bytes) -> dict[str, object]:
    r = c.post(f"/v1/orders/{order}/items", headers=h, files={"file": ("design.jpg", data, "image/jpeg")})
    assert r.status_code == 201, r.text
    body: dict[str, object] = r.json()
    return body


def test_registered_artwork_is_flagged_or_blocked_with_its_region(server: tuple[str, Path]) -> None:
    base, data_dir = server
    keys = dict(
        line.removeprefix("export ").split("=", 1)
        for line in (data_dir / "demo-keys.txt").read_text().splitlines()
        if line.startswith("export ")
    )
    h = {"Authorization": f"Bearer {keys['CV_KEY']}"}
    upload, (x, y, w, h_) = crop_turn_place(painting(11), seed=3)
    with httpx.Client(base_url=base, timeout=120) as c:
        assert c.put("/v1/orders/ART-1", headers=h).status_code == 201
        flagged = _upload(c, h, "ART-1", encode(upload, "JPEG", quality=85))
        assert flagged["verdict"] == "flagged"
        findings = flagged["findings"]
        assert isinstance(findings, list)
        (f,) = findings
        assert (f["kind"], f["entry"], f["severity"], f["label"]) == ("artwork", "starry", "review", "Starry")
        rx, ry, rw, rh = f["region"]
        assert rx <= x + w / 2 <= rx + rw
        assert ry <= y + h_ / 2 <= ry + rh
        assert rw < upload.width / 2
        blocked = _upload(c, h, "ART-1", encode(hue_turn(painting(12), 90), "JPEG", quality=70))
        assert blocked["verdict"] == "blocked"
        assert [g["entry"] for g in blocked["findings"]] == ["lilies"]  # type: ignore[attr-defined]
        clear = _upload(c, h, "ART-1", encode(painting(99), "JPEG", quality=85))
        assert clear["verdict"] == "clear"
        _the_reviewer_sees_the_registered_work(c, data_dir, str(flagged["id"]))


def _the_reviewer_sees_the_registered_work(c: httpx.Client, data_dir: Path, item_id: str) -> None:
    """An artwork finding carries the work's thumbnail (JPEG, said as JPEG) like a logo finding does."""
    cli = [sys.executable, "-c", "from api.cli import main; main()"]
    made = subprocess.run(
        [*cli, "keys", "api", "create", "--role", "reviewer", "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "CV_ENVIRONMENT": "development"},
    )
    key = made.stdout.strip()
    r = {"Authorization": f"Bearer {key}"}
    claimed = c.post("/v1/review/claims", headers=r, json={})
    assert claimed.status_code == 200, claimed.text
    case = claimed.json()["case"]
    assert (case["item_id"], case["kind"]) == (item_id, "artwork")
    detail = c.get(f"/v1/review/cases/{case['id']}", headers=r).json()
    (finding,) = detail["findings"]
    assert finding["region"] is not None
    assert finding["reference"]["thumbnail_url"] == "/v1/review/references/images/starry"
    thumb = c.get(finding["reference"]["thumbnail_url"], headers=r)
    assert thumb.status_code == 200
    assert (thumb.headers["content-type"], thumb.content[:3]) == ("image/jpeg", b"\xff\xd8\xff")

    form = c.get("/review/sign-in", headers={"Accept": "text/html"})
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token is not None
    signed_in = c.post("/review/sign-in", data={"api_key": key, "csrf_token": token[1], "next": "/review/"})
    assert signed_in.status_code == 303, signed_in.text
    page = c.get(f"/review/cases/{case['id']}", headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert (
        '<img class="logo" src="/review/references/images/starry" alt="Registered artwork: Starry">'
        in page.text
    )
    assert "Artwork (image)" in page.text
    shown = c.get("/review/references/images/starry")
    assert (shown.status_code, shown.headers["content-type"]) == (200, "image/jpeg")
