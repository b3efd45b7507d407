"""Write models/weights/MODEL_CARD.md and the loss-curve plot from a training run and the benchmark.

    python -m models.card --run runs/main --bench results/model.json
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path

import torch

from models.data import DataConfig
from models.pipeline import DEFAULT_WEIGHTS


def loss_curve(log: Path, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    train = [(r["step"], r["loss"]) for r in rows if "loss" in r]
    val = [(r["step"], r["val_mse_in_mask"]) for r in rows if "val_mse_in_mask" in r]
    fig, ax = plt.subplots(figsize=(6, 3.5), dpi=110)
    if train:
        ax.plot(*zip(*train, strict=True), label="train loss (masked MSE on x0)")
    if val:
        ax.plot(*zip(*val, strict=True), "o-", label="validation MSE in mask (held-out faces, DDIM 20)")
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--run", type=Path, default=Path("runs/main"))
    p.add_argument("--weights", type=Path, default=DEFAULT_WEIGHTS)
    p.add_argument("--bench", type=Path, default=Path("results/model.json"))
    a = p.parse_args()
    folder = a.weights.parent
    ckpt = torch.load(a.weights, map_location="cpu", weights_only=False)
    meta, unet, sched, data = ckpt["meta"], ckpt["unet_config"], ckpt["schedule_config"], ckpt["data_config"]
    params = sum(v.numel() for v in ckpt["ema"].values())
    log = a.run / "log.jsonl"
    if log.exists():
        loss_curve(log, folder / "loss_curve.png")
        (folder / "train_log.jsonl").write_text(log.read_text())
    bench = json.loads(a.bench.read_text()) if a.bench.exists() else None
    lines = [
        "# glyph_unet.pt: model card",
        "",
        "A glyph-conditioned diffusion inpainting UNet: it repaints one character of a word so that it shows the",
        "target glyph in the image's own style. Inputs (32x32 crop around the character): noisy crop, crop with the",
        "mask blanked, mask, coloured draft of the target glyph (matched font, size, colours), glyph coverage.",
        "",
        "## Training",
        "",
        f"- Data: `models/data.py`, seeded synthetic edit pairs: {json.dumps(data)}",
        *_changed_defaults(data),
        "  Faces: the registry's training faces; FreeSans, FreeSerif, FreeMono and Source Serif Pro are held out.",
        f"- Network: {params / 1e6:.2f}M parameters, config {json.dumps(unet)}",
        f"- Diffusion: {json.dumps(sched)}; DDIM sampling (eta 0), classifier-free guidance (condition dropout 0.1)",
        f"- Steps: {meta.get('step')}, batch {meta.get('batch_size')}, wall time {meta.get('wall_s')} s on {meta.get('device')} "
        f"with {meta.get('threads')} threads (2-core CPU machine, shared with development work while it ran)",
        "- Loss: MSE on x0 inside the mask (outside weight 0.05), EMA 0.999 of the weights (shipped, fp16).",
        f"- Validation MSE in mask at the last checkpoint: {meta.get('val_mse_in_mask')}",
        "- Command: `python -m models.train --steps N --batch-size 48 --out runs/main` (resumes from runs/main/state.pt).",
        "",
        "Why x0 and not eps: the planning prototype (same data idea, 2.2M UNet) measured eps-prediction drawing the",
        "right glyph in about half the samples after 2400 steps, x0-prediction in nearly all after 1300. Both are",
        "implemented (`--prediction epsilon|sample`); this session had CPU time for one full run, so the shipped model",
        "is x0 and the eps run was not repeated here.",
        "",
        "![loss curve](loss_curve.png)",
        "",
        "## Measured (held-out faces)",
        "",
    ]
    if bench:
        lines += [bench["meta"], "", "| metric | value |", "| --- | --- |"]
        lines += [f"| {k} | {v:.4f} |" if isinstance(v, float) else f"| {k} | {v} |" for k, v in bench.items() if k != "meta"]
        lines += ["", "Targets (issue 3):", ""]
        lines += [f"- {name}: {bench[key]:.3f} (target {op} {target}): {'met' if ok else 'NOT met'}"
                  for name, key, op, target, ok in _targets(bench)]
        if "readback_exact_ground_truth" in bench:
            lines += ["", f"The recogniser reads the ground truth itself right in {bench['readback_exact_ground_truth']:.1%} of these "
                      "pairs (random letter strings: l/I, O/0, q/g, Z/2 without a word to go by): a model that reproduced the truth "
                      "exactly would score that on every seed, so read-back best of 4 >= 95% asks the samples to be more "
                      "legible than the truth."]
        lines += ["", "Where the model stands: the agent draws the matched glyph first (the naive draft paste, with",
                  "glyphs aligned to the old ink) because it measures both more faithful and at least as legible as",
                  "this model; the model is the agent's retry tool. At 32x32 and a few thousand CPU steps its",
                  "low-resolution correction blurs strokes and tints the background around them. Tried and not",
                  "shipped (2026-11-26): the same network learning x0 as a correction added to a draft drawn over the",
                  "inpainted background, started from these weights with its last layer zeroed (so it began exactly",
                  "at the naive paste): over 750 CPU steps its held-out validation MSE in the mask rose from the",
                  "draft's 0.081 to 0.086, and SSIM fell below the paste's. Guidance 1 instead of 2: SSIM 0.78 vs",
                  "0.85 and read-back 85% vs 90% on 40 pairs. Training resumes from `models/weights/train_resume.pt`",
                  "(`python -m models.train --steps N`)."]
    lines += ["", "Validation samples, each row: source, the draft pasted naively, model output, ground truth:", "",
              "![validation grid](validation_grid.png)", ""]
    (folder / "MODEL_CARD.md").write_text("\n".join(lines))
    print(f"wrote {folder / 'MODEL_CARD.md'}")


def _changed_defaults(data: dict) -> list[str]:
    """Data settings whose defaults changed since these weights were trained (a resumed run uses the new ones)."""
    now = asdict(DataConfig())
    diff = {k: (data.get(k), v) for k, v in now.items() if data.get(k) != v and not isinstance(v, tuple)}
    if not diff:
        return []
    return ["  Since then the defaults changed (trained with -> now; a resumed run trains on the new ones): "
            + ", ".join(f"{k} {a} -> {b}" for k, (a, b) in diff.items())]


def _targets(bench: dict) -> list[tuple[str, str, str, float, bool]]:
    best = next(k for k in bench if k.startswith("readback_exact_best_of_"))
    ssim_ok = bench["ssim_edit_box_model"] >= 0.85 and bench["ssim_edit_box_model"] > bench["ssim_edit_box_naive_draft_paste"]
    return [
        ("read-back, seed 0", "readback_exact_seed0", ">=", 0.85, bench["readback_exact_seed0"] >= 0.85),
        ("read-back, best of 4 seeds", best, ">=", 0.95, bench[best] >= 0.95),
        ("SSIM in the edit box (and above the naive paste)", "ssim_edit_box_model", ">=", 0.85, ssim_ok),
        ("median seconds per edit", "median_seconds_per_edit", "<=", 1.0, bench["median_seconds_per_edit"] <= 1.0),
    ]


if __name__ == "__main__":
    main()
