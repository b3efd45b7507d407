"""The front doors in-process, over one shared toolbox: `glyphfix edit`, `ocr`, `chat` (CliRunner),
MCP (an in-memory client session) and the LangChain StructuredTool inside a minimal langgraph graph.
The same doors as real processes (stdio MCP, piped chat, exit codes) are in test_processes.py."""

from __future__ import annotations

import asyncio
import hashlib
import json
import tempfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from agent.frontends.cli import app
from tests.conftest import EXAMPLES


def sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def glyphfix(toolbox):
    """`glyphfix ARGS` in this process, on the session's toolbox (no model loading per call)."""

    def run(*args: str, stdin: str | None = None):
        return CliRunner().invoke(app, list(args), obj=toolbox, input=stdin)

    return run


@pytest.mark.slow  # (four edits: the fast tier's two minutes are spent)
def test_a_line_that_must_move_verifies_only_when_the_request_lets_it(tmp_path, glyphfix, registry, editor):
    # #17 against #19: "Rate: Daily Parking" -> "Weekly" is set like a typesetter, and "Parking"
    # moves right. By default that is not verified (no pixel outside the word may change): exit 1,
    # the output holds the edit, and the message names the way to allow it; with --move-line the
    # same pixels verify (the line read whole, as #19 checks it).
    from tools.fonts import render_text

    drawn = render_text(registry.font("DejaVuSans", 30), "Rate: Daily Parking", (420, 60), (12, 40))
    src, out = tmp_path / "receipt.png", tmp_path / "out.png"
    Image.fromarray((np.full((60, 420, 3), 245.0) - drawn.alpha[..., None] * 225).astype(np.uint8)).save(src)
    args = ("edit", str(src), "--find", "Daily", "--replace", "Weekly", "-o", str(out), "--json")
    kept = glyphfix(*args)
    assert kept.exit_code == 1, kept.output[-2000:]
    res = json.loads(kept.stdout)
    assert res["status"] == "failed" and res["attempts"][-1]["why_failed"] == "reset-past-word" and "--move-line" in res["message"]
    first = np.asarray(Image.open(out))
    moved = glyphfix(*args, "--move-line")
    assert moved.exit_code == 0, moved.output[-2000:]
    res = json.loads(moved.stdout)
    assert res["status"] == "verified" and res["request"]["move_line"] and res["plan"]["reflow"]["dx"] > 0
    assert res["attempts"][-1]["changed_outside_word"] == 0  # (past what the re-set allows: none)
    assert (np.asarray(Image.open(out)) == first).all()  # the same edit: only what the request allows differs
    # ... and the tool call's move_line reaches the edit (MCP, in memory)
    from mcp.shared.memory import create_connected_server_and_client_session

    from agent.frontends.mcp_server import build_server
    from agent.frontends.service import GlyphfixService

    server = build_server(GlyphfixService(editor, tmp_path))

    async def scenario():
        async with create_connected_server_and_client_session(server._mcp_server) as session:
            call = {"image_path": "receipt.png", "find": "Daily", "replace": "Weekly", "output_path": "mcp.png"}
            kept, moved = [(await session.call_tool("edit_text", call | extra)).structuredContent["status"]
                           for extra in ({}, {"move_line": True})]
            assert (kept, moved) == ("failed", "verified")

    asyncio.run(scenario())


@pytest.mark.parametrize(("name", "find", "replace"), [("word_available.png", "Available", "Avoilable"),
                                                       ("word_underground.png", "underground", "undergrouNd")])
def test_edit_real_photo_verified_and_local(tmp_path, glyphfix, name, find, replace):
    src = EXAMPLES / name
    before = sha(src)
    out = tmp_path / "out.png"
    r = glyphfix("edit", str(src), "--find", find, "--replace", replace, "-o", str(out), "--json")
    assert r.exit_code == 0, r.output[-2000:]
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
    (["--find", "Available", "--replace", "Avoilable", "--occurrence", "5"], "occurs"),
    (["--find", "Available", "--replace", "Available"], "same"),
    (["--find", "Available", "--replace", "\u6f22\u5b57\u6f22\u5b57\u6f22\u5b57\u6f22\u5b57\u6f22"], "can draw"),
    (["--find", "", "--replace", "bands"], "empty"),
    (["--find", "Available", "--replace", "Avoilable", "--method", "best"], "method"),
])
def test_edit_bad_requests_exit_2(tmp_path, glyphfix, args, hint):
    r = glyphfix("edit", str(EXAMPLES / "word_available.png"), *args, "-o", str(tmp_path / "o.png"))
    assert r.exit_code == 2, (r.exit_code, r.output)
    assert hint in r.stderr and len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr
    assert not (tmp_path / "o.png").exists()


def test_edit_refuses_to_overwrite_the_input(tmp_path, glyphfix):
    src = tmp_path / "in.png"
    src.write_bytes((EXAMPLES / "word_available.png").read_bytes())
    before = sha(src)
    r = glyphfix("edit", str(src), "--find", "Available", "--replace", "Avoilable", "-o", str(src))
    assert r.exit_code == 2 and "input" in r.stderr and sha(src) == before


def test_ocr_json_and_boxes(tmp_path, glyphfix):
    r = glyphfix("ocr", str(EXAMPLES / "word_available.png"), "--json", "--boxes", str(tmp_path / "b.png"))
    assert r.exit_code == 0, r.output
    words = [w for line in json.loads(r.stdout)["lines"] for w in line["words"]]
    assert [w["text"] for w in words] == ["Available"] and len(words[0]["chars"]) == 9
    assert (tmp_path / "b.png").stat().st_size > 0


def _previews() -> set[str]:
    return {p.name for p in Path(tempfile.gettempdir()).glob("glyphfix-*")}


def test_chat_piped_edits_saves_and_leaves_no_temporary_folder(tmp_path, glyphfix, monkeypatch):
    # This process's temporary folder is the test's own: under two pytest workers, the other's chat
    # session made its preview folder in the shared one while this ran (a fresh clone's make test).
    own = tmp_path / "tmp"
    own.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(own))
    src = EXAMPLES / "word_available.png"
    before, previews = sha(src), _previews()
    out = tmp_path / "chat.png"
    r = glyphfix("chat", str(src), stdin=f"change Available to Avoilable\nundo\nredo\nsave {out}\nquit\n")
    assert r.exit_code == 0, r.output[-2000:]
    assert "verified" in r.stdout and "NOT verified" not in r.stdout
    assert "undone" in r.stdout and "redone" in r.stdout
    assert f"saved {out}" in r.stdout and out.exists()
    assert "glyphfix>" not in r.stdout  # no prompt noise on a pipe
    assert sha(src) == before
    assert previews == set() and _previews() == previews  # the preview folder went with the session


def test_chat_unknown_request_gets_a_suggestion(glyphfix):
    r = glyphfix("chat", str(EXAMPLES / "word_available.png"), stdin="make it pretty\nundo\nquit\n")
    assert r.exit_code == 0 and "try:" in r.stdout and "nothing to undo" in r.stdout


def test_mcp_in_memory_session(tmp_path, editor):
    from mcp.shared.memory import create_connected_server_and_client_session

    from agent.frontends.mcp_server import build_server
    from agent.frontends.service import GlyphfixService

    work = tmp_path / "root"
    work.mkdir()
    (work / "word.png").write_bytes((EXAMPLES / "word_available.png").read_bytes())
    (work / "link.png").symlink_to("/etc/passwd")
    server = build_server(GlyphfixService(editor, work))

    async def scenario():
        async with create_connected_server_and_client_session(server._mcp_server) as session:
            tools = {t.name: t for t in (await session.list_tools()).tools}
            assert set(tools) >= {"read_text", "edit_text"}
            assert "case-sensitive" in json.dumps(tools["edit_text"].inputSchema)
            assert "move_line" in tools["edit_text"].inputSchema["properties"]
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

    from agent.frontends.service import GlyphfixService, langchain_tools

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


LEDGER = EXAMPLES / "numbers_ledger.png"
TWO_EDITS = "change 6,001 to 6,007 and 271.61 to 271.67"


def test_several_edits_in_one_request_give_one_result_with_an_entry_each(tmp_path, glyphfix):
    out = tmp_path / "two.png"
    r = glyphfix("edit", str(LEDGER), TWO_EDITS, "-o", str(out), "--json")
    assert r.exit_code == 0, r.output[-3000:]
    res = json.loads(r.stdout)
    assert res["status"] == "verified" and [e["status"] for e in res["edits"]] == ["verified", "verified"]
    assert [(e["request"]["find"], e["request"]["replace"]) for e in res["edits"]] == [("6,001", "6,007"), ("271.61", "271.67")]
    a, b = (np.asarray(Image.open(p).convert("RGB")) for p in (LEDGER, out))
    changed = (a != b).any(-1)
    for e in res["edits"]:  # every changed pixel belongs to one of the two words
        x0, y0, x1, y1 = e["plan"]["word_box"]
        changed[max(0, y0 - 8) : y1 + 8, max(0, x0 - 8) : x1 + 8] = False
    assert not changed.any()


def test_edits_that_overlap_are_refused_with_one_line(tmp_path, glyphfix):
    r = glyphfix("edit", str(LEDGER), "change 6,001 to 6,007 and 6,007 to 6,009", "-o", str(tmp_path / "o.png"))
    assert r.exit_code == 2 and "overlap" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "o.png").exists()


@pytest.mark.slow
def test_several_edits_in_chat_and_over_mcp(tmp_path, glyphfix, editor):
    from mcp.shared.memory import create_connected_server_and_client_session

    from agent.frontends.mcp_server import build_server
    from agent.frontends.service import GlyphfixService

    r = glyphfix("chat", str(LEDGER), stdin=f"{TWO_EDITS}\nquit\n")
    assert r.exit_code == 0 and r.stdout.count("editing") == 2 and "NOT verified" not in r.stdout
    assert "verified" in r.stdout
    (tmp_path / "ledger.png").write_bytes(LEDGER.read_bytes())
    server = build_server(GlyphfixService(editor, tmp_path))

    async def scenario():
        async with create_connected_server_and_client_session(server._mcp_server) as session:
            res = await session.call_tool("edit_text", {"image_path": "ledger.png", "output_path": "out.png", "edits": [
                {"find": "6,001", "replace": "6,007"}, {"find": "271.61", "replace": "271.67"}]})
            assert not res.isError, res.content
            assert res.structuredContent["status"] == "verified" and len(res.structuredContent["edits"]) == 2

    asyncio.run(asyncio.wait_for(scenario(), timeout=600))


@pytest.mark.slow  # detects the edited poster again to compare (10 s)
def test_a_reading_is_remembered_and_the_next_edit_rereads_only_the_changed_line(editor):
    from agent.schemas import EditRequest
    from tests.conftest import load
    from tools.readings import content_key

    ocr = editor.toolbox.ocr
    image = load("poster_who_handwashing.png")
    assert content_key(image) == content_key(image.copy()) != content_key(image[:, ::-1])
    first = ocr.read(image)
    again = ocr.read(image.copy())
    assert again == first and again is not first  # the same reading, a list of the caller's own
    result, out, _ = editor.run_many([EditRequest(image="poster.png", find="hands", replace="bands")], image)
    assert result.status == "verified"
    carried = ocr.read(out)  # carried over by the edit: only the changed line was read again
    assert [(a.text, b.text) for a, b in zip(first, carried, strict=True) if a.text != b.text] == [
        ("Clean hands with soap and water", "Clean bands with soap and water")]
    assert [line.box for line in carried] == [line.box for line in first]
    # What detecting the whole edited image again reads.
    assert [line.text for line in ocr._detect_and_read(out, thorough=False)[0]] == [line.text for line in carried]
    stray = out.copy()
    stray[-2:, :2] = 0  # a change in no line: nothing is remembered, the next read detects again
    assert ocr.carry_reading(out, stray) is None


def test_a_carried_reading_leaves_the_other_boxes_of_the_row_alone(editor):
    from agent.schemas import EditRequest
    from tests.conftest import load

    ocr = editor.toolbox.ocr
    ledger = load("numbers_ledger.png")
    first = {line.text: line.box for line in ocr.read(ledger)}
    result, out, _ = editor.run(EditRequest(image="ledger.png", find="6,001", replace="6,007"), ledger)
    assert result.status == "verified"
    carried = {line.text: line.box for line in ocr.read(out)}
    # "001" and "271.61" share the row of "6, 001 , 271 . 61" (the edited box): they keep their
    # readings and boxes (a row-wide widening had read them as "001, 271 . 61/  6.007").
    assert carried["001"] == first["001"] and carried["271.61"] == first["271.61"]
    assert len(carried) == len(first)


def test_region_limits_the_search(tmp_path, glyphfix):
    poster = str(EXAMPLES / "poster_who_handwashing.png")
    out = tmp_path / "r.png"
    # "hand" occurs twice; the region holds only the second line's ("or alcohol-based hand rub").
    r = glyphfix("edit", poster, "--find", "hand", "--replace", "band", "--region", "280,122,620,165", "-o", str(out), "--json")
    assert r.exit_code == 0, r.output[-2000:]
    result = json.loads(r.stdout)
    assert result["plan"]["line_text"].endswith("alcohol-based hand rub") and result["request"]["region"] == [280, 122, 620, 165]
    x0, y0, x1, y1 = result["plan"]["word_box"]
    assert 280 <= x0 and x1 <= 620 and 122 <= y0 and y1 <= 165
    for args, says in ((["--region", "1,2,3"], "--region 1,2,3: give four whole numbers x0,y0,x1,y1"),
                       (["--region", "5,5,1,1"], "bad request: region: must be x0,y0,x1,y1"),
                       (["--region", "2000,2000,2100,2100"], "region [2000, 2000, 2100, 2100] lies outside the image (905x480)")):
        r = glyphfix("edit", poster, "--find", "hand", "--replace", "band", *args, "-o", str(out))
        assert r.exit_code == 2 and says in r.output, r.output
