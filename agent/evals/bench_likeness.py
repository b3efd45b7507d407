"""Likeness of the demo edit (issue 18): the new "b" of "hands" -> "bands" on the WHO poster, drawn
with the registry alone and with the font library.

    python -m agent.evals.bench_likeness [--out results/likeness]

Writes summary.md (face, stroke weights, verified) and poster_b.png: the line before, with the
registry alone, with the library (6x, nearest neighbour). The weight is tools.metrics.stem_ink: ink
across the stem above the x-height, of the new "b" and of the "h" it replaced and the "d" beside it.
"""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from agent.context import Toolbox
from agent.evals.report import machine
from agent.run import Editor
from agent.schemas import EditRequest
from tools.fonts import FontRegistry
from tools.images import load_image
from tools.metrics import stem_ink

POSTER = Path(__file__).resolve().parents[2] / "examples" / "poster_who_handwashing.png"
LINE = (330, 98, 470, 122)  # "Clean hands with" on the poster
ZOOM = 6


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("results/likeness"))
    a = ap.parse_args(argv)
    toolbox = Toolbox.load()
    image = load_image(POSTER)
    request = EditRequest(image=str(POSTER), find="hands", replace="bands")
    rows: dict[str, dict[str, Any]] = {}
    pictures = [image]
    for name, registry in (("registry alone", FontRegistry(toolbox.registry.faces)), ("font library", toolbox.registry)):
        result, out, _ = Editor(Toolbox(registry, toolbox.ocr, toolbox.tools)).run(request, image)
        plan = result.plan
        b_box, d_box, x_top = plan.char_boxes[0], plan.char_boxes[3], plan.char_boxes[1][1]
        fg, bg = plan.font.fg, plan.font.bg
        rows[name] = dict(status=result.status, face=plan.font.face, b=stem_ink(out, b_box, fg, bg, x_top),
                          h=stem_ink(image, b_box, fg, bg, x_top), d=stem_ink(out, d_box, fg, bg, x_top),
                          style=result.style.ratio if result.style else None)
        pictures.append(out)
    a.out.mkdir(parents=True, exist_ok=True)
    x0, y0, x1, y1 = LINE
    tiles = [Image.fromarray(np.asarray(p)[y0:y1, x0:x1]).resize(((x1 - x0) * ZOOM, (y1 - y0) * ZOOM), Image.Resampling.NEAREST)
             for p in pictures]
    sheet = Image.new("RGB", (tiles[0].width, sum(t.height + 8 for t in tiles)), "white")
    for k, t in enumerate(tiles):
        sheet.paste(t, (0, k * (t.height + 8)))
    sheet.save(a.out / "poster_b.png")
    lines = ["# Likeness of the demo edit", "", f"{date.today().isoformat()} on {machine()}",
             "`python -m agent.evals.bench_likeness --out results/likeness`", "",
             '"hands" -> "bands" on the WHO poster. Stem ink (px) above the x-height: the new "b", the "h" it replaced, '
             'the "d" beside it (issue 18: the b within 15% of both). Style: the verifier\'s stroke ratio (agent/style.py).', "",
             "| drawn with | status | face | b | h | d | b/h | b/d | style |", "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for name, r in rows.items():
        lines.append(f"| {name} | {r['status']} | {r['face']} | {r['b']:.2f} | {r['h']:.2f} | {r['d']:.2f} | "
                     f"{r['b'] / r['h']:.2f} | {r['b'] / r['d']:.2f} | {r['style']} |")
    lines += ["", "poster_b.png: the line before the edit, then drawn with the registry alone, then with the font library (6x)."]
    (a.out / "summary.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return rows


if __name__ == "__main__":
    main()
