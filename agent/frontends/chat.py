"""`glyphfix chat IMAGE`: a small REPL over the agent, with undo/redo and save.

Works on a tty (with a prompt) and with input piped on stdin (no prompt noise), so scripts and
tests can drive it. The input file is never written; `save PATH` writes atomically.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from agent.frontends.parse import ParseError, parse_requests
from agent.run import Editor
from agent.schemas import EditRequest, request_error
from tools.images import ImageError, same_file, save_image

HELP = """commands:
  <request>      e.g. replace hands with bands | change the A in CAT to O | "6,001" -> "6,007"
  show           list the words in the current image and where the preview is
  undo / redo    step back or forward through the edits
  save PATH      write the current image (atomically; never over the input)
  help           this text
  quit           leave (also: exit, q, Ctrl-D)"""


@dataclass
class ChatSession:
    editor: Editor
    source: Path
    history: list[np.ndarray]  # history[0] is the input; the current image is history[pos]
    seed: int
    max_attempts: int
    move_line: bool = False  # EditRequest.move_line for every edit of the session (glyphfix chat --move-line)
    pos: int = 0
    redo_stack: list[np.ndarray] = field(default_factory=list)
    # The preview's folder is made on first use and removed when the loop ends.
    preview_dir: Path | None = None

    @property
    def preview(self) -> Path:
        if self.preview_dir is None:
            self.preview_dir = Path(tempfile.mkdtemp(prefix="glyphfix-"))
        return self.preview_dir / "preview.png"

    def close(self) -> None:
        """Remove the preview folder."""
        if self.preview_dir is not None:
            shutil.rmtree(self.preview_dir, ignore_errors=True)
            self.preview_dir = None

    @property
    def current(self) -> np.ndarray:
        return self.history[self.pos]

    def say(self, text: str = "") -> None:
        print(text, file=sys.stdout, flush=True)

    def show(self) -> None:
        lines = self.editor.toolbox.ocr.read(self.current)
        if not lines:
            self.say("no text found")
        n = 0
        for line in lines:
            words = []
            for w in line.text.split():
                n += 1
                words.append(f"[{n}] {w}")
            self.say("  " + "  ".join(words))
        save_image(self.preview, self.current)
        self.say(f"preview: {self.preview}")

    def loop(self) -> int:
        try:
            interactive = sys.stdin.isatty()
            self.say(f"glyphfix chat on {self.source} ({self.current.shape[1]}x{self.current.shape[0]}); type `help`")
            self.show()
            while True:
                if interactive:
                    print("glyphfix> ", end="", flush=True)
                line = sys.stdin.readline()
                if not line or self.handle(line.strip()) == "quit":
                    return 0
        finally:
            self.close()

    def handle(self, text: str) -> str | None:
        if not text:
            return None
        cmd, _, arg = text.partition(" ")
        cmd_l = cmd.lower()
        if cmd_l in ("quit", "exit", "q"):
            return "quit"
        if cmd_l in ("help", "?"):
            self.say(HELP)
        elif cmd_l == "show":
            self.show()
        elif cmd_l == "undo":
            if self.pos == 0:
                self.say("nothing to undo")
            else:
                self.redo_stack.append(self.history.pop())
                self.pos -= 1
                self.say(f"undone ({self.pos} edit(s) applied)")
        elif cmd_l == "redo":
            if not self.redo_stack:
                self.say("nothing to redo")
            else:
                self.history.append(self.redo_stack.pop())
                self.pos += 1
                self.say(f"redone ({self.pos} edit(s) applied)")
        elif cmd_l == "save":
            self.save(arg.strip())
        else:
            self.edit(text)
        return None

    def save(self, path: str) -> None:
        if not path:
            self.say("usage: save PATH")
            return
        if same_file(self.source, path):
            self.say("refusing to overwrite the input image; choose another path")
            return
        try:
            save_image(path, self.current)
        except (ImageError, OSError) as e:
            self.say(f"could not save: {str(e).splitlines()[0]}")
            return
        self.say(f"saved {path}")

    def edit(self, text: str) -> None:
        try:
            parsed = parse_requests(text)
        except ParseError as e:
            self.say(str(e))
            return
        try:
            reqs = [EditRequest(image=str(self.source), find=p.find, replace=p.replace, occurrence=p.occurrence,
                                seed=self.seed, max_attempts=self.max_attempts, move_line=self.move_line) for p in parsed]
        except ValueError as e:
            self.say(request_error(e))
            return
        for p in parsed:
            self.say(f'editing "{p.find}" -> "{p.replace}"' + (f" (occurrence {p.occurrence})" if p.occurrence else ""))
        result, out, _ = self.editor.run_many(reqs, self.current, progress=lambda s: self.say(f"  {s}"))
        self.seed += 1
        if result.status == "error":
            self.say(f"could not edit: {result.message}")
            return
        self.history = self.history[: self.pos + 1] + [out]
        self.pos += 1
        self.redo_stack.clear()
        save_image(self.preview, out)
        verdict = "verified" if result.status == "verified" else "NOT verified (best attempt kept; `undo` to drop it)"
        self.say(f"{verdict}: {result.message}")
        self.say(f"preview: {self.preview}")
