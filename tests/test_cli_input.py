"""Bad input gets one line on stderr, a non-zero exit and no traceback; OCR works offline."""

from __future__ import annotations

import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES


def _png_header(w: int, h: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", len(ihdr)) + chunk + struct.pack(">I", zlib.crc32(chunk))


def glyphfix(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "agent.cli", *args], capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("bad")
    (d / "not_image.png").write_text("hello, I am text")
    good = (EXAMPLES / "word_available.png").read_bytes()
    (d / "truncated.png").write_bytes(good[: len(good) // 3])
    (d / "zero.png").write_bytes(_png_header(0, 0))
    (d / "huge.png").write_bytes(_png_header(30000, 30000))
    (d / "folder").mkdir()
    return {
        "missing": d / "missing.png", "not_image": d / "not_image.png", "truncated": d / "truncated.png",
        "zero": d / "zero.png", "huge": d / "huge.png", "directory": d / "folder",
    }


@pytest.mark.parametrize("kind", ["missing", "not_image", "truncated", "zero", "huge", "directory"])
def test_ocr_bad_input_one_line_error(bad_files, kind):
    r = glyphfix("ocr", str(bad_files[kind]))
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("glyphfix: "), r.stderr


@pytest.mark.parametrize("kind", ["missing", "truncated", "directory"])
def test_edit_bad_image_exit_2(bad_files, kind, tmp_path):
    r = glyphfix("edit", str(bad_files[kind]), "--find", "a", "--replace", "b", "-o", str(tmp_path / "o.png"))
    assert r.returncode == 2 and "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_ocr_json_with_network_blocked(tmp_path):
    """Runs in a child whose sockets all fail: weights must come from disk."""
    code = (
        "import socket\n"
        "def refuse(*a, **k): raise OSError('network disabled')\n"
        "socket.socket.connect = refuse\n"
        "socket.create_connection = refuse\n"
        "import sys; from agent.cli import main; sys.argv = ['glyphfix', 'ocr', sys.argv[1], '--json', '--boxes', sys.argv[2]]; main()\n"
    )
    r = subprocess.run([sys.executable, "-c", code, str(EXAMPLES / "word_available.png"), str(tmp_path / "b.png")],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    import json

    doc = json.loads(r.stdout)
    words = [w for line in doc["lines"] for w in line["words"]]
    assert [w["text"] for w in words] == ["Available"]
    assert len(words[0]["chars"]) == 9
    assert (tmp_path / "b.png").stat().st_size > 0


def test_outputs_are_written_atomically_with_the_usual_file_mode(tmp_path):
    import os
    import stat

    import numpy as np

    from tools.images import save_image

    out = tmp_path / "out.png"
    save_image(out, np.zeros((4, 4, 3), np.uint8))
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(out.stat().st_mode) == 0o666 & ~umask  # not mkstemp's private 0600
    assert [p.name for p in tmp_path.iterdir()] == ["out.png"]  # no temporary file left behind
