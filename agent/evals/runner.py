"""Scripted eval runs: case files or built-in suites, an independent judge, metrics and a report.

The agent verifies with easyocr; the judge here is PP-OCRv4 (rapidocr-onnxruntime), recognition
only, on the edited word's crop, so the agent never grades its own homework.

The case runner `run_case(runner, case, method, out_dir)` is a pure function of a case and a loaded
runner; `--workers N` maps it over processes, `--engine ray` over Ray actors (ray_engine.py).
"""

from __future__ import annotations

import json
import os
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

from agent.evals.judge import Judge, judge_output, judged_box
from agent.schemas import EditRequest, EditResult, Method
from tools.images import ImageError, load_image


@dataclass
class Case:
    id: str
    image: str
    find: str
    replace: str
    occurrence: int | None = None
    expected: str | None = None  # what the edited word must read (the judge's target)
    gt: str | None = None  # ground-truth image path (synthetic suites)
    edit_box: list[int] | None = None  # where a correct edit may change pixels
    word_box: list[int] | None = None  # the word the judge reads
    face: str | None = None  # synthetic suites: the face the text was drawn in
    conditions: list[str] | None = None  # synthetic suites: background kind, effects, degradations
    keep: list[str] | None = None  # word suite: the line's text before and after the edit, which must read unchanged

    @classmethod
    def from_row(cls, row: dict) -> Case:
        known = {k: row[k] for k in cls.__dataclass_fields__ if k in row}  # unknown keys are ignored
        for k in ("id", "image", "find", "replace"):
            if k not in known or known[k] in (None, ""):
                raise ValueError(f"missing {k!r}")
        known["id"] = str(known["id"])
        return cls(**known)


class Runner:
    """Models loaded once per process: the editor (easyocr + diffusion) and the judge."""

    def __init__(self, judge: bool = True, toolbox=None, threads: int | None = None):
        from agent.context import Toolbox
        from agent.run import Editor

        self.editor = Editor(toolbox or Toolbox.load(threads=threads))
        self.judge = Judge() if judge else None


def run_case(runner: Runner, case: Case, method: Method, out_dir: Path, seed: int = 0) -> dict:
    """Edit one case, write DIR/<id>.png, judge it; returns one results.jsonl row (never raises)."""
    row: dict = {"id": case.id, "method": method}
    t0 = time.perf_counter()
    try:
        req = EditRequest(image=case.image, find=case.find, replace=case.replace, occurrence=case.occurrence,
                          seed=seed, method=method)
    except Exception as e:  # noqa: BLE001 - a bad row is recorded, the run goes on
        return {**row, "status": "error", "seconds": 0.0, "attempts": [], "message": f"bad case: {_one_line(e)}"}
    try:
        out_path = out_dir / f"{_safe(case.id)}.png"
        sheet = out_dir / "sheets" / f"{_safe(case.id)}.png"
        sheet.parent.mkdir(parents=True, exist_ok=True)
        result, _bad = runner.editor.edit_file(req, out_path, sheet=sheet)
        if sheet.exists():
            row["sheet"] = str(sheet)
    except Exception as e:  # noqa: BLE001
        result = EditResult(status="error", request=req, message=_one_line(e))
        traceback.print_exc()
    row.update(json.loads(result.model_dump_json(include={"status", "output", "seconds", "attempts", "message", "plan"})))
    row["seconds"] = round(time.perf_counter() - t0, 3)
    if runner.judge is not None and (case.expected or case.gt):
        # No output (an error, "not found") is judged not exact, nor strict where a ground truth scores
        # strictness: the edit the case asks for was not made. (Until 2026-12-04 such a case was left
        # out of the strict rate's cases: a "not found" raised it.)
        missed = {"exact": False, "false_verified": False} | ({"strict": False} if case.gt and case.edit_box else {})
        row.update(judge_output(runner.judge, case, result) if result.output else missed)
    return row


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)[:120]


def _one_line(e: BaseException) -> str:
    return (f"{type(e).__name__}: {e}".splitlines() or [type(e).__name__])[0]


def read_cases(path: Path) -> tuple[list[Case], list[dict]]:
    """Parse a JSON-lines case file; bad rows come back as error rows, never as exceptions."""
    cases, errors = [], []
    base = path.parent
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        row = None
        try:
            row = json.loads(line)
            if not isinstance(row, dict):
                raise ValueError("not a JSON object")
            case = Case.from_row(row)
            if not os.path.isabs(case.image) and not Path(case.image).exists() and (base / case.image).exists():
                case.image = str(base / case.image)
            width = load_image(case.image).shape[1]
            if case.word_box is not None:
                if not isinstance(case.word_box, list) or len(case.word_box) != 4:
                    raise ValueError("word_box: four numbers, x0 y0 x1 y1")
                case.word_box = judged_box(case.word_box, case.find, case.replace, width)
            cases.append(case)
        except (ValueError, ImageError, TypeError) as e:
            rid = str(row["id"]) if isinstance(row, dict) and row.get("id") not in (None, "") else f"line-{n}"
            errors.append({"id": rid, "status": "error", "seconds": 0.0, "attempts": [], "message": f"line {n}: {_one_line(e)}"})
    return cases, errors


def done_ids(results: Path) -> set[str]:
    if not results.exists():
        return set()
    ids = set()
    for line in results.read_text().splitlines():
        try:
            ids.add(str(json.loads(line)["id"]))
        except (ValueError, KeyError, TypeError):
            continue  # a line cut short by a kill: that case runs again
    return ids


_WORKER: Runner | None = None


def _init_worker(judge: bool) -> None:
    global _WORKER  # per-process model cache, the pattern multiprocessing requires
    _WORKER = Runner(judge, threads=1)  # one core per worker process


def _work(args) -> dict:
    case, method, out_dir, seed = args
    return run_case(_WORKER, case, method, out_dir, seed)


def run_cases(cases: list[Case], method: Method, out_dir: Path, judge: bool, workers: int = 1, seed: int = 0,
              runner: Runner | None = None, progress=None, engine: str = "local", address: str | None = None) -> list[dict]:
    """Run every case not yet in out_dir/results.jsonl, appending rows as they finish (resumable):
    in this process (workers 1), a local process pool, or Ray actors (engine "ray",
    agent/evals/ray_engine.py; EngineError when Ray cannot run)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    results = out_dir / "results.jsonl"
    todo = [c for c in cases if c.id not in done_ids(results)]
    rows = []
    with results.open("a") as f:
        def record(row):
            f.write(json.dumps(row) + "\n")
            f.flush()
            rows.append(row)
            if progress:
                progress(row)

        if engine == "ray":
            from contextlib import closing

            from agent.evals.ray_engine import ray_rows

            if todo:  # (starting Ray takes seconds)
                with closing(ray_rows(todo, method, out_dir, judge, seed, workers, address)) as rows_back:
                    for row in rows_back:
                        record(row)
        elif workers <= 1:
            runner = runner or Runner(judge)
            for c in todo:
                record(run_case(runner, c, method, out_dir, seed))
        else:
            import multiprocessing as mp

            with mp.get_context("spawn").Pool(workers, initializer=_init_worker, initargs=(judge,)) as pool:
                for row in pool.imap(_work, [(c, method, out_dir, seed) for c in todo]):
                    record(row)
    return rows


def load_rows(results: Path) -> list[dict]:
    rows = {}
    for line in results.read_text().splitlines() if results.exists() else []:
        try:
            r = json.loads(line)
            rows[str(r["id"])] = r
        except (ValueError, KeyError, TypeError):
            continue
    return list(rows.values())
