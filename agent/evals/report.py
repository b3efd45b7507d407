"""Per-method summaries (summary.md / summary.json) and report.html with one row per case."""

from __future__ import annotations

import contextlib
import html
import json
import os
from collections import Counter
from pathlib import Path

import numpy as np


def machine() -> str:
    """The machine a benchmark ran on, for the line every results file starts with: host,
    architecture, CPU model (Linux's /proc/cpuinfo) and core count."""
    import platform

    model = platform.processor() or "cpu"
    with contextlib.suppress(OSError):
        model = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                      if ln.startswith("model name")), model)
    return f"{platform.node()} ({platform.machine()}, {model}, {os.cpu_count()} CPU cores)"


def summarise(rows: list[dict]) -> dict:
    n = len(rows)
    if n == 0:
        return {"cases": 0}

    def rate(key):
        vals = [r[key] for r in rows if key in r]
        return round(float(np.mean(vals)), 4) if vals else None

    def mean(key):
        vals = [r[key] for r in rows if key in r and r[key] is not None]
        return round(float(np.mean(vals)), 4) if vals else None

    secs = [r["seconds"] for r in rows if r.get("status") != "error" or r.get("attempts")]
    reasons: Counter[str] = Counter()
    for r in rows:
        if r.get("status") == "error":
            reasons["error: " + (r.get("message") or "")[:60]] += 1
        elif r.get("status") == "failed" and r.get("attempts"):
            reasons[r["attempts"][-1].get("why_failed") or "unknown"] += 1
        elif r.get("status") == "verified" and r.get("exact") is False:
            reasons["false verified"] += 1
    return {
        "cases": n,
        "verified": round(sum(r.get("status") == "verified" for r in rows) / n, 4),
        "exact": rate("exact"),
        "verified_and_correct": round(sum(r.get("status") == "verified" and r.get("exact") is True for r in rows) / n, 4),
        "strict": rate("strict"),
        "unchanged_same": rate("unchanged_same"),
        "ned": mean("ned"),
        "ssim": mean("ssim"),
        "psnr": mean("psnr"),
        "cases_changed_outside": sum(1 for r in rows if r.get("changed_outside", 0) > 0),
        "verified_changed_outside": sum(1 for r in rows if r.get("status") == "verified" and r.get("changed_outside", 0) > 0),
        "not_found": sum(1 for r in rows if r.get("status") == "error" and "not found" in (r.get("message") or "")),
        "false_verified": sum(1 for r in rows if r.get("false_verified")),
        "false_verified_rate": round(sum(1 for r in rows if r.get("false_verified")) / n, 4),
        "attempts_mean": round(float(np.mean([len(r.get("attempts") or []) for r in rows])), 3),
        "seconds_median": round(float(np.median(secs)), 3) if secs else None,
        "seconds_p90": round(float(np.percentile(secs, 90)), 3) if secs else None,
        "errors": sum(r.get("status") == "error" for r in rows),
        "failure_reasons": dict(reasons.most_common(8)),
    }


COLUMNS = ["cases", "exact", "strict", "unchanged_same", "verified", "verified_and_correct", "false_verified", "ssim", "psnr", "ned", "cases_changed_outside",
           "verified_changed_outside", "not_found", "attempts_mean", "seconds_median", "seconds_p90", "errors"]


def by_condition(rows: list[dict], cases: dict[str, dict]) -> dict[str, dict]:
    """Strict success, exact and SSIM per condition of the synthetic cases (background kind,
    effect, degradation) and per whether the planner matched the face the text was drawn in."""
    groups: dict[str, list[dict]] = {}
    for r in rows:
        case = cases.get(r["id"], {})
        if not case.get("conditions"):
            continue
        font = ((r.get("plan") or {}).get("font") or {}).get("face") or ""
        # (a case names its face by its file's stem, the library by the face's own name: the unseen
        # suite's "cmss10" is the library's "Cmss10", and 12 of its seed 0 cases were counted unmatched)
        matched = font.casefold() == str(case.get("face", "")).casefold()
        tags = [*case["conditions"], "face matched" if matched else "face not matched"]
        for tag in tags:
            groups.setdefault(tag, []).append(r)
    table = {}
    for tag, rs in sorted(groups.items()):
        ssims = [r["ssim"] for r in rs if r.get("ssim") is not None]
        table[tag] = {"cases": len(rs), "strict": round(float(np.mean([bool(r.get("strict")) for r in rs])), 3),
                      "exact": round(float(np.mean([bool(r.get("exact")) for r in rs])), 3),
                      "ssim": round(float(np.mean(ssims)), 3) if ssims else None}
    return table


def write_summary(out: Path, per_method: dict[str, dict], header: list[str], conditions: dict[str, dict] | None = None) -> None:
    lines = ["# glyphfix eval", "", *header, "", "| method | " + " | ".join(COLUMNS) + " |", "|" + " --- |" * (len(COLUMNS) + 1)]
    for m, s in per_method.items():
        lines.append(f"| {m} | " + " | ".join("" if s.get(c) is None else str(s.get(c)) for c in COLUMNS) + " |")
    lines += ["", "exact: the judge (PP-OCRv4, not easyocr) reads the requested word exactly, case-sensitive "
              "(the words suite: the whole line; unchanged_same: the line's other words read as before).",
              "strict: exact AND SSIM inside the edit box >= 0.75 AND no pixel changed outside the edit box.",
              "false_verified: the agent said verified, the judge disagrees; verified_and_correct: verified and the judge agrees.", "", "## Failure reasons", ""]
    for m, s in per_method.items():
        lines.append(f"- {m}: " + (", ".join(f"{k} x{v}" for k, v in s.get("failure_reasons", {}).items()) or "none"))
    if conditions:
        lines += ["", "## By condition", "", "Strict / exact / mean SSIM of the cases with each condition (a case has several).", "",
                  "| condition | cases | " + " | ".join(conditions) + " |", "|" + " --- |" * (len(conditions) + 2)]
        tags = sorted({t for table in conditions.values() for t in table})
        for t in tags:
            n = next(table[t]["cases"] for table in conditions.values() if t in table)
            cells = [(f"{c['strict']:.2f} / {c['exact']:.2f} / {c['ssim']}" if (c := table.get(t)) else "") for table in conditions.values()]
            lines.append(f"| {t} | {n} | " + " | ".join(cells) + " |")
    (out / "summary.md").write_text("\n".join(lines) + "\n")
    (out / "summary.json").write_text(json.dumps({"header": header, "methods": per_method, "by_condition": conditions or {}}, indent=2))


def _img(path: str | None, base: Path, height: int = 64) -> str:
    if not path or not Path(path).exists():
        return "<i>none</i>"
    rel = os.path.relpath(Path(path).resolve(), base.resolve())
    return f'<img src="{html.escape(rel)}" style="max-height:{height}px;image-rendering:pixelated" alt="{html.escape(Path(path).name)}">'


def write_report(out: Path, cases: dict[str, dict], per_method_rows: dict[str, list[dict]], title: str) -> Path:
    """One row per case and method, failures first: input, attempts (sheet), output, ground truth, judge."""
    rows_html = []
    flat = [(m, r) for m, rows in per_method_rows.items() for r in rows]

    def bad(item):
        m, r = item
        return (r.get("strict", r.get("exact", r.get("status") == "verified")) is True, m, r["id"])

    for m, r in sorted(flat, key=bad):
        case = cases.get(r["id"], {})
        ok = r.get("strict", r.get("exact"))
        cls = "ok" if ok else "bad"
        rows_html.append(
            f'<tr class="{cls}"><td>{html.escape(r["id"])}<br><b>{html.escape(m)}</b></td>'
            f'<td>{html.escape(case.get("find", ""))} &rarr; {html.escape(case.get("replace", ""))}</td>'
            f'<td>{_img(case.get("image"), out)}</td><td>{_img(r.get("sheet"), out, 110)}</td>'
            f'<td>{_img(r.get("output"), out)}</td><td>{_img(case.get("gt"), out)}</td>'
            f'<td>{html.escape(r.get("status", ""))}<br>judge: "{html.escape(str(r.get("judge_text", "")))}"'
            f'<br>ssim {r.get("ssim", "")} outside {r.get("changed_outside", "")}<br>{html.escape(r.get("message", ""))[:200]}</td></tr>'
        )
    doc = f"""<!doctype html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:sans-serif}} table{{border-collapse:collapse}} td{{border:1px solid #ccc;padding:4px;vertical-align:top;font-size:12px}}
tr.bad{{background:#fee}} tr.ok{{background:#efe}}</style></head><body><h1>{html.escape(title)}</h1>
<p>Failures first. Columns: case, request, input, attempts (masks, each result, what the agent's OCR read), output, ground truth, judge.</p>
<table><tr><th>case</th><th>request</th><th>input</th><th>attempts</th><th>output</th><th>ground truth</th><th>verdict</th></tr>
{''.join(rows_html)}</table></body></html>"""
    path = out / "report.html"
    path.write_text(doc)
    return path
