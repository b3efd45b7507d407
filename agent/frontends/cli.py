"""glyphfix: change text inside images exactly.

Finds the characters, draws the new ones in the matched face (on retries, repaints them with a
glyph-conditioned diffusion model), reads the result back with OCR and retries until it reads
exactly right, or says honestly that it does not.
"""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, cast

import typer

if TYPE_CHECKING:
    from agent.schemas import Method


class Engine(StrEnum):
    """Where `glyphfix eval` runs its cases."""

    local = "local"
    ray = "ray"


app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__, pretty_exceptions_enable=False)
GENERATED = {"synthetic", "unseen", "words", "boxed"}  # the built-in suites generated from a seed (--n, --seed)


def _toolbox(ctx: typer.Context, diffusion: bool = True):
    """The models: the Toolbox a caller passed in (`CliRunner().invoke(app, args, obj=toolbox)`, so
    tests and embedding programs load them once), else loaded now."""
    from agent.context import Toolbox
    from tools.fonts import FontsMissingError
    from tools.readings import default_folder

    if isinstance(ctx.obj, Toolbox):
        return ctx.obj
    try:
        # One process per command: readings are kept on disk for the next one (tools/readings.py).
        return Toolbox.load(diffusion=diffusion, reading_cache=default_folder())
    except FontsMissingError as e:  # a set-up step not run: the message names it
        fail(str(e), code=1)


def fail(message: str, code: int = 2) -> None:
    """One line on stderr, no traceback."""
    typer.echo(f"glyphfix: {message}", err=True)
    raise typer.Exit(code)


@app.command()
def ocr(
    ctx: typer.Context,
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
    from agent.context import Toolbox
    from agent.reading import draw_boxes, read_text

    if isinstance(ctx.obj, Toolbox):
        doc = read_text(ctx.obj.ocr, ctx.obj.registry, img)
    else:
        from tools.fonts import FontRegistry
        from tools.ocr import OCR
        from tools.readings import default_folder

        doc = read_text(OCR(reading_cache=default_folder()), FontRegistry.discover(), img)
    if boxes_png:
        save_image(boxes_png, draw_boxes(img, doc))
    if as_json:
        typer.echo(json.dumps(doc.model_dump(), indent=1))
        return
    for i, line in enumerate(doc.lines, 1):
        typer.echo(f"{i:>3}. {line.text}   (confidence {line.confidence:.2f}, box {list(line.box)})")


@app.command()
def edit(
    ctx: typer.Context,
    image: Annotated[Path, typer.Argument(help="Input image (never modified).")],
    request_text: Annotated[str | None, typer.Argument(metavar="REQUEST", help='A request such as "replace hands with bands" '
                                                       '(several edits: "change 2024 to 2025 and Monday to Tuesday").')] = None,
    find: Annotated[str | None, typer.Option("--find", help="Text to change.")] = None,
    replace: Annotated[str | None, typer.Option("--replace", help="What it should read instead.")] = None,
    occurrence: Annotated[int | None, typer.Option("--occurrence", help="Which occurrence, 1-based in reading order.")] = None,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Where to write the edited image.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the EditResult as JSON.")] = False,
    max_attempts: Annotated[int, typer.Option("--max-attempts", help="Budget of repaint attempts.")] = 6,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (same seed, same pixels).")] = 0,
    # A plain string checked here, not an Enum: typer's own error for a bad choice is a usage block,
    # and bad input gets one line.
    method: Annotated[str, typer.Option("--method", help="agent (verify and retry) | single-shot | naive")] = "agent",
    sheet: Annotated[Path | None, typer.Option("--sheet", help="Write a contact sheet of every attempt (PNG).")] = None,
    region: Annotated[str | None, typer.Option("--region", help="Look only inside x0,y0,x1,y1 (pixels; faster on large images).")] = None,
    move_line: Annotated[bool, typer.Option("--move-line", help="A replacement of another width may move the rest of its "
                                            "line and still verify (default: only the word's pixels may change).")] = False,
) -> None:
    """Change text in IMAGE. Exit 0 verified, 1 not verified (OUT holds the best attempt), 2 bad input."""
    from pydantic import ValidationError

    from agent.frontends.parse import ParseError, parse_requests
    from agent.schemas import EditRequest, request_error

    if output is None:
        fail("missing -o OUT: where to write the edited image")
    if method not in ("agent", "single-shot", "naive"):
        fail(f"unknown --method {method!r}: use agent, single-shot or naive")
    if request_text is not None and (find is not None or replace is not None):
        fail("give either a REQUEST or --find/--replace, not both")
    specs: list[tuple[str, str, int | None]] = []
    if request_text is not None:
        try:
            parsed = parse_requests(request_text)
        except ParseError as e:
            fail(str(e))
        specs = [(p.find, p.replace, p.occurrence) for p in parsed]
        if occurrence is not None:
            if len(specs) > 1:
                fail("--occurrence applies to a single edit; say which occurrence inside the request (the second X)")
            specs[0] = (specs[0][0], specs[0][1], occurrence)
    elif find is not None and replace is not None:
        specs = [(find, replace, occurrence)]
    else:
        fail('say what to change: --find X --replace Y, or a REQUEST like "replace X with Y"')
    box = None
    if region is not None:
        try:
            x0, y0, x1, y1 = (int(v) for v in region.split(","))
        except ValueError:
            fail(f"--region {region}: give four whole numbers x0,y0,x1,y1")
        box = (x0, y0, x1, y1)
    try:
        reqs = [EditRequest(image=str(image), find=f, replace=r, occurrence=o, seed=seed, max_attempts=max_attempts,
                            method=cast("Method", method), region=box, move_line=move_line) for f, r, o in specs]
    except ValidationError as e:
        fail(request_error(e))
    from tools.images import ImageError, load_image

    try:
        load_image(image)  # fail fast, before loading models
    except ImageError as e:
        fail(str(e))
    from agent.run import Editor

    editor = Editor(_toolbox(ctx, diffusion=method != "naive"))
    progress = None if as_json else (lambda s: typer.echo(f"  {s}"))
    result, bad_input = editor.edit_file_many(reqs, output, sheet=sheet, progress=progress)
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


@app.command("eval")
def eval_(
    ctx: typer.Context,
    cases: Annotated[Path | None, typer.Argument(help="JSON lines: id, image, find, replace, optional occurrence, expected.")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Output folder.")] = None,
    method: Annotated[str | None, typer.Option("--method", help="One method: agent | single-shot | naive.")] = None,
    methods: Annotated[str | None, typer.Option("--methods", help="Comma-separated methods (suites).")] = None,
    suite: Annotated[str | None, typer.Option("--suite", help="Built-in suite: synthetic | unseen (faces the registry lacks) | words (word and phrase edits, whole line judged) | boxed (word edits inside annotation boxes and highlights) | real | real-heldout (public photos the code was not tuned on).")] = None,
    split: Annotated[str, typer.Option("--split", help="real-heldout: dev (tune on it) | test (only run to report) | all.")] = "dev",
    n: Annotated[int, typer.Option("--n", help="Generated suites (synthetic, unseen, words, boxed): number of cases.")] = 50,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the cases and of the edits.")] = 0,
    workers: Annotated[int, typer.Option("--workers", help="Parallel worker processes (Ray: actors).")] = 1,
    judge: Annotated[bool, typer.Option("--judge", help="Score outputs with the independent judge OCR (PP-OCRv4).")] = False,
    engine: Annotated[Engine, typer.Option("--engine", help="local: this machine (a process pool with --workers > 1); "
                                           "ray: Ray actors, a local Ray or the cluster at --address (pip install -e \".[scale]\").")] = Engine.local,
    address: Annotated[str | None, typer.Option("--address", help="--engine ray: the cluster to join (HEAD:6379, ray://HEAD:10001 or auto).")] = None,
) -> None:
    """Run many edits: a CASES.jsonl file, or a built-in --suite. Resumes: ids already done are skipped."""
    import datetime

    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    from agent.evals.judge import Judge
    from agent.evals.ray_engine import EngineError
    from agent.evals.report import by_condition, machine, summarise, write_report, write_summary
    from agent.evals.runner import load_rows, read_cases, run_cases

    if out is None:
        fail("missing --out DIR")
    if address and engine is not Engine.ray:
        fail("--address is for --engine ray")
    if workers < 1:
        fail(f"--workers {workers}: at least 1")
    if (cases is None) == (suite is None):
        fail("give either CASES.jsonl or --suite synthetic|unseen|words|boxed|real|real-heldout")
    chosen = [m.strip() for m in (methods or method or "agent").split(",") if m.strip()]
    bad = [m for m in chosen if m not in ("agent", "single-shot", "naive")]
    if bad:
        fail(f"unknown method(s) {', '.join(bad)}: use agent, single-shot, naive")
    out.mkdir(parents=True, exist_ok=True)
    header = [f"{datetime.date.today()} on {machine()}"]
    error_rows: list[dict] = []
    if cases is not None:
        if not cases.exists() or cases.is_dir():
            fail(f"{cases}: no such case file")
        case_list, error_rows = read_cases(cases)
        header.append(f"`glyphfix eval {cases} --out {out} --method {chosen[0]}{' --judge' if judge else ''}`")
        dirs = {chosen[0]: out}
        judging = judge
    else:
        if suite not in GENERATED | {"real", "real-heldout"}:
            fail(f"unknown suite {suite!r}: use synthetic, unseen, words, boxed, real or real-heldout")
        from agent.evals.suites import (
            SPLITS,
            boxed_suite,
            heldout_suite,
            real_suite,
            synthetic_suite,
            unseen_suite,
            words_suite,
        )

        if split not in SPLITS:
            fail(f"unknown --split {split!r}: use {', '.join(SPLITS)}")
        judging = True
        if suite in GENERATED:
            make, what = {"synthetic": (synthetic_suite, "held-out fonts"), "unseen": (unseen_suite, "faces the registry lacks"),
                          "words": (words_suite, "lines with a word or two replaced, judged on the whole line"),
                          "boxed": (boxed_suite, "words inside annotation boxes and highlights replaced, judged on the whole line")}[suite]
            case_list, dropped = make(out, n, seed, Judge())
            header.append(f"suite {suite}: {n} cases generated ({what}), {dropped['original']} dropped because "
                          f"the judge could not read the original, {dropped['truth']} because it could not read the "
                          f"ground-truth edit steadily, {len(case_list)} run")
        elif suite == "real":
            case_list = real_suite()
            header.append(f"suite real: {len(case_list)} curated edits on the bundled photos, judged by OCR only")
        else:
            case_list = heldout_suite(split)
            header.append(f"suite real-heldout, {split} split: {len(case_list)} edits on {len({c.image for c in case_list})} public "
                          "photos, scans and screenshots (examples/heldout), judged by OCR; changed_outside counts pixels "
                          "outside the hand-set word box plus a margin")
        header.append(f"`glyphfix eval --suite {suite}{' --split ' + split if suite == 'real-heldout' else ''} --n {n} --seed {seed} "
                      f"--methods {','.join(chosen)} --out {out} --workers {workers}"
                      f"{' --engine ray' if engine is Engine.ray else ''}`")
        dirs = {m: out / m for m in chosen}
    results_file = {m: d / "results.jsonl" for m, d in dirs.items()}
    if error_rows:
        done = {r["id"] for r in load_rows(results_file[chosen[0]])}
        dirs[chosen[0]].mkdir(parents=True, exist_ok=True)
        with results_file[chosen[0]].open("a") as f:
            for r in error_rows:
                if r["id"] not in done:
                    f.write(json.dumps(r) + "\n")
    columns = [TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
               TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn()]
    runner = None
    with Progress(*columns, transient=False, disable=not sys.stderr.isatty()) as bar:
        for m in chosen:
            done = {r["id"] for r in load_rows(results_file[m])}
            task = bar.add_task(m, total=len(case_list), completed=len([c for c in case_list if c.id in done]))
            if engine is Engine.local and workers <= 1 and runner is None and any(c.id not in done for c in case_list):
                from agent.evals.runner import Runner

                runner = Runner(judging, toolbox=ctx.obj)
            try:
                run_cases(case_list, cast("Method", m), dirs[m], judging, workers=workers, seed=seed, runner=runner,
                          progress=lambda row, t=task: bar.advance(t), engine=engine.value, address=address)
            except EngineError as e:
                fail(str(e))
    per_method = {m: summarise(load_rows(results_file[m])) for m in chosen}
    if suite is not None or judge:
        case_dicts = {c.id: c.__dict__ for c in case_list}
        conditions = {m: by_condition(load_rows(results_file[m]), case_dicts) for m in chosen}
        write_summary(out, per_method, header, conditions if any(conditions.values()) else None)
        write_report(out, case_dicts, {m: load_rows(results_file[m]) for m in chosen}, f"glyphfix eval: {out.name}")
    for m, s in per_method.items():
        typer.echo(f"{m}: {json.dumps({k: v for k, v in s.items() if k != 'failure_reasons'})}")
    typer.echo(f"results: {', '.join(str(p) for p in results_file.values())}")


@app.command()
def serve(
    root: Annotated[Path | None, typer.Option("--root", help="Every path read or written must be inside this folder (default: the current one).")] = None,
) -> None:
    """Run the MCP server over stdio: tools read_text and edit_text."""
    if root is not None and not root.is_dir():
        fail(f"--root {root}: not a directory")
    from agent.frontends.mcp_server import serve as run_server

    run_server(root)


@app.command()
def web(
    ctx: typer.Context,
    root: Annotated[Path | None, typer.Option("--root", help="Images the page may open, and nothing outside it (default: the current folder).")] = None,
    host: Annotated[str, typer.Option("--host", help="Address to listen on; keep 127.0.0.1 unless others should reach it.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on (0: any free one).")] = 7860,
) -> None:
    """A local web page: open an image, click a word, type the new text, watch the attempts."""
    if root is not None and not root.is_dir():
        fail(f"--root {root}: not a directory")
    if not 0 <= port <= 65535:
        fail(f"--port {port}: not a port number")
    from agent.frontends.web import WebApp, make_server

    def load_editor():
        from agent.run import Editor

        return Editor(_toolbox(ctx))

    web_app = WebApp(root or Path.cwd(), load_editor)
    try:
        server = make_server(web_app, host, port)
    except OSError as e:
        web_app.close()
        fail(f"cannot listen on {host}:{port}: {e.strerror or e} (choose another with --port)")
    name = f"[{host}]" if ":" in host else host
    typer.echo(f"glyphfix web: http://{name}:{server.server_address[1]}/ (root {web_app.root}; the models load in the "
               "background; Ctrl-C stops)", err=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        web_app.close()


@app.command()
def chat(
    ctx: typer.Context,
    image: Annotated[Path, typer.Argument(help="Image to work on (never modified; use `save PATH`).")],
    seed: Annotated[int, typer.Option("--seed", help="Seed of the first edit.")] = 0,
    max_attempts: Annotated[int, typer.Option("--max-attempts", help="Budget of repaint attempts per edit.")] = 6,
    move_line: Annotated[bool, typer.Option("--move-line", help="Replacements of another width may move the rest of "
                                            "their line and still verify.")] = False,
) -> None:
    """Talk to glyphfix: type requests like `replace hands with bands`; `help` lists the commands."""
    from tools.images import ImageError, load_image

    try:
        img = load_image(image)
    except ImageError as e:
        fail(str(e))
    from agent.frontends.chat import ChatSession
    from agent.run import Editor

    typer.echo("loading models ...", err=True)
    session = ChatSession(Editor(_toolbox(ctx)), image, [img], seed, max_attempts, move_line)
    raise typer.Exit(session.loop())


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
