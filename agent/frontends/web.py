"""`glyphfix web`: a local page for people who would rather look than type.

Open an image (an upload, or a file under --root), see the words OCR found drawn over it, click one,
type the new text (or a request in the chat grammar) and run; the attempts appear as they are made,
then a verified / not verified badge with its reason, a before/after slider, undo/redo, a download
and the EditResult JSON. The page is plain HTML and JavaScript (web_page.html) over a small JSON API
served by the standard library, so it starts at once: the models load in a background thread and
the page says so until they are ready.

Security follows the MCP server: bound to 127.0.0.1 unless told otherwise, every path inside the
root, uploads limited in bytes before they are read and then in pixels by the CLI's own loader; the
input file is never written (edits live in memory until downloaded).

The API (JSON unless said):
  GET  /                      the page
  GET  /api/status            {ready, error, root}: whether the models have loaded
  GET  /api/files             images under the root
  POST /api/open {path}       a workspace on that image          POST /api/upload (raw bytes; X-Filename)
  GET  /api/words?ws          the words of its current image, each with the find/occurrence a click means
  GET  /api/image?ws&v        version v of the image (PNG)       GET /api/download?ws  the current one
  POST /api/edit {ws, find, occurrence, replace | request, seed, max_attempts}  -> {job}
  GET  /api/job?id            the job: its attempts so far, then the result and badge
  GET  /api/crop?job&name     an attempt's mask or result crop (PNG)
  POST /api/undo {ws}, /api/redo {ws}
"""

from __future__ import annotations

import io
import json
import os
import re
import secrets
import shutil
import socket
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, quote, unquote, urlparse

import numpy as np
from PIL import Image, ImageDraw

from agent.frontends.parse import ParseError, parse_requests
from agent.frontends.service import ToolInputError, inside_root
from agent.schemas import Attempt, EditRequest, EditResult, TextReading, request_error
from tools.images import ImageError, load_image
from tools.locate import find_occurrences
from tools.readings import content_key

if TYPE_CHECKING:
    from agent.run import Editor  # torch: imported by the loader thread, after the page is up

PAGE = Path(__file__).with_name("web_page.html")
# A 30 MP photo (the loader's pixel limit) is about 10 MB as JPEG and 40-50 MB as PNG; a body
# larger than this is refused before it is read.
MAX_UPLOAD_BYTES = 64 * 2**20
MAX_JSON_BYTES = 64 * 2**10  # a request body: a few fields
LISTED_FILES = 500  # images under the root shown in the page's list
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff", ".gif"}
SKIPPED_DIRS = {".git", ".venv", "node_modules", "__pycache__"}
CROP_HEIGHT = 96  # attempt crops are scaled up to this height (small text is unreadable at 1:1)
CROP_WIDTH = 480  # ... and down to this width
JOBS_KEPT = 50  # finished jobs whose attempts can still be fetched
WORKSPACES_KEPT = 8  # open images; opening another closes the oldest idle one (a 30 MP image is 90 MB a version)
VERSIONS_KEPT = 20  # per image: the input and the last 19 edits (undo goes back that far)
READ_TIMEOUT_S = 30  # a client that stops sending mid-request frees its thread after this
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
PUNCTUATION_AT_ENDS = re.compile(r"^[^\w]+|[^\w]+$")  # "(hands," -> "hands": a click means the word


class WebError(ValueError):
    """The caller's fault: one line, HTTP 400 (404 / 409 where said)."""

    def __init__(self, message: str, status: HTTPStatus = HTTPStatus.BAD_REQUEST):
        super().__init__(message)
        self.status = status


@dataclass
class Version:
    """One state of a workspace's image; its PNG and reading are made once, when first asked for."""

    image: np.ndarray
    key: str = ""
    png: bytes | None = None
    words: list[dict] | None = None

    def __post_init__(self) -> None:
        self.key = content_key(self.image)[:12]

    def encoded(self) -> bytes:
        if self.png is None:
            self.png = png_bytes(self.image)
        return self.png


@dataclass
class Workspace:
    id: str
    name: str
    path: Path  # the input image (never written)
    versions: list[Version]  # versions[0] is the input; the current image is versions[pos]
    pos: int = 0
    redo: list[Version] = field(default_factory=list)
    job: Job | None = None  # the last edit started on it (running, or done)
    uploaded: bool = False  # path is the server's own copy of an upload (removed when closed)
    # versions, pos, redo and job change together (an edit ending, undo, redo): read and write them under it.
    lock: threading.RLock = field(default_factory=threading.RLock)

    @property
    def current(self) -> Version:
        with self.lock:
            return self.versions[self.pos]

    @property
    def busy(self) -> bool:
        return self.job is not None and self.job.state == "running"

    def push(self, image: np.ndarray) -> None:
        """A new current version after an edit: what could be redone is dropped (as in the chat);
        past VERSIONS_KEPT the oldest edit (never the input) is forgotten."""
        with self.lock:
            self.versions = self.versions[: self.pos + 1] + [Version(image)]
            self.redo.clear()
            if len(self.versions) > VERSIONS_KEPT:
                del self.versions[1]
            self.pos = len(self.versions) - 1

    def view(self) -> dict:
        with self.lock:
            current, original = self.versions[self.pos], self.versions[0]
            h, w = current.image.shape[:2]
            return {"ws": self.id, "name": self.name, "width": w, "height": h, "version": self.pos,
                    "can_undo": self.pos > 0, "can_redo": bool(self.redo),
                    "image": f"/api/image?ws={self.id}&v={self.pos}&k={current.key}",
                    "original": f"/api/image?ws={self.id}&v=0&k={original.key}"}


@dataclass
class Job:
    """One edit request running in the background; the page polls it."""

    id: str
    workspace: Workspace
    # The image the current edit started from (its attempts' masks are drawn on it); let go when done.
    base: np.ndarray | None
    state: str = "running"  # running | done
    attempts: list[dict] = field(default_factory=list)
    crops: dict[str, bytes] = field(default_factory=dict)
    progress: list[str] = field(default_factory=list)
    result: EditResult | None = None
    error: str | None = None
    passed: np.ndarray | None = None  # the last passing attempt's image (a later edit starts from it)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def say(self, text: str) -> None:
        with self.lock:
            self.progress.append(text)

    def seen(self, attempt: Attempt, image: np.ndarray) -> None:
        """An attempt as soon as it was verified (the graph's on_attempt): its crops and reading.
        Showing it must never break the edit: a failure here is one progress line."""
        try:
            self._show(attempt, image)
        except Exception as e:  # noqa: BLE001 - the page loses a picture, the edit goes on
            self.say(f"attempt {attempt.number} could not be shown: {type(e).__name__}: {e}".splitlines()[0])

    def _show(self, attempt: Attempt, image: np.ndarray) -> None:
        # Attempt numbers start again at 1 for each edit of a request with several; a later edit
        # starts from what the one before it kept (its passing attempt).
        edit = sum(1 for a in self.attempts if a["number"] == 1) + (attempt.number == 1)
        if attempt.number == 1 and self.attempts and self.passed is not None:
            self.base = self.passed
        if attempt.passed:
            self.passed = image
        name = f"{edit}-{attempt.number}"
        crops = _attempt_crops(self.base, image, attempt.mask_boxes) if self.base is not None else None
        entry = {"edit": edit, "number": attempt.number, "tool": attempt.tool, "seed": attempt.seed,
                 "read": attempt.ocr_text, "confidence": attempt.ocr_confidence, "passed": attempt.passed,
                 "why_failed": attempt.why_failed, "confirmed_by": attempt.confirmed_by, "line_read": attempt.line_read,
                 "changed_outside_word": attempt.changed_outside_word, "seconds": attempt.seconds,
                 "mask": f"/api/crop?job={self.id}&name={name}-mask" if crops else None,
                 "result": f"/api/crop?job={self.id}&name={name}-result" if crops else None}
        with self.lock:
            if crops:
                self.crops[f"{name}-mask"], self.crops[f"{name}-result"] = crops
            self.attempts.append(entry)

    def view(self) -> dict:
        with self.lock:
            out: dict[str, Any] = {"job": self.id, "state": self.state, "attempts": list(self.attempts),
                                   "progress": self.progress[-20:]}
        if self.state == "done":
            out["badge"], out["reason"] = badge(self.result, self.error)
            out["result"] = self.result.model_dump(mode="json") if self.result else None
            out["workspace"] = self.workspace.view()
        return out


def badge(result: EditResult | None, error: str | None) -> tuple[str, str]:
    """The page's verdict and its reason in one line."""
    if error or result is None or result.status == "error":
        return "error", error or (result.message if result else "no result")
    if result.status == "verified":
        results = result.edits or [result]
        reads = ", ".join(f'"{r.attempts[-1].ocr_text}" ({r.attempts[-1].confirmed_by})' for r in results if r.attempts)
        return "verified", f"read back as requested: {reads}"
    return "not verified", result.message or "no attempt read back as requested"


class WebApp:
    """The page's state: the models (loaded in the background), workspaces and jobs."""

    def __init__(self, root: Path, load_editor: Callable[[], Editor]):
        self.root = root.resolve()
        self.editor: Editor | None = None
        self.load_error: str | None = None
        self.ready = threading.Event()
        self.models_lock = threading.Lock()  # one model call at a time (reading or editing)
        self.lock = threading.Lock()  # the workspace and job tables
        self.workspaces: dict[str, Workspace] = {}  # in the order they were opened
        self.jobs: dict[str, Job] = {}
        self.uploads = Path(tempfile.mkdtemp(prefix="glyphfix-web-"))
        threading.Thread(target=self._load, args=(load_editor,), daemon=True, name="glyphfix-models").start()

    def _load(self, load_editor: Callable[[], Editor]) -> None:
        try:
            self.editor = load_editor()
        except Exception as e:  # noqa: BLE001 - shown on the page as one line
            self.load_error = f"the models could not be loaded: {type(e).__name__}: {e}".splitlines()[0]
        self.ready.set()

    def close(self) -> None:
        shutil.rmtree(self.uploads, ignore_errors=True)

    def _editor(self) -> Editor:
        self.ready.wait()
        if self.editor is None:
            raise WebError(self.load_error or "the models are not loaded", HTTPStatus.SERVICE_UNAVAILABLE)
        return self.editor

    # -- the API -----------------------------------------------------------------------------

    def status(self) -> dict:
        return {"ready": self.ready.is_set() and self.editor is not None, "error": self.load_error,
                "root": str(self.root), "max_upload_bytes": MAX_UPLOAD_BYTES}

    def files(self) -> dict:
        """Images under the root that open would accept (a symlink out of the root is not listed)."""
        found: list[str] = []
        for folder, dirs, names in os.walk(self.root):
            dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS and not d.startswith("."))
            for n in sorted(names):
                p = Path(folder) / n
                if p.suffix.lower() not in IMAGE_SUFFIXES or (p.is_symlink() and not _inside(self.root, p)):
                    continue
                found.append(str(p.relative_to(self.root)))
                if len(found) >= LISTED_FILES:
                    return {"files": found, "more": True}
        return {"files": found, "more": False}

    def open(self, path: str) -> dict:
        try:
            p = inside_root(self.root, path, must_exist=True)
        except ToolInputError as e:
            raise WebError(str(e)) from None
        return self._workspace(p, str(p.relative_to(self.root)), uploaded=False)

    def upload(self, name: str, data: bytes) -> dict:
        name = upload_name(name)
        suffix = Path(name).suffix.lower()
        if suffix not in IMAGE_SUFFIXES:
            raise WebError(f"{name or 'the upload'}: not an image file (use .png, .jpg, .webp, .bmp, .tif or .gif)")
        p = self.uploads / f"{secrets.token_hex(8)}{suffix}"
        p.write_bytes(data)
        try:
            return self._workspace(p, name, uploaded=True)
        except WebError:
            p.unlink(missing_ok=True)
            raise

    def _workspace(self, path: Path, name: str, uploaded: bool) -> dict:
        try:
            image = load_image(path)
        except ImageError as e:  # the CLI's own checks: not an image, too many pixels, a decompression bomb
            message = str(e).replace(str(path), name) if uploaded else str(e)
            raise WebError(message.splitlines()[0]) from None
        ws = Workspace(secrets.token_hex(8), name, path, [Version(image)], uploaded=uploaded)
        with self.lock:
            self.workspaces[ws.id] = ws
            idle = [w for w in self.workspaces.values() if not w.busy and w is not ws]
            for old in idle[: max(0, len(self.workspaces) - WORKSPACES_KEPT)]:
                self._forget(old)
        return ws.view()

    def _forget(self, ws: Workspace) -> None:
        """Close a workspace (under self.lock): its images, its jobs, its upload."""
        del self.workspaces[ws.id]
        for job_id in [j.id for j in self.jobs.values() if j.workspace is ws]:
            del self.jobs[job_id]
        if ws.uploaded:
            ws.path.unlink(missing_ok=True)

    def _ws(self, ws_id: str) -> Workspace:
        with self.lock:
            ws = self.workspaces.get(ws_id)
        if ws is None:
            raise WebError("no such image open (it was closed to make room): open it again", HTTPStatus.NOT_FOUND)
        return ws

    def words(self, ws_id: str) -> dict:
        ws = self._ws(ws_id)
        with ws.lock:
            version, pos = ws.current, ws.pos
        if version.words is None:
            editor = self._editor()
            with self.models_lock:
                from agent.reading import read_text

                lines = editor.toolbox.ocr.read(version.image)  # remembered by content: the edit reads it again for free
                reading = read_text(editor.toolbox.ocr, editor.toolbox.registry, version.image)
            version.words = clickable_words(reading, lines)
        return {"ws": ws.id, "version": pos, "words": version.words}

    def image(self, ws_id: str, v: int) -> bytes:
        ws = self._ws(ws_id)
        with ws.lock:
            if not 0 <= v < len(ws.versions):
                raise WebError(f"no version {v}", HTTPStatus.NOT_FOUND)
            version = ws.versions[v]
        return version.encoded()

    def download(self, ws_id: str) -> tuple[bytes, str]:
        ws = self._ws(ws_id)
        return ws.current.encoded(), f"{Path(ws.name).stem}-glyphfix.png"

    def edit(self, body: dict) -> dict:
        ws = self._ws(str(body.get("ws", "")))
        editor = self._editor()
        seed = _int(body, "seed", 0)
        budget = _int(body, "max_attempts", EditRequest.model_fields["max_attempts"].default)
        replace, request = body.get("replace"), body.get("request")
        move_line = body.get("move_line", False)  # (EditRequest.move_line; the page itself never sets it)
        if not isinstance(move_line, bool):
            raise WebError("move_line: true or false")
        # The request names the input as the CLI would: the file under the root, or the upload's own name.
        image = ws.name if ws.uploaded else str(ws.path)
        try:
            if body.get("find"):
                if not replace:
                    raise WebError("type the new text for the selected word")
                reqs = [EditRequest(image=image, find=str(body["find"]), replace=str(replace),
                                    occurrence=body.get("occurrence"), seed=seed, max_attempts=budget, move_line=move_line)]
            elif request:
                reqs = [EditRequest(image=image, find=p.find, replace=p.replace, occurrence=p.occurrence,
                                    seed=seed, max_attempts=budget, move_line=move_line) for p in parse_requests(str(request))]
            else:
                raise WebError("click a word and type its new text, or type a request such as: replace hands with bands")
        except ParseError as e:
            raise WebError(str(e).splitlines()[0]) from None
        except WebError:
            raise
        except ValueError as e:
            raise WebError(request_error(e)) from None
        with self.lock, ws.lock:
            if ws.busy:
                raise WebError("an edit is already running on this image", HTTPStatus.CONFLICT)
            if body.get("version") not in (None, "") and _int(body, "version", 0) != ws.pos:
                # A click names an occurrence on the image as it was shown.
                raise WebError("the image changed since the word was clicked: click it again", HTTPStatus.CONFLICT)
            job = Job(secrets.token_hex(8), ws, ws.current.image)
            ws.job = job
            self.jobs[job.id] = job
            finished = [j for j in self.jobs.values() if j.state == "done"]
            for old in finished[: max(0, len(self.jobs) - JOBS_KEPT)]:
                del self.jobs[old.id]
        threading.Thread(target=self._run, args=(editor, job, reqs), daemon=True, name=f"edit-{job.id}").start()
        return {"job": job.id}

    def _run(self, editor: Editor, job: Job, reqs: list[EditRequest]) -> None:
        try:
            with self.models_lock:
                result, out, _ = editor.run_many(reqs, job.base, progress=job.say, on_attempt=job.seen)
            if result.status != "error" and out is not None:
                # Like the chat: a failed edit keeps its best attempt (not verified, and the badge
                # says so) so that it can be seen and undone.
                job.workspace.push(out)
            job.result = result
        except Exception as e:  # noqa: BLE001 - the job reports it on the page as one line
            job.error = f"the edit failed: {type(e).__name__}: {e}".splitlines()[0]
        finally:
            job.base = job.passed = None
            job.state = "done"

    def _job(self, job_id: str) -> Job:
        with self.lock:
            job = self.jobs.get(job_id)
        if job is None:
            raise WebError("no such job", HTTPStatus.NOT_FOUND)
        return job

    def job(self, job_id: str) -> dict:
        return self._job(job_id).view()

    def crop(self, job_id: str, name: str) -> bytes:
        with (job := self._job(job_id)).lock:
            data = job.crops.get(name)
        if data is None:
            raise WebError("no such crop", HTTPStatus.NOT_FOUND)
        return data

    def undo(self, ws_id: str) -> dict:
        ws = self._ws(ws_id)
        with ws.lock:
            self._idle(ws)
            if ws.pos == 0:
                raise WebError("nothing to undo")
            ws.redo.append(ws.versions.pop())
            ws.pos -= 1
        return ws.view()

    def redo(self, ws_id: str) -> dict:
        ws = self._ws(ws_id)
        with ws.lock:
            self._idle(ws)
            if not ws.redo:
                raise WebError("nothing to redo")
            ws.versions.append(ws.redo.pop())
            ws.pos += 1
        return ws.view()

    @staticmethod
    def _idle(ws: Workspace) -> None:
        if ws.busy:
            raise WebError("an edit is running on this image; wait for it", HTTPStatus.CONFLICT)


def upload_name(raw: str) -> str:
    """The upload's file name as the page sent it (percent-encoded, so any script survives the
    header), without folders or control characters."""
    name = Path(unquote(raw or "").replace("\\", "/")).name
    return "".join(c for c in name if c.isprintable())[:200]


def _inside(root: Path, p: Path) -> bool:
    try:
        inside_root(root, str(p), must_exist=True)
        return True
    except ToolInputError:
        return False


def clickable_words(reading: TextReading, lines: list) -> list[dict]:
    """Every word the page draws, with what clicking it asks for: the word without the punctuation
    around it ("hands," -> "hands") and which occurrence of that text, counted as the edit will
    count them (tools/locate.py, on the same reading), this word is."""
    words = []
    for li, line in enumerate(reading.lines):
        for w in line.words:
            core = PUNCTUATION_AT_ENDS.sub("", w.text) or w.text
            at = w.start + w.text.find(core)
            find, occurrence, count = core, None, 0
            for text, start in ((core, at), (w.text, w.start)):
                occ = find_occurrences(lines, text)
                k = next((k for k, o in enumerate(occ, 1) if o.line == li and o.start <= start < o.end), None)
                if k is not None:
                    find, occurrence, count = text, k, len(occ)
                    break
            words.append({"text": w.text, "find": find, "occurrence": occurrence, "occurrences": count,
                          "box": list(w.box), "line": li})
    return words


def png_bytes(image: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="PNG")
    return buf.getvalue()


def _crop_box(boxes: list, shape: tuple) -> tuple[int, int, int, int] | None:
    """The attempt's masks with a margin, inside the image: half their height above and below (at
    least 8 px), two heights to the sides (a one-letter mask alone does not show the word)."""
    if not boxes:
        return None
    x0, y0 = min(b[0] for b in boxes), min(b[1] for b in boxes)
    x1, y1 = max(b[2] for b in boxes), max(b[3] for b in boxes)
    my = max(8, (y1 - y0) // 2)
    mx = max(16, 2 * (y1 - y0))
    return max(0, x0 - mx), max(0, y0 - my), min(shape[1], x1 + mx), min(shape[0], y1 + my)


def _attempt_crops(before: np.ndarray, after: np.ndarray, masks: list) -> tuple[bytes, bytes] | None:
    """PNGs of the region around the masks before, with the masks tinted red and outlined, and after
    the attempt (None without a mask)."""
    box = _crop_box(masks, after.shape)
    if box is None or box[2] <= box[0] or box[3] <= box[1]:
        return None
    x0, y0, x1, y1 = box
    scale = min(max(1.0, CROP_HEIGHT / max(1, y1 - y0)), CROP_WIDTH / max(1, x1 - x0))
    size = (max(1, round((x1 - x0) * scale)), max(1, round((y1 - y0) * scale)))
    region = Image.fromarray(before[y0:y1, x0:x1]).convert("RGBA")
    tint = Image.new("RGBA", region.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(tint)
    for b in masks:
        draw.rectangle([b[0] - x0, b[1] - y0, b[2] - x0 - 1, b[3] - y0 - 1], fill=(255, 0, 0, 70), outline=(255, 0, 0, 255))
    marked = Image.alpha_composite(region, tint).convert("RGB").resize(size, Image.Resampling.NEAREST)
    result = Image.fromarray(after[y0:y1, x0:x1]).resize(size, Image.Resampling.NEAREST)
    return png_bytes(np.asarray(marked)), png_bytes(np.asarray(result))


def _int(body: dict, key: str, default: int) -> int:
    value = body.get(key, default)
    try:
        return default if value in (None, "") else int(value)
    except (TypeError, ValueError):
        raise WebError(f"{key} must be a whole number") from None


def handler(app: WebApp, host: str) -> type[BaseHTTPRequestHandler]:
    """The HTTP handler over app: routes, JSON in and out, one-line errors. Requests must name this
    server as their Host (another web site that rebinds its name to 127.0.0.1 cannot read the root's
    images through a visitor's browser) and send JSON as application/json with no foreign Origin
    (a form or a script on another site cannot start edits)."""
    hosts = LOCAL_HOSTS | {host}

    class Handler(BaseHTTPRequestHandler):
        server_version = "glyphfix-web"
        timeout = READ_TIMEOUT_S

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
            pass  # one line per request would drown the terminal the page was started from

        def do_GET(self) -> None:
            url = urlparse(self.path)
            q = {k: v[0] for k, v in parse_qs(url.query).items()}
            self._answer(lambda: self._get(url.path, q))

        def do_POST(self) -> None:
            url = urlparse(self.path)
            self._answer(lambda: self._post(url.path))

        def _check_origin(self) -> None:
            named = urlparse(f"//{self.headers.get('Host', '')}").hostname
            if named not in hosts:
                raise WebError("this server answers only to its own address (Host header)", HTTPStatus.FORBIDDEN)
            origin = self.headers.get("Origin")
            if origin and urlparse(origin).hostname not in hosts:
                raise WebError("requests from other sites are refused", HTTPStatus.FORBIDDEN)

        def _get(self, path: str, q: dict) -> tuple[str, bytes, dict]:
            self._check_origin()
            if path in ("/", "/index.html"):
                return "text/html; charset=utf-8", PAGE.read_bytes(), {}
            if path == "/api/image":
                return "image/png", app.image(q.get("ws", ""), _int(q, "v", 0)), {"Cache-Control": "max-age=3600"}
            if path == "/api/download":
                data, name = app.download(q.get("ws", ""))
                return "image/png", data, {"Content-Disposition": attachment(name)}
            if path == "/api/crop":
                return "image/png", app.crop(q.get("job", ""), q.get("name", "")), {}
            routes: dict[str, Callable[[], dict]] = {
                "/api/status": app.status, "/api/files": app.files, "/api/words": lambda: app.words(q.get("ws", "")),
                "/api/job": lambda: app.job(q.get("id", "")),
            }
            if path not in routes:
                raise WebError(f"no such page: {path}", HTTPStatus.NOT_FOUND)
            return _json(routes[path]())

        def _length(self, limit: int) -> int:
            raw = self.headers.get("Content-Length")
            if raw is None:
                raise WebError("the request has no Content-Length", HTTPStatus.LENGTH_REQUIRED)
            try:
                length = int(raw)
            except ValueError:
                raise WebError(f"bad Content-Length {raw!r}") from None
            if length < 0:
                raise WebError(f"bad Content-Length {raw!r}")
            if length > limit:
                self.close_connection = True  # the body is not read: the connection cannot be reused
                raise WebError(f"the request is too large ({_size(length)}); the limit is {_size(limit)}",
                               HTTPStatus.REQUEST_ENTITY_TOO_LARGE)
            return length

        def _post(self, path: str) -> tuple[str, bytes, dict]:
            self._check_origin()
            if path == "/api/upload":
                length = self._length(MAX_UPLOAD_BYTES)
                return _json(app.upload(self.headers.get("X-Filename", ""), self.rfile.read(length)))
            length = self._length(MAX_JSON_BYTES)
            if self.headers.get_content_type() != "application/json":
                raise WebError("send the request as application/json", HTTPStatus.UNSUPPORTED_MEDIA_TYPE)
            try:
                body = json.loads(self.rfile.read(length) or b"{}")
            except (json.JSONDecodeError, UnicodeDecodeError):
                raise WebError("the request body is not JSON") from None
            if not isinstance(body, dict):
                raise WebError("the request body must be a JSON object")
            routes: dict[str, Callable[[], dict]] = {
                "/api/open": lambda: app.open(str(body.get("path", ""))), "/api/edit": lambda: app.edit(body),
                "/api/undo": lambda: app.undo(str(body.get("ws", ""))), "/api/redo": lambda: app.redo(str(body.get("ws", ""))),
            }
            if path not in routes:
                raise WebError(f"no such action: {path}", HTTPStatus.NOT_FOUND)
            return _json(routes[path]())

        def _answer(self, make: Callable[[], tuple[str, bytes, dict]]) -> None:
            try:
                kind, data, headers = make()
                status = HTTPStatus.OK
            except WebError as e:
                status, (kind, data, headers) = e.status, _json({"error": str(e)})
            except Exception as e:  # noqa: BLE001 - one line to the page, never a traceback
                status = HTTPStatus.INTERNAL_SERVER_ERROR
                kind, data, headers = _json({"error": f"internal error: {type(e).__name__}: {e}".splitlines()[0]})
            try:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                if self.close_connection:
                    self.send_header("Connection", "close")
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)
            except OSError:
                pass  # the browser went away

    return Handler


def attachment(name: str) -> str:
    """A Content-Disposition for a download named name: a plain ASCII name for old clients and the
    exact name (RFC 6266's filename*, UTF-8, percent-encoded) for the rest; never a raw header value."""
    plain = "".join(c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in name) or "glyphfix.png"
    return f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(name)}"


def _size(n: int) -> str:
    return f"{n / 2**20:.1f} MB" if n >= 2**20 else f"{n / 2**10:.1f} KB"


def _json(obj: dict) -> tuple[str, bytes, dict]:
    return "application/json", json.dumps(obj).encode(), {"Cache-Control": "no-store"}


def make_server(app: WebApp, host: str, port: int) -> ThreadingHTTPServer:
    """The server, bound and listening (port 0: any free port; server.server_address says which)."""
    server_class = ThreadingHTTPServer
    if ":" in host:  # an IPv6 address

        class IPv6Server(ThreadingHTTPServer):
            address_family = socket.AF_INET6

        server_class = IPv6Server
    server = server_class((host, port), handler(app, host))
    server.daemon_threads = True
    return server
