"""One edit, end to end: the entry point that the CLI, chat, MCP server and eval all call."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from agent.context import Toolbox
from agent.graph import AttemptSeen, build_graph, run_config
from agent.schemas import Attempt, Box, EditPlan, EditRequest, EditResult
from tools.images import ImageError, load_image, same_file, save_image
from tools.mask import overlapping, union


class Editor:
    """The compiled graph over a loaded toolbox; reuse it for many edits."""

    def __init__(self, toolbox: Toolbox):
        self.toolbox = toolbox
        self.graph = build_graph(toolbox)

    def run(self, request: EditRequest, image: np.ndarray, progress: Callable[[str], None] | None = None,
            on_attempt: AttemptSeen | None = None) -> tuple[EditResult, np.ndarray | None, dict]:
        """Edit an in-memory image. Returns the result, the output image (None on error) and the final
        state. on_attempt sees each attempt and its image as soon as it is verified."""
        t0 = time.perf_counter()
        state = self.graph.invoke({"request": request, "image": image}, run_config(request.max_attempts, progress, on_attempt))
        best = state.get("best")
        result = EditResult(
            status=state.get("status", "error"), request=request, plan=state.get("plan"), attempts=state.get("attempts", []),
            seconds=round(time.perf_counter() - t0, 3), message=state.get("message", ""),
            occurrences=state.get("occurrences"),
            edited_occurrence=state.get("edited_occurrence"),
        )
        if result.occurrences and result.occurrences > 1 and result.plan is not None:
            result.message += (f' ("{request.find}" occurs {result.occurrences} times; occurrence {result.edited_occurrence} '
                               f"in reading order was edited, at {list(result.plan.in_image(result.plan.word_box))}: "
                               "choose another with --occurrence N)")
        out = None
        if result.status == "verified":
            out, result.kept_attempt = state["attempt_images"][-1], result.attempts[-1].number
        elif result.status == "failed" and best is not None:
            out, result.kept_attempt = best[1], best[2]
        if out is not None:
            # The next edit of the result (a request's next edit, or the chat's, page's or MCP
            # caller's next one) reads only the lines this one changed again, not the whole image.
            # A reading not carried is only read again: it never costs the edit.
            try:
                self.toolbox.ocr.carry_reading(image, out)
            except Exception:  # noqa: BLE001
                pass
        return result, out, state

    def run_many(self, requests: list[EditRequest], image: np.ndarray, progress: Callable[[str], None] | None = None,
                 on_attempt: AttemptSeen | None = None) -> tuple[EditResult, np.ndarray | None, bool]:
        """Several edits on one image, in order, each on the image the one before it left. Returns
        one EditResult (its `edits` hold each edit's), the output image (None on error) and whether
        an error was the request's fault. Edits whose words overlap are refused: the later one would
        repaint (or find) what the earlier one wrote."""
        t0 = time.perf_counter()
        results: list[EditResult] = []
        current: np.ndarray = image
        done_boxes: list[tuple] = []
        for k, request in enumerate(requests, 1):
            if progress and len(requests) > 1:
                progress(f'edit {k} of {len(requests)}: "{request.find}" -> "{request.replace}"')
            result, out, state = self.run(request, current, progress, on_attempt)
            results.append(result)
            if result.status == "error":
                return self._combined(results, t0, f"edit {k}: {result.message}"), None, bool(state.get("bad_request"))
            box = written_box(result.plan, result.attempts)
            clash = next((j for j, b in enumerate(done_boxes, 1) if overlapping(box, b)), None)
            if clash is not None:
                message = (f'edits {clash} and {k} overlap ("{requests[clash - 1].find}" and "{request.find}"): '
                           "give them as one edit, or one at a time")
                return self._combined(results, t0, message, status="error"), None, True
            done_boxes.append(box)
            current = out
        return self._combined(results, t0), current, False

    @staticmethod
    def _combined(results: list[EditResult], t0: float, message: str | None = None, status=None) -> EditResult:
        if len(results) == 1 and message is None:
            return results[0]
        if status is None:
            statuses = [r.status for r in results]
            status = "error" if "error" in statuses else "verified" if set(statuses) == {"verified"} else "failed"
        if message is None:
            message = "; ".join(f'edit {k} ("{r.request.find}" -> "{r.request.replace}"): {r.status}'
                                for k, r in enumerate(results, 1))
        return EditResult(status=status, request=results[0].request, edits=results, message=message,
                          seconds=round(time.perf_counter() - t0, 3))

    def edit_file(self, request: EditRequest, output: str | Path, sheet: str | Path | None = None,
                  progress: Callable[[str], None] | None = None) -> tuple[EditResult, bool]:
        """Edit request.image into output (atomically). Returns the result and whether the request was bad input."""
        return self.edit_file_many([request], output, sheet, progress)

    def edit_file_many(self, requests: list[EditRequest], output: str | Path, sheet: str | Path | None = None,
                       progress: Callable[[str], None] | None = None) -> tuple[EditResult, bool]:
        """One or several edits of requests[0].image into output (atomically): one EditResult (one
        edit's own; several: run_many's), and whether the request was bad input. The contact sheet
        is drawn for a single edit."""
        t0 = time.perf_counter()
        first = requests[0]
        refused = self._refused_output(first, output)
        if refused is not None:
            return refused, True
        try:
            image = load_image(first.image)
        except ImageError as e:
            return EditResult(status="error", request=first, message=str(e)), True
        state: dict = {}
        if len(requests) == 1:
            result, out, state = self.run(first, image, progress)
            bad = bool(state.get("bad_request"))
        else:
            result, out, bad = self.run_many(requests, image, progress)
        if out is not None:
            save_image(output, out)
            result.output = str(output)
            if result.status == "failed":
                result.message += f" ({output}: best attempt{'s' if len(requests) > 1 else ''}, unverified)"
        if sheet and state.get("attempts"):
            save_image(sheet, contact_sheet(image, state))
        result.seconds = round(time.perf_counter() - t0, 3)
        return result, bad

    @staticmethod
    def _refused_output(request: EditRequest, output: str | Path) -> EditResult | None:
        if same_file(request.image, output):
            return EditResult(status="error", request=request, message="output path is the input image; refusing to overwrite it")
        if Path(output).suffix.lower() not in Image.registered_extensions():
            return EditResult(status="error", request=request, message=f"{output}: unknown image extension (use .png or .jpg)")
        return None


def worked_box(plan: EditPlan, attempts: list[Attempt]) -> Box:
    """Where an edit worked, in the image's frame: its word and every mask its attempts painted."""
    box: Box = plan.in_image(plan.word_box)
    for a in attempts:
        for b in a.mask_boxes:
            box = union(box, b)
    return box


def written_box(plan: EditPlan, attempts: list[Attempt]) -> Box:
    """Where an edit wrote text: for a re-set word, between its cuts (the new characters, where they
    now lie), not the rest of the line it only moved (a second edit on that line is not a clash:
    "replace hands with hand and soap with soup"); otherwise where it worked."""
    r = plan.reflow
    if r is None:
        return worked_box(plan, attempts)
    reach = max(abs(r.cut_before.lean), abs(r.cut_after.lean)) * (r.band[1] - r.band[0])
    x0, x1 = r.cut_before.x_base - reach, r.cut_after.x_base + reach
    x0, x1 = (x0, x1 + r.dx) if r.side == "after" else (x0 - r.dx, x1)
    return plan.in_image((int(np.floor(x0)), r.band[0], int(np.ceil(x1)), r.band[1]))


def contact_sheet(image: np.ndarray, state: dict) -> np.ndarray:
    """One row per attempt: the word region with its masks outlined, the result, and what OCR read."""
    plan = state["plan"]
    x0, y0, x1, y1 = worked_box(plan, state["attempts"])
    h, w = image.shape[:2]
    m = max(6, (y1 - y0) // 2)
    x0, y0, x1, y1 = max(0, x0 - m), max(0, y0 - m), min(w, x1 + m), min(h, y1 + m)
    scale = max(1, 96 // max(1, y1 - y0))
    cw, ch = (x1 - x0) * scale, (y1 - y0) * scale
    rows = state.get("attempt_images", [])
    n = len(state["attempts"])
    sheet = Image.new("RGB", (2 * cw + 360, (ch + 8) * (n + 1)), "white")
    draw = ImageDraw.Draw(sheet)
    orig = Image.fromarray(image[y0:y1, x0:x1]).resize((cw, ch), Image.Resampling.NEAREST)
    sheet.paste(orig, (0, 0))
    draw.text((2 * cw + 10, 4), f"input: {plan.word!r} -> {plan.new_word!r}", fill="black")
    for i, a in enumerate(state["attempts"]):
        y = (ch + 8) * (i + 1)
        src = orig.copy()
        d = ImageDraw.Draw(src)
        for b in a.mask_boxes:
            d.rectangle([(b[0] - x0) * scale, (b[1] - y0) * scale, (b[2] - x0) * scale - 1, (b[3] - y0) * scale - 1], outline=(255, 0, 0))
        sheet.paste(src, (0, y))
        if i < len(rows):
            sheet.paste(Image.fromarray(rows[i][y0:y1, x0:x1]).resize((cw, ch), Image.Resampling.NEAREST), (cw, y))
        verdict = "PASS" if a.passed else f"fail: {a.why_failed}"
        draw.text((2 * cw + 10, y + 4), f"#{a.number} {a.tool} seed={a.seed} g={a.guidance} steps={a.steps}", fill="black")
        draw.text((2 * cw + 10, y + 20), f"read {a.ocr_text!r} ({a.ocr_confidence:.2f}) {verdict}", fill="black")
        if a.exemplars:
            draw.text((2 * cw + 10, y + 36), "drawn from " + "; ".join(a.exemplars), fill="black")
    return np.asarray(sheet)
