"""Calibration of the likeness check (agent/style.py): the stroke and height ratios of the right glyph in the right face.

    python -m agent.evals.bench_style [--n 300] [--n-unseen 100] [--seed 0] [--out results/style-calibration]

For each synthetic case (registry faces, the suite glyphfix eval --suite synthetic draws) and each
unseen one (faces the registry lacks: packaged and made ones), the plan and the first attempt's
mask boxes come from one naive attempt; the check then measures its ratios on the case's own ground
truth, a right letter in the right face. The tolerances (STYLE_TOLERANCE, HEIGHT_TOLERANCE) must hold them:
summary.md gives their quantiles per suite and how many the tolerance refuses, with the refusals of
the drawn first attempts beside them. Cases planned in a levelled frame are left out (the ground
truth is not in that frame).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from datetime import date
from pathlib import Path

import numpy as np

from agent.context import Toolbox
from agent.evals.report import machine
from agent.evals.suites import synthetic_suite, unseen_suite
from agent.run import Editor
from agent.schemas import EditRequest
from agent.style import HEIGHT_TOLERANCE, STYLE_TOLERANCE, check_style
from tools.images import load_image


def ratios(editor: Editor, cases) -> tuple[list[dict], dict[str, int]]:
    """(the measured cases' rows, how many cases were run, planned where the check could look, and
    left unmeasured by the check: no witness, too small, a glyph drawn over its neighbours...)."""
    rows, counts = [], {"run": 0, "planned": 0, "unmeasured": 0}
    for case in cases:
        counts["run"] += 1
        source, truth = load_image(case.image), load_image(case.gt)
        request = EditRequest(image=case.image, find=case.find, replace=case.replace, occurrence=case.occurrence,
                              method="naive", max_attempts=1)
        result, _, _ = editor.run(request, source)
        plan = result.plan
        if plan is None or plan.frame is not None or not result.attempts or plan.mode != "chars":
            continue
        counts["planned"] += 1
        drawn = result.attempts[0].style
        on_truth = check_style(editor.toolbox.registry, source, truth, plan, result.attempts[0].mask_boxes)
        if on_truth is None:
            counts["unmeasured"] += 1
            continue
        rows.append({"id": case.id, "face": case.face, "conditions": case.conditions, "truth": on_truth.ratio,
                     "drawn": drawn.ratio if drawn is not None else None, "truth_height": on_truth.height_ratio,
                     "drawn_height": drawn.height_ratio if drawn is not None else None,
                     "truth_control": on_truth.control_ratio, "drawn_control": drawn.control_ratio if drawn is not None else None})
    return rows, counts


# The two measures the check makes: (the rows' keys on the truth and on the drawn first attempt, their tolerance).
MEASURES = {"stroke": ("truth", "drawn", STYLE_TOLERANCE), "height": ("truth_height", "drawn_height", HEIGHT_TOLERANCE)}
# ... and a stroke's control (agent/style.py check_style): where it lies outside the tolerance too, the stroke is not judged
CONTROLS = {"truth": "truth_control", "drawn": "drawn_control"}


def refused(row: dict, key: str, tolerance: tuple[float, float]) -> bool:
    """Whether the check refuses row's measure key (a stroke only where its control is within the tolerance, or not measured)."""
    lo, hi = tolerance
    value, control = row[key], row.get(CONTROLS.get(key, ""))
    return value is not None and not lo <= value <= hi and (control is None or lo <= control <= hi)


def summary(rows: list[dict], counts: dict[str, int]) -> dict:
    out: dict = {**counts, "cases": len(rows)}
    q = [0.01, 0.05, 0.5, 0.95, 0.99]
    for name, (on_truth, on_drawn, (lo, hi)) in MEASURES.items():
        truth = np.array([r[on_truth] for r in rows if r[on_truth] is not None])
        drawn = np.array([r[on_drawn] for r in rows if r[on_drawn] is not None])
        if not len(truth):
            continue
        out[name] = {"measured": len(truth), "truth_quantiles": dict(zip(map(str, q), np.round(np.quantile(truth, q), 3).tolist(), strict=True)),
                     "truth_min_max": [round(float(truth.min()), 3), round(float(truth.max()), 3)],
                     "truth_outside": int(((truth < lo) | (truth > hi)).sum()),
                     "truth_refused": sum(refused(r, on_truth, (lo, hi)) for r in rows),
                     "drawn_refused": sum(refused(r, on_drawn, (lo, hi)) for r in rows), "drawn_checked": len(drawn)}
    return out


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=300, help="synthetic cases")
    ap.add_argument("--n-unseen", type=int, default=100, help="unseen cases")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=Path("results/style-calibration"))
    a = ap.parse_args(argv)
    editor = Editor(Toolbox.load(diffusion=False))
    out: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, suite, n in (("synthetic", synthetic_suite, a.n), ("unseen", unseen_suite, a.n_unseen)):
            cases, _ = suite(Path(tmp) / name, n, a.seed, None)
            rows, counts = ratios(editor, cases)
            out[name] = summary(rows, counts)
            out[name]["rows"] = rows
    a.out.mkdir(parents=True, exist_ok=True)
    tolerances = ", ".join(f"{name} {tol}" for name, (_, _, tol) in MEASURES.items())
    lines = [f"# Likeness check calibration ({date.today()}, {machine()})", "",
             f"`python -m agent.evals.bench_style --n {a.n} --n-unseen {a.n_unseen} --seed {a.seed}`; tolerances: {tolerances}.", "",
             "Cases: run / planned in the image's own frame, as characters / not measured by the check / measured "
             "(the stroke only where the face fits the line: agent/style.py TRUSTED_FIT).", "",
             "Refused: outside the tolerance, and for the stroke where its control (the old letters measured alike "
             "in the original) lies within it or is not measured; outside: outside the tolerance.", "",
             "| suite | measure | cases | ratio on the truth: 1% / 5% / 50% / 95% / 99% | min / max | truth outside | truth refused | first attempts refused |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for name, s in out.items():
        for measure in MEASURES:
            if measure not in s:
                lines.append(f"| {name} | {measure} | {s['run']} / {s['planned']} / {s['unmeasured']} / 0 | | | | | |")
                continue
            m = s[measure]
            qs = " / ".join(f"{v:.3f}" for v in m["truth_quantiles"].values())
            lines.append(f"| {name} | {measure} | {s['run']} / {s['planned']} / {s['unmeasured']} / {m['measured']} | {qs} | "
                         f"{m['truth_min_max'][0]} / {m['truth_min_max'][1]} | {m['truth_outside']} | {m['truth_refused']} | "
                         f"{m['drawn_refused']} of {m['drawn_checked']} |")
    for name, s in out.items():
        for measure, (on_truth, _, (lo, hi)) in MEASURES.items():
            outside = [r for r in s.get("rows", []) if r[on_truth] is not None and not lo <= r[on_truth] <= hi]
            if outside:
                lines += ["", f"{name}: the truths outside the {measure} tolerance (control: the old letters' measure)", ""]
                lines += [f"- {r['id']} ({r['face']}; {', '.join(r['conditions'] or [])}): {r[on_truth]}"
                          + (f", control {r[CONTROLS[on_truth]]}" if on_truth in CONTROLS and r[CONTROLS[on_truth]] is not None else "")
                          + ("" if refused(r, on_truth, (lo, hi)) else ": not judged") for r in outside]
    (a.out / "summary.md").write_text("\n".join(lines) + "\n")
    (a.out / "summary.json").write_text(json.dumps({k: {kk: vv for kk, vv in v.items() if kk != "rows"} for k, v in out.items()}, indent=1))
    print("\n".join(lines))
    return out


if __name__ == "__main__":
    main()
