"""Whole-image readings remembered by the image's content, so an image is detected once.

In memory, the last READINGS_KEPT (a chat, web or MCP session's recent images, an eval worker's
cases); on disk too when given a folder (the CLI: one process per edit, so the next `glyphfix edit`
of the same image, or of the image an edit wrote, reads its lines from there), capped at
DISK_BYTES, oldest dropped first. The disk is a cache: a file that cannot be read or written is
skipped, never an error.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from tools.ocr import TextLine

READINGS_KEPT = 16  # in memory
DISK_BYTES = 64 * 2**20  # on disk: a reading is 1-50 kB, so thousands of images
STALE_TMP_S = 3600  # a half-written file this old belongs to a process that is gone
# Bump when what a reading holds, or how it is made, changes: old files are then never matched.
FORMAT = "2"


def content_key(image: np.ndarray) -> str:
    """A key that two images share only when their pixels are the same."""
    data = np.ascontiguousarray(image)
    h = hashlib.blake2b(f"{data.shape} {data.dtype}".encode(), digest_size=16)
    h.update(data.data.cast("B"))
    return h.hexdigest()


def default_folder() -> Path:
    """$GLYPHFIX_CACHE, else $XDG_CACHE_HOME/glyphfix, else ~/.cache/glyphfix; readings/ inside."""
    base = os.environ.get("GLYPHFIX_CACHE") or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "glyphfix"
    return Path(base) / "readings"


class Readings:
    def __init__(self, folder: Path | None = None, tag: str = ""):
        self.memory: OrderedDict[str, list[TextLine]] = OrderedDict()
        self.lock = threading.Lock()
        self.folder = folder
        self.tag = tag  # the recogniser's version: a reading made by another is not this one's

    def get(self, key: str) -> list[TextLine] | None:
        with self.lock:
            if key in self.memory:
                self.memory.move_to_end(key)
                return list(self.memory[key])
        lines = self._load(key)
        if lines is not None:
            self._keep(key, lines)
        return lines

    def put(self, key: str, lines: list[TextLine], persist: bool = True) -> None:
        """Remember lines for key, on disk too when persist (and a folder was given)."""
        self._keep(key, lines)
        if persist:
            self._save(key, lines)

    def _keep(self, key: str, lines: list[TextLine]) -> None:
        with self.lock:
            self.memory[key] = list(lines)
            self.memory.move_to_end(key)
            while len(self.memory) > READINGS_KEPT:
                self.memory.popitem(last=False)

    def _path(self, key: str) -> Path | None:
        return None if self.folder is None else self.folder / f"{FORMAT}-{self.tag}-{key}.json"

    def _load(self, key: str) -> list[TextLine] | None:
        from tools.ocr import TextLine

        path = self._path(key)
        if path is None or not path.exists():
            return None
        try:
            rows = json.loads(path.read_text())
            lines = []
            for r in rows:
                x0, y0, x1, y1 = (int(v) for v in r["box"])
                lines.append(TextLine(str(r["text"]), float(r["confidence"]),
                                      [(float(x), float(y)) for x, y in r["quad"]], (x0, y0, x1, y1)))
            os.utime(path)  # recently used: dropped last
            return lines
        except FileNotFoundError:
            return None  # another process trimmed it meanwhile
        except (OSError, ValueError, KeyError, TypeError):
            path.unlink(missing_ok=True)  # unreadable: read the image again
            return None

    def _save(self, key: str, lines: list[TextLine]) -> None:
        path = self._path(key)
        if path is None:
            return
        rows = [{"text": ln.text, "confidence": ln.confidence, "quad": ln.quad, "box": list(ln.box)} for ln in lines]
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
            with os.fdopen(fd, "w") as f:
                json.dump(rows, f)
            os.replace(tmp, path)
            self._trim()
        except OSError:
            return

    def _trim(self) -> None:
        """Drop the least recently used files while the folder holds more than DISK_BYTES, and
        what a process that died mid-write left behind. Other processes may trim at the same time:
        a file gone meanwhile is simply not counted."""
        assert self.folder is not None
        now = time.time()
        files = []
        for p in self.folder.iterdir():
            try:
                st = p.stat()
            except OSError:
                continue
            if p.suffix == ".tmp" and now - st.st_mtime > STALE_TMP_S:
                p.unlink(missing_ok=True)
            elif p.suffix == ".json":
                files.append((st.st_mtime, st.st_size, p))
        total = sum(size for _, size, _ in files)
        for _, size, p in sorted(files):
            if total <= DISK_BYTES:
                break
            p.unlink(missing_ok=True)
            total -= size
