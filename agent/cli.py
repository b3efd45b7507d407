"""glyphfix: change text inside images exactly.

Finds the characters, repaints them with a glyph-conditioned diffusion model, reads the result
back with OCR and retries until it reads exactly right, or says honestly that it does not.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__, pretty_exceptions_enable=False)


def fail(message: str, code: int = 2) -> None:
    """One line on stderr, no traceback."""
    typer.echo(f"glyphfix: {message}", err=True)
    raise typer.Exit(code)


@app.command()
def ocr(
    image: Annotated[Path, typer.Argument(help="Image to read.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")] = False,
    boxes_png: Annotated[Path | None, typer.Option("--boxes", help="Also write a PNG with the character boxes drawn.")] = None,
) -> None:
    """Read the text in IMAGE: lines, words, and one box per character."""
    from tools.images import ImageError, load_image, save_image

    try:
        img = load_image(image)
    except ImageError as e:
        fail(str(e))
    from agent.reading import draw_boxes, read_text
    from tools.fonts import FontRegistry
    from tools.ocr import OCR

    doc = read_text(OCR(), FontRegistry.discover(), img)
    if boxes_png:
        save_image(boxes_png, draw_boxes(img, doc))
    if as_json:
        typer.echo(json.dumps(doc.model_dump(), indent=1))
        return
    for i, line in enumerate(doc.lines, 1):
        typer.echo(f"{i:>3}. {line.text}   (confidence {line.confidence:.2f}, box {list(line.box)})")


@app.command()
def edit(
    image: Annotated[Path, typer.Argument(help="Input image (never modified).")],
    request_text: Annotated[str | None, typer.Argument(metavar="REQUEST", help='A request such as "replace hands with bands".')] = None,
    find: Annotated[str | None, typer.Option("--find", help="Text to change.")] = None,
    replace: Annotated[str | None, typer.Option("--replace", help="What it should read instead.")] = None,
    occurrence: Annotated[int | None, typer.Option("--occurrence", help="Which occurrence, 1-based in reading order.")] = None,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Where to write the edited image.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the EditResult as JSON.")] = False,
    max_attempts: Annotated[int, typer.Option("--max-attempts", help="Budget of repaint attempts.")] = 6,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (same seed, same pixels).")] = 0,
    method: Annotated[str, typer.Option("--method", help="agent | single-shot | naive")] = "agent",
    sheet: Annotated[Path | None, typer.Option("--sheet", help="Write a contact sheet of every attempt (PNG).")] = None,
) -> None:
    """Change text in IMAGE. Exit 0 verified, 1 not verified (OUT holds the best attempt), 2 bad input."""
    from pydantic import ValidationError

    from agent.parse import ParseError, parse_request
    from agent.schemas import EditRequest

    if output is None:
        fail("missing -o OUT: where to write the edited image")
    if method not in ("agent", "single-shot", "naive"):
        fail(f"unknown --method {method!r}: use agent, single-shot or naive")
    if request_text is not None and (find is not None or replace is not None):
        fail("give either a REQUEST or --find/--replace, not both")
    if request_text is not None:
        try:
            parsed = parse_request(request_text)
        except ParseError as e:
            fail(str(e))
        find, replace = parsed.find, parsed.replace
        occurrence = occurrence or parsed.occurrence
    if find is None or replace is None:
        fail('say what to change: --find X --replace Y, or a REQUEST like "replace X with Y"')
    try:
        req = EditRequest(image=str(image), find=find, replace=replace, occurrence=occurrence, seed=seed,
                          max_attempts=max_attempts, method=method)
    except ValidationError as e:
        err = e.errors()[0]
        where = ".".join(str(x) for x in err["loc"])
        fail(f"bad request: {where + ': ' if where else ''}{err['msg'].removeprefix('Value error, ')}")
    from tools.images import ImageError, load_image

    try:
        load_image(image)  # fail fast, before loading models
    except ImageError as e:
        fail(str(e))
    from agent.context import Toolbox
    from agent.run import Editor

    editor = Editor(Toolbox.load(diffusion=method != "naive"))
    progress = None if as_json else (lambda s: typer.echo(f"  {s}", err=True))
    result, bad_input = editor.edit_file(req, output, sheet=sheet, progress=progress)
    if as_json:
        typer.echo(result.model_dump_json(indent=1))
    if result.status == "error":
        if not as_json:
            typer.echo(f"glyphfix: {result.message}", err=True)
        raise typer.Exit(2 if bad_input else 1)
    if not as_json:
        typer.echo(f"{result.status}: {result.message}")
        if result.output:
            typer.echo(f"wrote {result.output}")
        if sheet:
            typer.echo(f"attempt sheet: {sheet}")
    raise typer.Exit(0 if result.status == "verified" else 1)


@app.command()
def train(
    steps: Annotated[int, typer.Option(help="Total optimisation steps (resumes from runs/<name>).")] = 4000,
    out: Annotated[Path, typer.Option(help="Run folder: state, log.")] = Path("runs/main"),
) -> None:
    """Train the glyph diffusion model on synthetic edit pairs (CPU by default, GPU when present)."""
    from models.train import main

    main(["--steps", str(steps), "--out", str(out)])


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        typer.echo("glyphfix: interrupted", err=True)
        sys.exit(130)


if __name__ == "__main__":
    main()
