"""Locate benchmark: per-character boxes and font matching on rendered words with exact ground truth.

    python -m agent.evals.bench_locate --n 200 --out results/locate.md

Words are drawn by the synthetic generator (all registry faces, 20-80 px, random colours and
backgrounds, some blur and JPEG). Each is read by easyocr's detector, then cut into characters
with the ground-truth text, and matched to a font.
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import date
from pathlib import Path

import numpy as np

from agent.evals.report import machine
from models.data import make_scene
from models.inputs import DataConfig
from tools.fonts import FontRegistry, match_font
from tools.locate import char_boxes, line_ink
from tools.mask import box_iou
from tools.ocr import OCR


def run(n: int, seed: int) -> dict:
    registry = FontRegistry.discover()
    ocr = OCR()
    cfg = DataConfig(font_px=(20, 80), p_effect=0.0)
    rng = np.random.default_rng(seed)
    ious, fam_ok, size_ok, detected, secs = [], [], [], 0, []
    for _ in range(n):
        scene = make_scene(rng, registry, registry.faces, cfg)
        t0 = time.perf_counter()
        lines = ocr.read(scene.source)
        h, w = scene.source.shape[:2]
        if lines:
            detected += 1
            box = max(lines, key=lambda ln: (ln.box[2] - ln.box[0]) * (ln.box[3] - ln.box[1])).box
        else:
            box = (0, 0, w, h)
        ink = line_ink(scene.source, box, scene.text, registry)
        rx0, ry0 = ink.region[:2]
        m = match_font(registry, ink.coverage, scene.text, ink.fg, ink.bg, offset=(rx0, ry0))
        boxes = char_boxes(registry, ink, scene.text, m.face)
        secs.append(time.perf_counter() - t0)
        for gt, got in zip(scene.boxes, boxes, strict=True):
            if gt is not None:
                ious.append(box_iou(gt, got) if got else 0.0)
        fam_ok.append(m.category == registry.by_name[scene.face].category)
        size_ok.append(abs(m.size - scene.size) <= 0.1 * scene.size)
    iou = np.array(ious)
    return {
        "words": n,
        "characters": int(len(iou)),
        "detected_by_easyocr": detected,
        "char_iou_ge_0.7": float((iou >= 0.7).mean()),
        "char_iou_mean": float(iou.mean()),
        "font_category_correct": float(np.mean(fam_ok)),
        "font_size_within_10pct": float(np.mean(size_ok)),
        "median_seconds_per_word": float(np.median(secs)),
    }


def main() -> None:
    from agent.context import set_torch_threads

    set_torch_threads()
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=200)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=Path("results/locate.md"))
    a = p.parse_args()
    res = run(a.n, a.seed)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    meta = f"{date.today()} on {machine()}, python -m agent.evals.bench_locate --n {a.n} --seed {a.seed}"
    lines = ["# Locate benchmark", "", meta, "", "| metric | value |", "| --- | --- |"]
    lines += [f"| {k} | {v:.4f} |" if isinstance(v, float) else f"| {k} | {v} |" for k, v in res.items()]
    lines += ["", "Targets (issue 2): char IoU >= 0.7 for >= 97% of characters; font category >= 90%; size within 10% >= 80%."]
    a.out.write_text("\n".join(lines) + "\n")
    a.out.with_suffix(".json").write_text(json.dumps({"meta": meta, **res}, indent=2))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
