"""`glyphfix serve`: an MCP server over stdio (official `mcp` SDK, v1 FastMCP).

Tools: read_text(image_path) and edit_text(image_path, find, replace, output_path, occurrence,
max_attempts, edits, move_line). Models load once at start-up; calls run in a worker thread, serialised around the
models by the service's lock, so the server stays responsive and concurrent calls are safe.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import anyio
from mcp.server.fastmcp import FastMCP
from mcp.server.fastmcp.exceptions import ToolError
from pydantic import Field

from agent.frontends.service import EditTextArgs, GlyphfixService, ReadTextArgs, ToolInputError
from agent.schemas import EditResult, EditSpec, TextReading

_E = EditTextArgs.model_fields


def build_server(service: GlyphfixService) -> FastMCP:
    mcp = FastMCP("glyphfix", instructions="Change text inside images exactly; results are verified by OCR.")

    async def call(fn, *args):
        try:
            return await anyio.to_thread.run_sync(fn, *args)
        except ToolInputError as e:
            raise ToolError(str(e)) from None

    @mcp.tool()
    async def read_text(
        image_path: Annotated[str, Field(description=ReadTextArgs.model_fields["image_path"].description)],
    ) -> TextReading:
        """Read the text in an image: lines, words and one box per character, in reading order."""
        return await call(service.read_text, image_path)

    @mcp.tool()
    async def edit_text(
        image_path: Annotated[str, Field(description=_E["image_path"].description)],
        find: Annotated[str | None, Field(description=_E["find"].description)] = None,
        replace: Annotated[str | None, Field(description=_E["replace"].description)] = None,
        output_path: Annotated[str | None, Field(description=_E["output_path"].description)] = None,
        occurrence: Annotated[int | None, Field(description=_E["occurrence"].description)] = None,
        max_attempts: Annotated[int | None, Field(description=_E["max_attempts"].description)] = None,
        edits: Annotated[list[EditSpec] | None, Field(description=_E["edits"].description)] = None,
        move_line: Annotated[bool, Field(description=_E["move_line"].description)] = False,
    ) -> EditResult:
        """Change `find` to `replace` (or each of `edits`) in an image and write output_path. status is
        'verified' only when OCR read back exactly the requested text, the line changed nowhere else
        and no pixel changed outside the word (unless move_line lets a re-set word move its line); 'failed'
        leaves the best attempt in output_path."""
        return await call(service.edit_text, image_path, find, replace, output_path, occurrence, max_attempts, edits, move_line)

    return mcp


def serve(root: Path | None = None) -> None:
    from agent.context import Toolbox
    from agent.run import Editor

    service = GlyphfixService(Editor(Toolbox.load()), root)
    build_server(service).run("stdio")
