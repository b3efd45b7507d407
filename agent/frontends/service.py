"""The tool-call API behind MCP and LangChain: read_text and edit_text, bounded to a root folder.

Models are loaded once (the Toolbox passed in); calls are serialised around them, so concurrent
callers are safe.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, Field

from agent.reading import read_text
from agent.run import Editor
from agent.schemas import EditRequest, EditResult, TextReading
from tools.images import ImageError, load_image

_F = EditRequest.model_fields


class ToolInputError(ValueError):
    """A tool call the caller got wrong: a path outside the root, not an image, a bad request."""


class ReadTextArgs(BaseModel):
    image_path: str = Field(description="Path of the image to read (inside the server's root).")


class EditTextArgs(BaseModel):
    image_path: str = Field(description="Path of the input image (inside the server's root); never modified.")
    find: Annotated[str, Field(description=_F["find"].description)]
    replace: Annotated[str, Field(description=_F["replace"].description)]
    output_path: str = Field(description="Where to write the edited image (inside the root; .png or .jpg).")
    occurrence: int | None = Field(default=None, description=_F["occurrence"].description)
    max_attempts: int | None = Field(default=None, description=_F["max_attempts"].description)


class GlyphfixService:
    def __init__(self, editor: Editor, root: str | Path | None = None):
        self.editor = editor
        self.root = Path(root or os.getcwd()).resolve()
        self.lock = threading.Lock()

    def _inside(self, path: str, must_exist: bool) -> Path:
        p = Path(path)
        if not p.is_absolute():
            p = self.root / p
        resolved = p.resolve()  # follows symlinks: a link out of the root is refused
        if resolved != self.root and self.root not in resolved.parents:
            raise ToolInputError(f"{path}: outside the allowed root {self.root}")
        if must_exist and not resolved.exists():
            raise ToolInputError(f"{path}: no such file")
        return resolved

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

    def edit_text(self, image_path: str, find: str, replace: str, output_path: str,
                  occurrence: int | None = None, max_attempts: int | None = None) -> EditResult:
        src, _ = self._image(image_path)
        out = self._inside(output_path, must_exist=False)
        if out.exists() and out.is_symlink():
            raise ToolInputError(f"{output_path}: is a symlink; refusing to write through it")
        try:
            req = EditRequest(image=str(src), find=find, replace=replace, occurrence=occurrence,
                              max_attempts=max_attempts or EditRequest.model_fields["max_attempts"].default)
        except ValueError as e:
            raise ToolInputError(f"bad request: {str(e).splitlines()[-1].strip()}") from None
        with self.lock:
            result, bad = self.editor.edit_file(req, out)
        if result.status == "error" and bad:
            raise ToolInputError(result.message)
        return result


def langchain_tools(service: GlyphfixService):
    """read_text and edit_text as LangChain StructuredTools, so a langgraph agent can bind them in-process."""
    from langchain_core.tools import StructuredTool

    def _read(image_path: str) -> dict:
        return service.read_text(image_path).model_dump()

    def _edit(image_path: str, find: str, replace: str, output_path: str, occurrence: int | None = None,
              max_attempts: int | None = None) -> dict:
        return service.edit_text(image_path, find, replace, output_path, occurrence, max_attempts).model_dump(mode="json")

    return [
        StructuredTool.from_function(_read, name="read_text", args_schema=ReadTextArgs,
                                     description="Read the text in an image: lines, words and per-character boxes."),
        StructuredTool.from_function(_edit, name="edit_text", args_schema=EditTextArgs,
                                     description="Change text in an image exactly; returns an EditResult whose status is "
                                                 "'verified' only when OCR read back the requested text."),
    ]
