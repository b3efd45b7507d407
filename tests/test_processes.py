"""Slow tier: glyphfix as real processes, loading the shipped models each time: the exit codes and
the one-line errors a shell sees, MCP over stdio, chat on a pipe, the network blocked."""

from __future__ import annotations

import asyncio
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.conftest import EXAMPLES

pytestmark = pytest.mark.slow
REPO = EXAMPLES.parent


def sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def glyphfix(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "agent.frontends.cli", *args], capture_output=True, text=True, input=stdin,
                          timeout=900, cwd=REPO)


def test_edit_the_poster_in_a_process(tmp_path):
    src = EXAMPLES / "poster_who_handwashing.png"
    before = sha(src)
    out = tmp_path / "out.png"
    r = glyphfix("edit", str(src), "--find", "hands", "--replace", "bands", "-o", str(out), "--json")
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    res = json.loads(r.stdout)
    assert res["status"] == "verified" and sha(src) == before
    a, b = (np.asarray(Image.open(p).convert("RGB")) for p in (src, out))
    ys, xs = np.nonzero((a != b).any(-1))
    x0, y0, x1, y1 = res["plan"]["word_box"]
    assert len(xs) > 0 and xs.min() >= x0 - 8 and xs.max() < x1 + 8 and ys.min() >= y0 - 8 and ys.max() < y1 + 8


def test_bad_input_in_a_process_is_one_line_and_exit_2(tmp_path):
    (tmp_path / "text.png").write_text("not an image")
    r = glyphfix("edit", str(tmp_path / "text.png"), "--find", "giraffe", "--replace", "gazelle", "-o", str(tmp_path / "o.png"))
    assert r.returncode == 2
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr
    assert not (tmp_path / "o.png").exists()


def test_chat_on_a_pipe(tmp_path):
    src = EXAMPLES / "word_available.png"
    out = tmp_path / "chat.png"
    r = glyphfix("chat", str(src), stdin=f"change Available to Avoilable\nsave {out}\nquit\n")
    assert r.returncode == 0, r.stderr[-2000:]
    assert "verified" in r.stdout and "NOT verified" not in r.stdout and out.exists()
    assert "glyphfix>" not in r.stdout


def test_mcp_over_stdio(tmp_path):
    from mcp import ClientSession, StdioServerParameters
    from mcp.client.stdio import stdio_client

    work = tmp_path / "root"
    work.mkdir()
    (work / "word.png").write_bytes((EXAMPLES / "word_available.png").read_bytes())
    params = StdioServerParameters(command=sys.executable, args=["-m", "agent.frontends.cli", "serve", "--root", str(work)],
                                   cwd=str(REPO))

    async def scenario():
        async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            res = await session.call_tool("edit_text", {"image_path": "word.png", "find": "Available",
                                                        "replace": "Avoilable", "output_path": "out.png"})
            assert not res.isError, res.content
            assert res.structuredContent["status"] == "verified" and (work / "out.png").exists()
            bad = await session.call_tool("read_text", {"image_path": "/etc/passwd"})
            assert bad.isError

    asyncio.run(asyncio.wait_for(scenario(), timeout=600))


def test_ocr_json_with_network_blocked(tmp_path):
    """Runs in a child whose sockets all fail: weights must come from disk."""
    code = (
        "import socket\n"
        "def refuse(*a, **k): raise OSError('network disabled')\n"
        "socket.socket.connect = refuse\n"
        "socket.create_connection = refuse\n"
        "import sys; from agent.frontends.cli import main; sys.argv = ['glyphfix', 'ocr', sys.argv[1], '--json', '--boxes', sys.argv[2]]; main()\n"
    )
    r = subprocess.run([sys.executable, "-c", code, str(EXAMPLES / "word_available.png"), str(tmp_path / "b.png")],
                       capture_output=True, text=True, timeout=300, cwd=REPO)
    assert r.returncode == 0, r.stderr
    words = [w for line in json.loads(r.stdout)["lines"] for w in line["words"]]
    assert [w["text"] for w in words] == ["Available"] and len(words[0]["chars"]) == 9


def test_eval_with_two_worker_processes_gives_the_same_pixels_as_in_process(tmp_path, toolbox):
    from tests.test_eval import eval_in_process

    assert eval_in_process(toolbox, tmp_path / "here").exit_code == 0
    r = glyphfix("eval", "--suite", "synthetic", "--n", "2", "--seed", "5", "--methods", "single-shot",
                 "--out", str(tmp_path / "pool"), "--workers", "2")
    assert r.returncode == 0, r.stderr[-2000:]
    rows = [json.loads(x) for x in (tmp_path / "here" / "single-shot" / "results.jsonl").read_text().splitlines()]
    outputs = [r["id"] for r in rows if r.get("output")]
    assert outputs
    for cid in outputs:
        assert (tmp_path / "here" / "single-shot" / f"{cid}.png").read_bytes() == \
            (tmp_path / "pool" / "single-shot" / f"{cid}.png").read_bytes()
