"""The three front doors on a real photo: `glyphfix edit`, `glyphfix chat` (piped), MCP over stdio,
and the LangChain StructuredTool inside a minimal langgraph graph."""

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

REPO = EXAMPLES.parent


def sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def glyphfix(*args: str, stdin: str | None = None, cwd: Path = REPO) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "agent.cli", *args], capture_output=True, text=True, input=stdin,
                          timeout=900, cwd=cwd)


@pytest.mark.parametrize(("name", "find", "replace"), [("poster_who_handwashing.png", "hands", "bands"),
                                                       ("word_available.png", "Available", "Avoilable")])
def test_edit_real_photo_verified_and_local(tmp_path, name, find, replace):
    src = EXAMPLES / name
    before = sha(src)
    out = tmp_path / "out.png"
    r = glyphfix("edit", str(src), "--find", find, "--replace", replace, "-o", str(out), "--json")
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    res = json.loads(r.stdout)
    assert res["status"] == "verified"
    assert sha(src) == before
    a = np.asarray(Image.open(src).convert("RGB"))
    b = np.asarray(Image.open(out).convert("RGB"))
    ys, xs = np.nonzero((a != b).any(-1))
    x0, y0, x1, y1 = res["plan"]["word_box"]
    assert len(xs) > 0
    assert xs.min() >= x0 - 8 and xs.max() < x1 + 8 and ys.min() >= y0 - 8 and ys.max() < y1 + 8


@pytest.mark.parametrize(("args", "hint"), [
    (["--find", "giraffe", "--replace", "gazelle"], "not found"),
    (["--find", "hands", "--replace", "bands", "--occurrence", "5"], "occurs"),
    (["--find", "hands", "--replace", "hands"], "same"),
    (["--find", "hands", "--replace", "\u6f22\u5b57\u6f22\u5b57\u6f22"], "can draw"),
    (["--find", "", "--replace", "bands"], "empty"),
])
def test_edit_bad_requests_exit_2(tmp_path, args, hint):
    r = glyphfix("edit", str(EXAMPLES / "poster_who_handwashing.png"), *args, "-o", str(tmp_path / "o.png"))
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert hint in r.stderr and len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr
    assert not (tmp_path / "o.png").exists()


def test_edit_refuses_to_overwrite_the_input(tmp_path):
    src = tmp_path / "in.png"
    src.write_bytes((EXAMPLES / "word_available.png").read_bytes())
    r = glyphfix("edit", str(src), "--find", "Available", "--replace", "Avoilable", "-o", str(src))
    assert r.returncode == 2 and "input" in r.stderr


def test_chat_piped(tmp_path):
    src = EXAMPLES / "word_available.png"
    before = sha(src)
    out = tmp_path / "chat.png"
    r = glyphfix("chat", str(src), stdin=f"change Available to Avoilable\nsave {out}\nquit\n")
    assert r.returncode == 0, r.stderr[-2000:]
    assert "verified" in r.stdout and "NOT verified" not in r.stdout
    assert f"saved {out}" in r.stdout and out.exists()
    assert "glyphfix>" not in r.stdout  # no prompt noise on a pipe
    assert sha(src) == before


def test_chat_unknown_request_gets_a_suggestion(tmp_path):
    r = glyphfix("chat", str(EXAMPLES / "word_available.png"), stdin="make it pretty\nundo\nquit\n")
    assert r.returncode == 0 and "try:" in r.stdout and "nothing to undo" in r.stdout and "Traceback" not in r.stderr


def test_mcp_over_stdio(tmp_path):
    from mcp import ClientSession, StdioServerParameters
    from mcp.client.stdio import stdio_client

    work = tmp_path / "root"
    work.mkdir()
    (work / "word.png").write_bytes((EXAMPLES / "word_available.png").read_bytes())
    (work / "link.png").symlink_to("/etc/passwd")
    params = StdioServerParameters(command=sys.executable, args=["-m", "agent.cli", "serve", "--root", str(work)],
                                   cwd=str(REPO))

    async def scenario():
        async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            tools = {t.name: t for t in (await session.list_tools()).tools}
            assert set(tools) >= {"read_text", "edit_text"}
            assert "case-sensitive" in json.dumps(tools["edit_text"].inputSchema)
            res = await session.call_tool("edit_text", {"image_path": "word.png", "find": "Available",
                                                        "replace": "Avoilable", "output_path": "out.png"})
            assert not res.isError, res.content
            assert res.structuredContent["status"] == "verified"
            assert (work / "out.png").exists()
            bad = await session.call_tool("edit_text", {"image_path": "/etc/passwd", "find": "a", "replace": "b",
                                                        "output_path": "x.png"})
            assert bad.isError
            link = await session.call_tool("read_text", {"image_path": "link.png"})
            assert link.isError
            both = await asyncio.gather(
                session.call_tool("read_text", {"image_path": "word.png"}),
                session.call_tool("edit_text", {"image_path": "word.png", "find": "Available", "replace": "Avoilable",
                                                "output_path": "out2.png", "max_attempts": 3}),
            )
            assert not both[0].isError and not both[1].isError
            assert both[0].structuredContent["lines"][0]["text"] == "Available"

    asyncio.run(asyncio.wait_for(scenario(), timeout=600))


def test_structured_tool_in_a_langgraph_graph(tmp_path, editor):
    from langchain_core.messages import AIMessage, HumanMessage
    from langgraph.graph import END, START, MessagesState, StateGraph
    from langgraph.prebuilt import ToolNode

    from agent.service import GlyphfixService, langchain_tools

    (tmp_path / "word.png").write_bytes((EXAMPLES / "word_available.png").read_bytes())
    tools = langchain_tools(GlyphfixService(editor, tmp_path))

    def fake_model(state: MessagesState):
        call = {"name": "edit_text", "id": "call-1", "args": {"image_path": "word.png", "find": "Available",
                                                              "replace": "Avoilable", "output_path": "out.png"}}
        return {"messages": [AIMessage(content="", tool_calls=[call])]}

    g = StateGraph(MessagesState)
    g.add_node("model", fake_model)
    g.add_node("tools", ToolNode(tools))
    g.add_edge(START, "model")
    g.add_edge("model", "tools")
    g.add_edge("tools", END)
    final = g.compile().invoke({"messages": [HumanMessage(content="fix the word")]})
    result = json.loads(final["messages"][-1].content)
    assert result["status"] == "verified" and (tmp_path / "out.png").exists()
