"""The tool-call API behind MCP and LangChain: read_text and edit_text, bounded to a root folder.

Models are loaded once (the Toolbox passed in); calls are serialised around them, so concurrent
callers are safe.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

from pydantic import BaseModel, Field

from agent.reading import read_text
from agent.schemas import EditRequest, EditResult, EditSpec, TextReading, request_error
from tools.images import ImageError, load_image

if TYPE_CHECKING:
    from agent.run import Editor  # torch: the web page imports this module before the models load

_F = EditRequest.model_fields


class ToolInputError(ValueError):
    """A tool call the caller got wrong: a path outside the root, not an image, a bad request."""


class ReadTextArgs(BaseModel):
    image_path: str = Field(description="Path of the image to read (inside the server's root).")


class EditTextArgs(BaseModel):
    image_path: str = Field(description="Path of the input image (inside the server's root); never modified.")
    find: Annotated[str | None, Field(description=_F["find"].description + " (or give `edits`)")] = None
    replace: Annotated[str | None, Field(description=_F["replace"].description)] = None
    output_path: str | None = Field(default=None, description="Where to write the edited image (inside the root; .png or .jpg). Required.")
    occurrence: int | None = Field(default=None, description=_F["occurrence"].description)
    max_attempts: int | None = Field(default=None, description=_F["max_attempts"].description)
    edits: list[EditSpec] | None = Field(default=None, description="Several edits in one call, run in order on the "
                                         "same image (after find/replace if that is given too); one result with an "
                                         "entry per edit.")
    move_line: bool = Field(default=False, description=_F["move_line"].description)


def inside_root(root: Path, path: str, must_exist: bool) -> Path:
    """path (relative to root, or absolute) resolved, or ToolInputError when it lies outside root
    (symlinks followed: a link out of the root is refused) or, with must_exist, is missing. The
    one rule of every front door that takes paths from a caller (MCP, the web page)."""
    p = Path(path)
    if not p.is_absolute():
        p = root / p
    try:
        resolved = p.resolve()
    except (ValueError, OSError) as e:  # a NUL byte, a symlink loop
        raise ToolInputError(f"{path!r}: not a usable path ({e})") from None
    if resolved != root and root not in resolved.parents:
        raise ToolInputError(f"{path}: outside the allowed root {root}")
    if must_exist and not resolved.exists():
        raise ToolInputError(f"{path}: no such file")
    return resolved


class GlyphfixService:
    def __init__(self, editor: Editor, root: str | Path | None = None):
        self.editor = editor
        self.root = Path(root or os.getcwd()).resolve()
        self.lock = threading.Lock()

    def _inside(self, path: str, must_exist: bool) -> Path:
        return inside_root(self.root, path, must_exist)

    def _image(self, path: str):
        p = self._inside(path, must_exist=True)
        try:
            return p, load_image(p)
        except ImageError as e:
            raise ToolInputError(str(e)) from None

    def read_text(self, image_path: str) -> TextReading:
        _, image = self._image(image_path)
        with self.lock:
            return read_text(self.editor.toolbox.ocr, self.editor.toolbox.registry, image)

    def edit_text(self, image_path: str, find: str | None = None, replace: str | None = None, output_path: str | None = None,
                  occurrence: int | None = None, max_attempts: int | None = None,
                  edits: list[EditSpec] | None = None, move_line: bool = False) -> EditResult:
        if not output_path:
            raise ToolInputError("output_path is required: where to write the edited image")
        src, _ = self._image(image_path)
        out = self._inside(output_path, must_exist=False)
        if out.exists() and out.is_symlink():
            raise ToolInputError(f"{output_path}: is a symlink; refusing to write through it")
        specs = [EditSpec.model_validate(e) for e in edits or []]
        if find is not None or replace is not None:
            if find is None or replace is None:
                raise ToolInputError("give both find and replace (or a list of edits)")
            specs.insert(0, EditSpec(find=find, replace=replace, occurrence=occurrence))
        if not specs:
            raise ToolInputError("nothing to edit: give find and replace, or edits")
        budget = max_attempts or EditRequest.model_fields["max_attempts"].default
        try:
            reqs = [EditRequest(image=str(src), find=s.find, replace=s.replace, occurrence=s.occurrence, max_attempts=budget,
                                move_line=move_line) for s in specs]
        except ValueError as e:
            raise ToolInputError(request_error(e)) from None
        with self.lock:
            result, bad = self.editor.edit_file_many(reqs, out)
        if result.status == "error" and bad:
            raise ToolInputError(result.message)
        return result


def langchain_tools(service: GlyphfixService):
    """read_text and edit_text as LangChain StructuredTools, so a langgraph agent can bind them in-process."""
    from langchain_core.tools import StructuredTool

    def _read(image_path: str) -> dict:
        return service.read_text(image_path).model_dump()

    def _edit(image_path: str, find: str | None = None, replace: str | None = None, output_path: str | None = None,
              occurrence: int | None = None, max_attempts: int | None = None, edits: list | None = None,
              move_line: bool = False) -> dict:
        return service.edit_text(image_path, find, replace, output_path, occurrence, max_attempts, edits,
                                 move_line).model_dump(mode="json")

    return [
        StructuredTool.from_function(_read, name="read_text", args_schema=ReadTextArgs,
                                     description="Read the text in an image: lines, words and per-character boxes."),
        StructuredTool.from_function(_edit, name="edit_text", args_schema=EditTextArgs,
                                     description="Change text in an image exactly; returns an EditResult whose status is "
                                                 "'verified' only when OCR read back the requested text."),
    ]
