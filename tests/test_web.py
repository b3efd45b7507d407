"""`glyphfix web`: the JSON API in-process over a scripted editor (fast), and the page itself driven
in a real headless browser (Debian's chromium through Playwright) against a real `glyphfix web`
process (slow)."""

from __future__ import annotations

import http.client
import io
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import quote, urlparse

import numpy as np
import pytest
from PIL import Image

from agent.frontends import web
from agent.schemas import Attempt, EditRequest, EditResult, LineReading, TextReading, WordReading
from tools.ocr import TextLine

REPO = Path(__file__).resolve().parent.parent
POSTER = "examples/poster_who_handwashing.png"


# -- the API over a scripted editor ---------------------------------------------------------------


class ScriptedEditor:
    """Stands in for agent.run.Editor: each edit reports attempt 1, then waits for `release`
    before it reports attempt 2 and finishes (the test looks at the page's job in between)."""

    def __init__(self):
        self.release = threading.Event()
        self.toolbox = SimpleNamespace(ocr=None, registry=None)

    def run_many(self, requests, image, progress=None, on_attempt=None):
        out = image.copy()
        out[:4, :4] = 255 - out[:4, :4]
        for n in (1, 2):
            if n == 2:
                assert self.release.wait(10), "the test never released the edit"
            attempt = Attempt(number=n, tool="naive", seed=requests[0].seed, guidance=0, steps=0, mask_pad=0,
                              mask_grow_x=0, size_scale=1.0, mask_boxes=[(0, 0, 4, 4)], ocr_text="bands" if n == 2 else "hands",
                              ocr_confidence=0.9, passed=n == 2, confirmed_by="reading" if n == 2 else None, seconds=0.1,
                              why_failed=None if n == 2 else "wrong-glyph")
            progress(f"attempt {n}")
            on_attempt(attempt, out)
        return EditResult(status="verified", request=requests[0], attempts=[attempt]), out, False


@pytest.fixture
def served(tmp_path):
    """A WebApp on a free port over the scripted editor, its root holding one small image."""
    Image.fromarray(np.full((40, 60, 3), 200, np.uint8)).save(tmp_path / "card.png")
    editor = ScriptedEditor()
    loaded = threading.Event()

    def load():
        assert loaded.wait(10)
        return editor

    app = web.WebApp(tmp_path, load)
    server = web.make_server(app, "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    yield SimpleNamespace(base=base, app=app, editor=editor, loaded=loaded, root=tmp_path)
    editor.release.set()
    loaded.set()
    server.shutdown()
    server.server_close()
    app.close()


def call(base: str, path: str, body=None, headers=None, raw: bytes | None = None):
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request(base + path, data=data, headers=headers or {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=20) as r:
            return r.status, r.read(), r.headers
    except urllib.error.HTTPError as e:
        return e.code, e.read(), e.headers


def test_page_answers_while_the_models_load(served):
    status, page, _ = call(served.base, "/")
    assert status == 200 and b'id="badge"' in page
    status, body, _ = call(served.base, "/api/status")
    assert json.loads(body) == {"ready": False, "error": None, "root": str(served.root.resolve()),
                                "max_upload_bytes": web.MAX_UPLOAD_BYTES}
    served.loaded.set()
    served.app.ready.wait(5)
    assert json.loads(call(served.base, "/api/status")[1])["ready"] is True


def test_first_attempt_is_shown_before_the_edit_finishes_then_undo_redo_download(served):
    served.loaded.set()
    source = served.root / "card.png"
    before = source.read_bytes()
    status, body, _ = call(served.base, "/api/open", {"path": "card.png"})
    assert status == 200
    ws = json.loads(body)
    assert (ws["width"], ws["height"], ws["version"], ws["can_undo"]) == (60, 40, 0, False)
    job = json.loads(call(served.base, "/api/edit", {"ws": ws["ws"], "find": "hands", "occurrence": 1, "replace": "bands"})[1])["job"]
    deadline = time.time() + 10
    while not (seen := json.loads(call(served.base, f"/api/job?id={job}")[1]))["attempts"] and time.time() < deadline:
        time.sleep(0.05)
    # Attempt 1 is on the page while the edit is still running (the editor waits for the release).
    assert seen["state"] == "running" and [a["number"] for a in seen["attempts"]] == [1]
    assert seen["attempts"][0]["why_failed"] == "wrong-glyph" and "badge" not in seen
    status, crop, headers = call(served.base, seen["attempts"][0]["mask"])
    assert status == 200 and headers["Content-Type"] == "image/png" and crop.startswith(b"\x89PNG")
    # A second edit while one runs is refused; so is undo.
    assert call(served.base, "/api/edit", {"ws": ws["ws"], "request": "replace a with b"})[0] == 409
    assert call(served.base, "/api/undo", {"ws": ws["ws"]})[0] == 409
    served.editor.release.set()
    while (done := json.loads(call(served.base, f"/api/job?id={job}")[1]))["state"] != "done":
        time.sleep(0.05)
    assert [a["number"] for a in done["attempts"]] == [1, 2]
    assert done["badge"] == "verified" and done["reason"] == 'read back as requested: "bands" (reading)'
    assert done["result"]["status"] == "verified" and done["workspace"]["version"] == 1
    status, png, headers = call(served.base, f"/api/download?ws={ws['ws']}")
    assert status == 200 and 'filename="card-glyphfix.png"' in headers["Content-Disposition"]
    edited = np.asarray(Image.open(io.BytesIO(png)))
    assert (edited[:4, :4] == 55).all() and (edited[4:] == 200).all()
    undone = json.loads(call(served.base, "/api/undo", {"ws": ws["ws"]})[1])
    assert (undone["version"], undone["can_undo"], undone["can_redo"]) == (0, False, True)
    redone = json.loads(call(served.base, "/api/redo", {"ws": ws["ws"]})[1])
    assert (redone["version"], redone["can_redo"]) == (1, False)
    assert json.loads(call(served.base, "/api/redo", {"ws": ws["ws"]})[1]) == {"error": "nothing to redo"}
    assert source.read_bytes() == before  # the input is never written


@pytest.mark.parametrize("name, data, expect", [
    ("notes.txt", b"hello", "notes.txt: not an image file"),
    ("notes.png", b"hello, not a png", "notes.png: "),
])
def test_a_non_image_upload_gets_one_line(served, name, data, expect):
    status, body, _ = call(served.base, "/api/upload", raw=data, headers={"X-Filename": name})
    error = json.loads(body)["error"]
    assert status == 400 and error.startswith(expect) and "\n" not in error
    assert "glyphfix-web-" not in error  # the upload's temporary path is not shown


def test_paths_outside_the_root_are_refused_and_not_listed(served, tmp_path_factory):
    outside = tmp_path_factory.mktemp("outside")
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(outside / "x.png")
    (served.root / "link.png").symlink_to(outside / "x.png")
    relative = os.path.relpath(outside / "x.png", served.root)
    assert (served.root / relative).exists()
    for path in (relative, str(outside / "x.png"), "link.png"):
        status, body, _ = call(served.base, "/api/open", {"path": path})
        assert status == 400 and "outside the allowed root" in json.loads(body)["error"]
    status, body, _ = call(served.base, "/api/open", {"path": "card\0.png"})
    assert status == 400 and "not a usable path" in json.loads(body)["error"]
    assert json.loads(call(served.base, "/api/files")[1])["files"] == ["card.png"]
    status, body, _ = call(served.base, "/api/edit", {"ws": "nope", "request": "replace a with b"})
    assert status == 404


def raw_request(base: str, method: str, path: str, headers: dict, body: bytes = b"") -> tuple[int, dict]:
    """A request with exactly these headers (urllib would fix a bad Content-Length or Host)."""
    conn = http.client.HTTPConnection(urlparse(base).hostname, urlparse(base).port, timeout=20)
    conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
    for k, v in headers.items():
        conn.putheader(k, v)
    conn.endheaders(body or None)
    r = conn.getresponse()
    status, payload = r.status, json.loads(r.read())
    conn.close()
    return status, payload


def test_foreign_sites_bad_lengths_and_oversized_uploads_get_one_line(served, monkeypatch):
    host = urlparse(served.base).netloc
    ok = {"Host": host, "Content-Type": "application/json"}
    # Another site rebinding its name to 127.0.0.1, or posting from a visitor's browser.
    assert raw_request(served.base, "GET", "/api/files", {"Host": "evil.example:80"})[0] == 403
    status, body = raw_request(served.base, "POST", "/api/open", {**ok, "Origin": "http://evil.example", "Content-Length": "2"}, b"{}")
    assert status == 403 and body == {"error": "requests from other sites are refused"}
    status, body = raw_request(served.base, "POST", "/api/open", {**ok, "Content-Type": "text/plain", "Content-Length": "2"}, b"{}")
    assert status == 415
    assert raw_request(served.base, "POST", "/api/open", {**ok, "Origin": served.base, "Content-Length": "2"}, b"{}")[0] == 400
    # Lengths the server cannot trust.
    for length, code in (("-1", 400), ("abc", 400)):
        status, body = raw_request(served.base, "POST", "/api/upload", {"Host": host, "Content-Length": length, "X-Filename": "a.png"})
        assert status == code and "bad Content-Length" in body["error"]
    assert raw_request(served.base, "POST", "/api/upload", {"Host": host, "X-Filename": "a.png"})[0] == 411
    monkeypatch.setattr(web, "MAX_UPLOAD_BYTES", 1000)
    status, body = raw_request(served.base, "POST", "/api/upload", {"Host": host, "Content-Length": "5000000", "X-Filename": "a.png"})
    assert status == 413 and body["error"] == "the request is too large (4.8 MB); the limit is 1.0 KB"
    assert json.loads(call(served.base, "/api/status")[1])["max_upload_bytes"] == 1000  # the page checks before sending


def test_names_any_script_and_no_header_injection():
    assert web.upload_name(quote("東京 — menu.png")) == "東京 — menu.png"
    assert web.upload_name(quote("../../etc/x.png")) == "x.png"
    assert web.upload_name(quote("a\r\nSet-Cookie: x.png")) == "aSet-Cookie: x.png"
    header = web.attachment("東京\"menu-glyphfix.png")
    assert header == "attachment; filename=\"___menu-glyphfix.png\"; filename*=UTF-8''%E6%9D%B1%E4%BA%AC%22menu-glyphfix.png"
    header.encode("latin-1")  # a valid header value


def test_request_errors_read_as_one_line_and_a_stale_click_is_refused(served):
    served.loaded.set()
    ws = json.loads(call(served.base, "/api/open", {"path": "card.png"})[1])
    status, body, _ = call(served.base, "/api/edit", {"ws": ws["ws"], "find": "hands", "replace": "hands"})
    assert status == 400 and json.loads(body)["error"] == "bad request: find and replace are the same: nothing to change"
    status, body, _ = call(served.base, "/api/edit", {"ws": ws["ws"], "version": 3, "find": "hands", "replace": "bands"})
    assert status == 409 and "click it again" in json.loads(body)["error"]


def test_open_images_and_versions_are_bounded(served, monkeypatch):
    served.loaded.set()
    served.editor.release.set()
    monkeypatch.setattr(web, "WORKSPACES_KEPT", 2)
    monkeypatch.setattr(web, "VERSIONS_KEPT", 3)
    first = json.loads(call(served.base, "/api/open", {"path": "card.png"})[1])["ws"]
    for _ in range(4):  # four edits: the input and the last two edits are kept
        job = json.loads(call(served.base, "/api/edit", {"ws": first, "request": "replace a with b"})[1])["job"]
        while json.loads(call(served.base, f"/api/job?id={job}")[1])["state"] != "done":
            time.sleep(0.02)
    view = json.loads(call(served.base, "/api/undo", {"ws": first})[1])
    assert view["version"] == 1
    assert json.loads(call(served.base, "/api/undo", {"ws": first})[1])["version"] == 0
    assert call(served.base, "/api/undo", {"ws": first})[0] == 400
    for _ in range(2):
        call(served.base, "/api/open", {"path": "card.png"})
    assert call(served.base, f"/api/words?ws={first}")[0] == 404  # the oldest was closed to make room
    assert call(served.base, f"/api/job?id={job}")[0] == 404  # with its jobs


def test_a_click_means_the_word_without_its_punctuation_and_which_occurrence_it_is():
    text = "Clean hands, then hands again"
    lines = [TextLine(text, 0.9, [(0, 0), (300, 0), (300, 20), (0, 20)], (0, 0, 300, 20))]
    words = [WordReading(text=t, box=(10 * i, 0, 10 * i + 8, 20), start=text.index(t, s), chars=[])
             for i, (t, s) in enumerate([("Clean", 0), ("hands,", 0), ("then", 0), ("hands", 13), ("again", 0)])]
    reading = TextReading(width=300, height=20, lines=[LineReading(text=text, confidence=0.9, box=(0, 0, 300, 20), words=words)])
    clicks = {(w["text"], w["box"][0]): (w["find"], w["occurrence"], w["occurrences"]) for w in web.clickable_words(reading, lines)}
    assert clicks[("hands,", 10)] == ("hands", 1, 2)
    assert clicks[("hands", 30)] == ("hands", 2, 2)
    assert clicks[("Clean", 0)] == ("Clean", 1, 1)


# -- the page in a real browser -------------------------------------------------------------------


def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.fail("Debian's chromium is not installed: `make browser` installs it (the test set-up runs it)")
    return path


@pytest.fixture(scope="module")
def web_process(tmp_path_factory):
    """`glyphfix web` as a user starts it, on a free port; how long it took to answer the first request."""
    t0 = time.perf_counter()
    proc = subprocess.Popen([str(Path(sys.executable).with_name("glyphfix")), "web", "--root", str(REPO), "--port", "0"],
                            cwd=REPO, stderr=subprocess.PIPE, text=True)
    first = proc.stderr.readline()
    match = re.search(r"http://127\.0\.0\.1:(\d+)/", first)
    assert match, f"glyphfix web did not say where it listens: {first!r}"
    base = match.group(0).rstrip("/")
    while True:
        try:
            urllib.request.urlopen(base + "/", timeout=5).read()
            break
        except OSError:
            assert time.perf_counter() - t0 < 30 and proc.poll() is None, "glyphfix web never answered"
            time.sleep(0.05)
    answered = time.perf_counter() - t0
    yield SimpleNamespace(base=base, answered=answered)
    proc.terminate()
    proc.wait(10)


@pytest.fixture(scope="module")
def browser(web_process):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium(), args=["--no-sandbox", "--disable-gpu"])
        yield b
        b.close()


@pytest.mark.slow
def test_click_a_word_edit_it_and_download_the_same_pixels_as_the_cli(web_process, browser, tmp_path, toolbox):
    from typer.testing import CliRunner

    from agent.frontends.cli import app

    assert web_process.answered < 5.0, f"first answer after {web_process.answered:.1f} s"
    page = browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    page.goto(web_process.base + "/")
    page.wait_for_selector("#models.ready", timeout=180_000)
    page.select_option("#files", POSTER)
    page.click("#open")
    page.locator('.word[data-text="hands"]').click(timeout=120_000)
    assert page.text_content("#selected") == "“hands”"
    page.fill("#text", "bands")
    page.click("#run")
    page.wait_for_selector("#badge.verified", timeout=180_000)
    assert page.locator(".attempt").count() >= 1 and "verified" in page.text_content(".attempt:last-child")
    assert page.text_content("#reason").startswith('read back as requested: "bands"')
    with page.expect_download() as download:
        page.click("#download")
    got = tmp_path / "web.png"
    download.value.save_as(got)
    cli_out = tmp_path / "cli.png"
    ran = CliRunner().invoke(app, ["edit", POSTER, "--find", "hands", "--replace", "bands", "--seed", "0", "-o", str(cli_out)],
                             obj=toolbox)
    assert ran.exit_code == 0, ran.output
    a, b = np.asarray(Image.open(got)), np.asarray(Image.open(cli_out))
    assert a.shape == b.shape and (a == b).all()
    page.click("#show-json")
    assert json.loads(page.text_content("#json"))["status"] == "verified"
    page.wait_for_selector("#stage .word", timeout=120_000)  # the edited image's words, drawn again
    if shot := os.environ.get("GLYPHFIX_WEB_SHOT"):
        page.locator('.word[data-text="bands"]').click()
        page.fill("#text", "bands")
        page.locator("#slider").fill("30")  # the edited word on the "after" side of the comparison
        page.screenshot(path=shot, full_page=True)
    page.click("#undo")
    page.wait_for_function("document.querySelector('#redo').disabled === false")
    page.close()


@pytest.mark.slow
def test_uploading_a_non_image_shows_one_line(web_process, browser, tmp_path):
    page = browser.new_page()
    page.goto(web_process.base + "/")
    notes = tmp_path / "notes.png"
    notes.write_text("not an image at all\n")
    page.set_input_files("#upload", str(notes))
    page.wait_for_selector("#error:not([hidden])", timeout=30_000)
    error = page.text_content("#error")
    assert error.startswith("notes.png: ") and "\n" not in error
    page.close()


def test_edit_request_schema_matches_the_cli_default_budget():
    # The page's "attempts" field starts at the CLI's default budget (the same request, the same pixels).
    page = web.PAGE.read_text()
    assert f'id="budget" type="number" value="{EditRequest.model_fields["max_attempts"].default}"' in page
