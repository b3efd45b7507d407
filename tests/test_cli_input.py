"""Bad input gets one line on stderr, a non-zero exit and no traceback; OCR works offline."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from agent.frontends.cli import app
from tests.conftest import EXAMPLES


def _png_header(w: int, h: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", len(ihdr)) + chunk + struct.pack(">I", zlib.crc32(chunk))


def glyphfix(*args: str):
    """In-process: bad input is refused before any model loads (test_processes.py runs a real process)."""
    return CliRunner().invoke(app, list(args))


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("bad")
    (d / "not_image.png").write_text("hello, I am text")
    good = (EXAMPLES / "word_available.png").read_bytes()
    (d / "truncated.png").write_bytes(good[: len(good) // 3])
    (d / "zero.png").write_bytes(_png_header(0, 0))
    (d / "huge.png").write_bytes(_png_header(30000, 30000))
    Image.new("1", (9000, 6667)).save(d / "sixty_mp.png")  # a 60 MP image (1 bit a pixel: 7.5 MB to make)
    (d / "folder").mkdir()
    return {
        "missing": d / "missing.png", "not_image": d / "not_image.png", "truncated": d / "truncated.png",
        "zero": d / "zero.png", "huge": d / "huge.png", "sixty_mp": d / "sixty_mp.png", "directory": d / "folder",
    }


def test_a_60_mp_photo_is_refused_in_one_line(bad_files, tmp_path):
    r = glyphfix("edit", str(bad_files["sixty_mp"]), "--find", "a", "--replace", "b", "-o", str(tmp_path / "o.png"))
    assert r.exit_code == 2
    assert r.stderr.strip() == f"glyphfix: {bad_files['sixty_mp']}: image is too large (9000x6667); the limit is 30000000 pixels"


@pytest.mark.parametrize("kind", ["missing", "not_image", "truncated", "zero", "huge", "sixty_mp", "directory"])
def test_ocr_bad_input_one_line_error(bad_files, kind):
    r = glyphfix("ocr", str(bad_files[kind]))
    assert r.exit_code == 2
    assert "Traceback" not in r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("glyphfix: "), r.stderr


@pytest.mark.parametrize("kind", ["missing", "truncated", "directory"])
def test_edit_bad_image_exit_2(bad_files, kind, tmp_path):
    r = glyphfix("edit", str(bad_files[kind]), "--find", "a", "--replace", "b", "-o", str(tmp_path / "o.png"))
    assert r.exit_code == 2 and "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1


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


def test_a_font_library_index_not_built_is_one_line_naming_the_fix(tmp_path, monkeypatch):
    monkeypatch.setenv("GLYPHFIX_FONT_INDEX", str(tmp_path / "none.npz"))
    r = glyphfix("edit", str(EXAMPLES / "word_available.png"), "--find", "a", "--replace", "b", "-o", str(tmp_path / "o.png"))
    assert r.exit_code == 1 and "Traceback" not in r.output
    assert r.output.strip().count("\n") == 0 and "make setup" in r.output
