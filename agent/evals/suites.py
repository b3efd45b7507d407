"""Built-in eval suites: synthetic cases with exact ground truth, and curated edits on real photos."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from agent.evals.boxed import make_boxed_case
from agent.evals.judge import Judge, judged_box, reads_steadily
from agent.evals.runner import Case
from agent.evals.synthetic import make_case
from agent.evals.unseen import make_unseen_case
from agent.evals.words import make_word_case
from agent.verify import word_margin
from tools.fonts import FontRegistry
from tools.images import load_image, save_image
from tools.mask import longer_by
from tools.text import squeeze

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"  # the repository's examples/

REAL = [
    ("real-poster-hands", "poster_who_handwashing.png", "hands", "bands", None),
    ("real-poster-soap", "poster_who_handwashing.png", "soap", "soup", None),
    ("real-available", "word_available.png", "Available", "Avoilable", None),
    ("real-underground", "word_underground.png", "underground", "undergrouNd", None),
    ("real-greenstead", "word_greenstead.png", "Greenstead", "Greenstaad", None),
    ("real-ledger-6001", "numbers_ledger.png", "6,001", "6,007", None),
    ("real-sign-speed", "sign_speed_limit.png", "SPEED", "SPEND", 2),
    ("real-sign-market", "sign_speed_limit.png", "MARKET", "MARKED", None),
    ("real-poster-water", "poster_who_handwashing.png", "water", "wafer", None),
    ("real-poster-mouth", "poster_who_handwashing.png", "mouth", "month", None),
    ("real-poster-cook", "poster_who_handwashing.png", "cook", "look", None),
    ("real-sign-market-2", "sign_speed_limit.png", "MARKET", "MARKEX", 2),
    ("real-ledger-271", "numbers_ledger.png", "271.61", "271.67", None),
    ("real-greenstead-2", "word_greenstead.png", "Greenstead", "Greenstand", None),
]


def real_suite() -> list[Case]:
    return [Case(id=i, image=str(EXAMPLES / f), find=a, replace=b, occurrence=o, expected=b) for i, f, a, b, o in REAL]


HELDOUT = EXAMPLES / "heldout" / "cases.jsonl"
SPLITS = ("dev", "test", "all")


def heldout_box(word_box: list[int], find: str, replace: str, shape: tuple[int, int]) -> list[int]:
    """Where a correct edit of a held-out case may change pixels: the hand-set word box plus the
    margin the verifier allows (agent/verify.word_margin: a wider new glyph, halo, JPEG), and for
    a longer replacement the extra characters' width (the word's mean advance each) to the right."""
    x0, y0, x1, y1 = word_box
    m = word_margin(word_box)
    extra = longer_by(word_box, find, replace)
    h, w = shape
    return [max(0, x0 - m), max(0, y0 - m), min(w, round(x1 + m + extra)), min(h, y1 + m)]


def heldout_suite(split: str) -> list[Case]:
    """The held-out real benchmark (examples/heldout: public photos, scans and screenshots the code
    was not tuned on, hand-set expectations); the test half is only run to report."""
    cases = []
    for line in HELDOUT.read_text().splitlines():
        row = json.loads(line)
        if split != "all" and row["split"] != split:
            continue
        image = str(EXAMPLES.parent / row["image"])
        shape = load_image(image).shape[:2]
        judged = judged_box(row["word_box"], row["find"], row["replace"], shape[1])
        cases.append(Case(id=row["id"], image=image, find=row["find"], replace=row["replace"], occurrence=row["occurrence"],
                          expected=row["expected"], word_box=judged,
                          edit_box=heldout_box(row["word_box"], row["find"], row["replace"], shape),
                          conditions=[row["kind"]]))
    return cases


def synthetic_suite(out: Path, n: int, seed: int, judge: Judge | None) -> tuple[list[Case], dict[str, int]]:
    """Generate n cases (held-out fonts) into out/cases; drop those the judge cannot read.
    The same (n, seed) gives the same cases."""
    registry = FontRegistry.discover()
    cases = (make_case(registry, seed, i) for i in range(n))
    return _judged(out, judge, (Generated(c.id, c.scene.source, c.scene.target, c.find, c.replace, c.edit_box(), c.word_box,
                                          c.scene.face, c.scene.conditions) for c in cases))


def unseen_photos() -> list[np.ndarray]:
    """The bundled photos the unseen suite draws its photo grounds from, in the order its cases index
    them: a case is (seed, index) only with these."""
    return [load_image(p) for p in sorted(EXAMPLES.glob("*.png"))]


def unseen_suite(out: Path, n: int, seed: int, judge: Judge | None) -> tuple[list[Case], dict[str, int]]:
    """Generate n cases in faces the registry does not hold (agent/evals/unseen.py) into out/cases; drop
    those the judge cannot read. The same (n, seed) gives the same cases."""
    photos = unseen_photos()
    cases = (make_unseen_case(seed, i, photos) for i in range(n))
    return _judged(out, judge, (Generated(c.id, c.source, c.target, c.find, c.replace, c.edit_box, c.word_box, c.face,
                                          c.conditions) for c in cases))


def words_suite(out: Path, n: int, seed: int, judge: Judge | None) -> tuple[list[Case], dict[str, int]]:
    """Generate n word and phrase edits (agent/evals/words.py) into out/cases; the judge reads the
    whole line, which must read as the line set again; drop those it cannot read. The same (n,
    seed) gives the same cases."""
    registry = FontRegistry.discover()
    cases = (make_word_case(registry, seed, i) for i in range(n))
    return _judged(out, judge, (Generated(c.id, c.source, c.target, c.find, c.replace, c.edit_box, c.line_box, c.face,
                                          c.conditions, c.line, c.new_line, c.keep) for c in cases))


def boxed_suite(out: Path, n: int, seed: int, judge: Judge | None) -> tuple[list[Case], dict[str, int]]:
    """Generate n word edits inside annotation boxes and highlights (agent/evals/boxed.py) into
    out/cases; judged as the words suite, on the whole line. The same (n, seed) gives the same cases."""
    registry = FontRegistry.discover()
    cases = (make_boxed_case(registry, seed, i) for i in range(n))
    return _judged(out, judge, (Generated(c.id, c.source, c.target, c.find, c.replace, c.edit_box, c.line_box, c.face,
                                          c.conditions, c.line, c.new_line, c.keep) for c in cases))


@dataclass
class Generated:
    """A generated case before it is written: its pictures and what the judge must read."""

    id: str
    source: np.ndarray
    target: np.ndarray
    find: str
    replace: str
    edit_box: tuple[int, int, int, int]  # where a correct edit may change pixels
    word_box: tuple[int, int, int, int]  # what the judge reads
    face: str
    conditions: tuple[str, ...]
    source_text: str | None = None  # what the judge must read at word_box in the source (None: find)
    truth_text: str | None = None  # ... and in the truth (None: replace); the edit's expected reading
    keep: tuple[str, str] | None = None  # the text round the edit that must read unchanged


def _judged(out: Path, judge: Judge | None, generated) -> tuple[list[Case], dict[str, int]]:
    """Write each Generated case into out/cases and the index out/cases.jsonl; keep those the
    judge reads right.

    A case is judged by reading the output where the word is, so it only measures the method when
    the judge reads the word right in the original and in the ground-truth edit: a judge that reads
    the true edit "chnl" as "chn1" would call every correct output wrong. The truth must read right
    steadily (judge.reads_steadily: with the box a pixel off too), or an output as good as it is
    judged by a coin toss. Returns the kept cases and how many were dropped for each reason.
    """
    folder = out / "cases"
    folder.mkdir(parents=True, exist_ok=True)
    kept, dropped, rows = [], {"original": 0, "truth": 0}, []
    for g in generated:
        src, gt = folder / f"{g.id}.png", folder / f"{g.id}_gt.png"
        if not src.exists():
            save_image(src, g.source)
            save_image(gt, g.target)
        expected = g.truth_text or g.replace
        case = Case(id=g.id, image=str(src), find=g.find, replace=g.replace, expected=expected, gt=str(gt),
                    edit_box=list(g.edit_box), word_box=list(g.word_box), face=g.face, conditions=list(g.conditions),
                    keep=list(g.keep) if g.keep else None)
        readable = {"original": True, "truth": True}
        if judge is not None:
            readable["original"] = squeeze(judge.read(g.source, g.word_box)[0]) == squeeze(g.source_text or g.find)
            if readable["original"]:
                readable["truth"] = reads_steadily(judge, g.target, g.word_box, expected)
            if not readable["original"]:
                dropped["original"] += 1
            elif not readable["truth"]:
                dropped["truth"] += 1
        rows.append({**case.__dict__, "judge_can_read_original": readable["original"],
                     "judge_can_read_truth": readable["truth"]})
        if all(readable.values()):
            kept.append(case)
    (out / "cases.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return kept, dropped
