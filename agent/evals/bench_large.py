"""Edit time and memory on phone-photo-sized images (issue: bounded work per image, read once).

    python -m agent.evals.bench_large [--runs 5] [--out results/large]

The large photo is made from the bundled WHO poster: a 4:3 crop around its text, upscaled to
4000x3000 (12 MP, a phone photo's size); each run crops 15 px further right, so every run is a new
image that no reading cache has seen. Per run: one `hands -> bands` edit through Editor.edit_file
(decode, read, plan, repaint, verify, encode: what `glyphfix edit` does once the models are loaded,
i.e. warm), then a second edit of the result in memory (`soap -> soup`, as chat, MCP or the web
page make it). Peak resident memory is the process's own (models included).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import tempfile
import time
from datetime import date
from pathlib import Path

from PIL import Image

from agent.context import Toolbox
from agent.evals.report import machine
from agent.run import Editor
from agent.schemas import EditRequest
from tools.images import load_image

POSTER = Path(__file__).resolve().parents[2] / "examples" / "poster_who_handwashing.png"
SIZE = (4000, 3000)
CROP = (640, 480)  # 4:3 around the poster's text
STEP = 15  # px the crop moves right per run


def large_photo(run: int, folder: Path) -> Path:
    left = 100 + STEP * run
    image = Image.open(POSTER).convert("RGB").crop((left, 0, left + CROP[0], CROP[1]))
    path = folder / f"poster_{SIZE[0]}x{SIZE[1]}_{run}.png"
    image.resize(SIZE, Image.Resampling.BICUBIC).save(path)
    return path


def peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # Linux reports KiB


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--out", type=Path, default=Path("results/large"))
    a = ap.parse_args(argv)
    editor = Editor(Toolbox.load())
    loaded_gb = peak_rss_gb()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for run in range(a.runs):
            src = large_photo(run, folder)
            first = EditRequest(image=str(src), find="hands", replace="bands")
            t0 = time.perf_counter()
            result, _ = editor.edit_file(first, folder / "out.png")
            first_s = time.perf_counter() - t0
            image = load_image(folder / "out.png")
            t0 = time.perf_counter()
            second, _, _ = editor.run_many([EditRequest(image=str(src), find="soap", replace="soup")], image)
            second_s = time.perf_counter() - t0
            rows.append({"run": run, "first": result.status, "first_s": round(first_s, 2), "second": second.status,
                         "second_s": round(second_s, 2), "peak_rss_gb": round(peak_rss_gb(), 2)})
            print(json.dumps(rows[-1]), flush=True)
    summary = {
        "date": date.today().isoformat(), "machine": f"{machine()}, torch threads {__import__('torch').get_num_threads()}", "image": f"{SIZE[0]}x{SIZE[1]} (poster crop upscaled)",
        "runs": a.runs, "first_edit_median_s": statistics.median(float(r["first_s"]) for r in rows),
        "second_edit_median_s": statistics.median(float(r["second_s"]) for r in rows),
        "verified": sum(r["first"] == "verified" and r["second"] == "verified" for r in rows),
        "peak_rss_gb": max(r["peak_rss_gb"] for r in rows), "models_loaded_rss_gb": round(loaded_gb, 2), "rows": rows,
    }
    a.out.mkdir(parents=True, exist_ok=True)
    (a.out / "summary.json").write_text(json.dumps(summary, indent=1))
    (a.out / "summary.md").write_text(
        f"# Large photos: edit time and memory ({summary['date']})\n\n"
        f"`python -m agent.evals.bench_large --runs {a.runs}` on {summary['machine']}; {summary['image']}, "
        f"every run a new image.\n\n"
        f"| | median | target |\n|---|---|---|\n"
        f"| first edit (decode, read, plan, repaint, verify, encode), warm | {summary['first_edit_median_s']} s | 8 s |\n"
        f"| second edit of the result in memory (chat, MCP, web) | {summary['second_edit_median_s']} s | 2 s |\n"
        f"| peak resident memory, models included | {summary['peak_rss_gb']} GB | 4 GB |\n\n"
        f"Both edits verified in {summary['verified']} of {a.runs} runs. Models loaded: {summary['models_loaded_rss_gb']} GB.\n\n"
        "| run | first | s | second | s | peak GB |\n|---|---|---|---|---|---|\n"
        + "".join(f"| {r['run']} | {r['first']} | {r['first_s']} | {r['second']} | {r['second_s']} | {r['peak_rss_gb']} |\n" for r in rows))
    return summary


if __name__ == "__main__":
    main()
