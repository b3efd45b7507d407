"""Scripted eval runs: case files or built-in suites, an independent judge, metrics and a report.

The agent verifies with easyocr; the judge here is PP-OCRv4 (rapidocr-onnxruntime), recognition
only, on the edited word's crop, so the agent never grades its own homework.

The case runner `run_case(runner, case, method, out_dir)` is a pure function of a case and a loaded
runner; `--workers N` maps it over processes, and a distributed engine could map it the same way.
"""

from __future__ import annotations

import json
import os
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from agent.schemas import EditRequest, EditResult
from tools.images import ImageError, load_image
from tools.metrics import changed_outside, crop, normalised_edit_distance, psnr, ssim


class Judge:
    """PP-OCRv4 recognition (rapidocr-onnxruntime). Deliberately not easyocr."""

    def __init__(self):
        from rapidocr_onnxruntime import RapidOCR

        self.engine = RapidOCR()

    def read(self, image: np.ndarray, box) -> tuple[str, float]:
        x0, y0, x1, y1 = box
        h, w = image.shape[:2]
        m = max(2, round(0.15 * (y1 - y0)))
        c = image[max(0, y0 - m) : min(h, y1 + m), max(0, x0 - m) : min(w, x1 + m)]
        result, _ = self.engine(np.ascontiguousarray(c[..., ::-1]), use_det=False, use_cls=False, use_rec=True)
        if not result:
            return "", 0.0
        return str(result[0][0]), float(result[0][1])


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

    def __init__(self, judge: bool = True):
        import torch

        from agent.context import Toolbox
        from agent.run import Editor

        torch.set_num_threads(1 if os.environ.get("GLYPHFIX_WORKER") else 2)
        self.editor = Editor(Toolbox.load())
        self.judge = Judge() if judge else None


def run_case(runner: Runner, case: Case, method: str, out_dir: Path, seed: int = 0) -> dict:
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
    if runner.judge is not None and result.output and (case.expected or case.gt):
        row.update(judge_output(runner.judge, case, result))
    return row


def judge_output(judge: Judge, case: Case, result: EditResult) -> dict:
    out = load_image(result.output)
    box = case.word_box or (list(result.plan.word_box) if result.plan else None)
    verdict: dict = {}
    expected = case.expected or case.replace
    if box is not None:
        read, conf = judge.read(out, box)
        verdict.update(judge_text=read, judge_confidence=round(conf, 4), exact=_squeeze(read) == _squeeze(expected),
                       ned=round(normalised_edit_distance(_squeeze(read), _squeeze(expected)), 4))
    if case.gt and case.edit_box:
        gt, src = load_image(case.gt), load_image(case.image)
        eb = tuple(case.edit_box)
        verdict.update(ssim=round(ssim(crop(out, eb), crop(gt, eb)), 4), psnr=round(min(99.0, psnr(crop(out, eb), crop(gt, eb))), 2),
                       changed_outside=changed_outside(src, out, eb))
        verdict["strict"] = bool(verdict.get("exact") and verdict["ssim"] >= 0.75 and verdict["changed_outside"] == 0)
    verdict["false_verified"] = bool(result.status == "verified" and verdict.get("exact") is False)
    return verdict


def _squeeze(s: str) -> str:
    return "".join(s.split())


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
            load_image(case.image)
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
    os.environ["GLYPHFIX_WORKER"] = "1"
    _WORKER = Runner(judge)


def _work(args) -> dict:
    case, method, out_dir, seed = args
    return run_case(_WORKER, case, method, out_dir, seed)


def run_cases(cases: list[Case], method: str, out_dir: Path, judge: bool, workers: int = 1, seed: int = 0,
              runner: Runner | None = None, progress=None) -> list[dict]:
    """Run every case not yet in out_dir/results.jsonl, appending rows as they finish (resumable)."""
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

        if workers <= 1:
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
