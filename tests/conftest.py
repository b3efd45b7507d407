"""Shared, session-wide fixtures: heavy things are built once for the whole suite."""

from __future__ import annotations

import socket
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.fixture(scope="session", autouse=True)
def no_network():
    """The whole suite runs with sockets refused: nothing may reach the network."""
    real_connect = socket.socket.connect

    def refuse(self, address, *a, **k):
        if isinstance(address, tuple) and address and address[0] not in ("127.0.0.1", "localhost", "::1"):
            raise OSError(f"network disabled in tests (tried {address})")
        return real_connect(self, address, *a, **k)

    socket.socket.connect = refuse
    yield
    socket.socket.connect = real_connect


@pytest.fixture(scope="session", autouse=True)
def cores_shared_by_workers():
    """Each pytest-xdist worker's torch takes its share of the cores, not all of them: two workers
    each running two threads on a 2-core machine took 48 s over the tiny model's 50 training steps
    (2.5 s alone) and 16 s over each diffusion repaint test (session 46's --durations)."""
    import os

    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    if workers > 1:
        import torch

        from agent.context import MAX_TORCH_THREADS

        cores = len(os.sched_getaffinity(0))  # (the cores this process may run on, not the machine's)
        torch.set_num_threads(max(1, min(MAX_TORCH_THREADS, cores // workers)))


@pytest.fixture(scope="session", autouse=True)
def reading_cache(tmp_path_factory):
    """glyphfix processes the tests start keep their readings here, not in the user's cache."""
    import os

    folder = tmp_path_factory.mktemp("glyphfix-cache")
    old = os.environ.get("GLYPHFIX_CACHE")
    os.environ["GLYPHFIX_CACHE"] = str(folder)
    yield folder
    if old is None:
        os.environ.pop("GLYPHFIX_CACHE", None)
    else:
        os.environ["GLYPHFIX_CACHE"] = old


@pytest.fixture(scope="session")
def registry():
    from tools.fonts import FontRegistry

    return FontRegistry.discover(with_library=True)


@pytest.fixture(scope="session")
def ocr():
    from tools.ocr import OCR

    return OCR()


@pytest.fixture(scope="session")
def glyph_model():
    from models.pipeline import GlyphModel

    return GlyphModel.load()


@pytest.fixture(scope="session")
def toolbox(registry, ocr, glyph_model):
    from agent.context import Toolbox
    from models.inpaint_tool import GlyphDiffusionInpaint
    from tools.inpaint import NaiveInpaint

    return Toolbox(registry, ocr, {"glyph-diffusion": GlyphDiffusionInpaint(glyph_model), "naive": NaiveInpaint()})


@pytest.fixture(scope="session")
def editor(toolbox):
    from agent.run import Editor

    return Editor(toolbox)


def load(name: str) -> np.ndarray:
    return np.asarray(Image.open(EXAMPLES / name).convert("RGB"))


def assert_reset_past_word(result):
    """A re-set word that moved the rest of its line (#19), or grew past its box by more than the
    extra letters' width, passed every check but #17's (no changed pixel outside the word the user
    named): the output holds it, not verified, and says why."""
    kept = result.attempts[result.kept_attempt - 1]
    assert result.status == "failed" and kept.why_failed == "reset-past-word", (
        result.message, [(a.ocr_text, a.line_read, a.why_failed) for a in result.attempts])
    assert kept.changed_outside_word > 0 and "outside the old word's box" in result.message and f'"{kept.ocr_text}"' in result.message
