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
