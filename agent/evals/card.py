"""Write models/weights/MODEL_CARD.md and the loss-curve plot from a training run and the benchmark.

    python -m agent.evals.card --run runs/main --bench results/model.json
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path

import torch

from models.inputs import DataConfig
from models.pipeline import DEFAULT_WEIGHTS


def loss_curve(log: Path, out: Path) -> None:
    """Train loss and validation MSE against the step, one colour per training phase (rows may carry a
    "phase": a run continued from another's weights under other settings or on another machine)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    phases = list(dict.fromkeys(r.get("phase", "") for r in rows))
    fig, ax = plt.subplots(figsize=(7, 3.8), dpi=110)
    for i, phase in enumerate(phases):
        colour = f"C{i}"
        train = [(r["step"], r["loss"]) for r in rows if "loss" in r and r.get("phase", "") == phase]
        val = [(r["step"], r["val_mse_in_mask"]) for r in rows if "val_mse_in_mask" in r and r.get("phase", "") == phase]
        label = f"{phase}: " if phase else ""
        if train:
            ax.plot(*zip(*train, strict=True), color=colour, alpha=0.6, label=f"{label}train loss (masked MSE on x0)")
        if val:
            ax.plot(*zip(*val, strict=True), "o-", color=colour, ms=3, label=f"{label}validation MSE in mask")
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.legend(fontsize=6)
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
    skip = unet.get("draft_skip", False)
    lines = [
        "# glyph_unet.pt: model card",
        "",
        "A glyph-conditioned diffusion inpainting UNet: it repaints one character of a word so that it shows the",
        "target glyph in the image's own style. Inputs (32x32 crop around the character): noisy crop, crop with the",
        "mask blanked, mask, coloured draft of the target glyph (matched font, size, colours), glyph coverage.",
        *(["The draft is the naive tool's picture (the glyph drawn over the background inpainted from around the",
           "mask) and the network's x0 is a correction added to it (`draft_skip`): a network that adds nothing",
           "paints exactly the naive paste. The tool adds the correction, shrunk toward zero by "
           f"{meta.get('correction_floor', 0)} levels, to the full-resolution draft.",
           "The tool samples twice from independent noise (one batch) and averages the two (`draws`, default 2)."]
          if skip else []),
        "",
        "## Training",
        "",
        f"- Data: `models/data.py`, seeded synthetic edit pairs: {json.dumps(data)}",
        *_changed_defaults(data),
        "  Faces: the registry's training faces; FreeSans, FreeSerif, FreeMono and Source Serif Pro are held out.",
        f"- Network: {params / 1e6:.2f}M parameters, config {json.dumps(unet)}",
        f"- Diffusion: {json.dumps(sched)}; DDIM sampling (eta 0), classifier-free guidance (condition dropout 0.1)",
        *_lineage(meta),
        "- Loss: MSE on x0 inside the mask (outside weight 0.05), EMA 0.999 of the weights (shipped, fp16).",
        f"- Validation MSE in mask at the last checkpoint: {meta.get('val_mse_in_mask')}",
        "- Command: `python -m models.train --steps N --out runs/main` (resumes from runs/main/state.pt, else continues",
        "  from `models/weights/train_resume.pt` with the network and data settings saved in it).",
        "",
        "Why x0 and not eps: the planning prototype (same data idea, 2.2M UNet) measured eps-prediction drawing the",
        "right glyph in about half the samples after 2400 steps, x0-prediction in nearly all after 1300. Both are",
        "implemented (`--prediction epsilon|sample`); the shipped model is x0 and the eps run was not repeated here.",
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
            lines += ["", f"The recogniser reads the ground truth itself right in {bench['readback_exact_ground_truth']:.1%} of all "
                      "pairs (random letter strings: l/I, O/0, q/g, Z/2 without a word to go by): a model that reproduced the truth "
                      "exactly would score that on every seed, so read-back best of 4 >= 95% on all pairs asks the samples to be "
                      "more legible than the truth."]
            truth_path = a.bench.with_name("model_truth.json")
            if truth_path.exists():
                truth = json.loads(truth_path.read_text())
                lines += ["", f"In {truth['ground_truth_misread_only_outside_the_edit']:.1%} of the pairs it reads the edited "
                          "characters of the truth right and misreads one the edit leaves alone "
                          f"({truth_path.with_suffix('.md')}, {truth['meta']})."]
        if "readable_pairs" in bench:
            lines += ["", f"Readable pairs ({bench['readable_pairs']}): the first pairs where the recogniser reads the source word "
                      "and the ground-truth edit right, the rule the eval suite applies to its judge; only there can "
                      "read-back tell a right edit from a wrong one. The targets are judged on all pairs."]
    lines += ["", *NOTES]
    lines += ["", "Validation samples, each row: source, the draft pasted naively, model output, ground truth:", "",
              "![validation grid](validation_grid.png)", ""]
    (folder / "MODEL_CARD.md").write_text("\n".join(lines))
    print(f"wrote {folder / 'MODEL_CARD.md'}")


NOTES = """What was tried (2026-11-26), each measured on held-out faces:
- A plain x0 network on a draft over a flat box (5500 CPU steps): SSIM 0.847 against the naive paste's
  0.926 on the 300 benchmark pairs; its 32x32 output redraws the whole hole, and every small tint it
  leaves on flat ground costs structural similarity.
- The draft-skip network above, fine-tuned 750 CPU steps from those weights: validation MSE rose
  (0.077 -> 0.086); not shipped then. Trained 13339 steps on a lent H200 (batch 64, each batch used
  twice at other noise levels, 16 CPU data workers), validation MSE fell 0.063 -> 0.054, yet on the
  benchmark it blurred drafts that were already right (a clean exact draft: MSE 0.005 -> 0.019 at
  guidance 1): training drafts were all jittered (70% in the true face, size and place off), so it
  learnt to distrust every draft. Half the training drafts are now exact (`p_exact_draft` 0.5).
- Guidance 1 against 2, and starting the sampler from the noised draft (strength 0.25-0.6) instead of
  from noise: both worse than guidance 2 from noise in validation MSE (e.g. 0.0268 and 0.0317 against
  0.0199 on exact drafts with blur, JPEG and effects).
- Phase 4, 1250 more CPU steps at lr 1e-4 (the optimiser restarted): validation MSE 0.0395 -> 0.0352,
  flat from step 3000 of the phase on; the run was stopped there.
- The correction floor, chosen on 40 pairs of another seed (3; the benchmark uses seed 1), guidance 2
  (`python -m agent.evals.bench_model --n 40 --seed 3 --floors 0,3,6,10,16`, results/model_floors.md):
  SSIM in the edit box with the correction shrunk by 0 / 3 / 6 / 10 / 16 levels 0.9042 / 0.9155 / 0.9202 /
  0.9218 / 0.9218, the naive paste 0.9172 (phase 3's weights: 0.904 / 0.915 / 0.920 / 0.921 / 0.921); at
  guidance 1 every floor stayed below the paste (0.885-0.911, phase 3). Shipped: 16.
- Two draws averaged (shipped, `draws` 2), measured first on 80 pairs each of seeds 3 and 4 (phase-4
  weights, guidance 2): the samples of two noise draws averaged (an estimate of the posterior mean) gave
  SSIM 0.9332 / 0.9058 against one draw's 0.9321 / 0.9022 (naive paste 0.9283 / 0.9095); on the
  benchmark one draw gave 0.9294 against the paste's 0.9295, read-back 93.7% seed 0 and 94.0% best
  of 4, 0.40 s per edit (the table above is two draws). Shrinking colour more than
  brightness (luma floor 8-16, chroma 16-32) was worse (0.9285-0.9299 / 0.8993-0.9005). The two seeds
  disagree on model vs paste (+0.004 / -0.007): a few outlined or shadowed letters where the model
  paints a wrong effect (SSIM 0.18-0.80 against the paste's 0.40-0.99) outweigh many small gains on
  gradients, textures and JPEG.
- A planner fix, not the model: cream digits in a 1 px black ring on a texture (benchmark pair 262) were
  planned as black text in a grey outline, and every seed painted a black "5" in a grey box. The
  outline's fill is now found there (tools/effects.py); read-back 94.0% -> 94.3% (seed 0) and 94.3% ->
  94.7% (best of 4), SSIM 0.9312 -> 0.9340 (the paste's 0.9295 -> 0.9326). Of the 16 pairs that still
  fail on every seed, 14 are read exactly as the recogniser reads their ground truth, misread outside
  the edit (O/0, l/I, q/g, 5/S), and 2 where the truth's own new character is misread ("TIW" as "TI",
  "3NR07" as "3NRO7"): the model paints what the truth shows.
- Not the model either (session 9): a new first letter now keeps the end of the old one's advance and
  a last one its pen (centred, a narrower first letter opened a gap before the next), in the drafts and
  the synthetic ground truth alike; light or black faces get a stroke weight; a neighbouring word's
  letter is no longer cut as the word's. These weights were trained with centred replacements; the
  draft carries the placement either way. On the benchmark (its first/last-letter pairs changed with
  the ground truth): read-back 94.3% -> 94.7% (seed 0) and 94.7% -> 95.3% (best of 4: 286 of 300 pairs,
  one more than the target needs), the recogniser on the ground truth 92.3% -> 93.3%, SSIM 0.9334
  against the paste's 0.9317.
- A restyling retry (issue 18, item 5; 2026-12-04, results/restyle.md): fine-tuned from these
  weights 6262 steps (360 s on a lent H200) with words drawn in font-library faces and drafts in one of
  the word face's nearest other faces (`p_library_face` 0.5, `p_neighbour_draft` 0.6, models/faces.py).
  Validation MSE on held-out faces with nearest-face drafts 0.0549 -> 0.0532, but on the unseen suite
  with one diffusion attempt SSIM in the edit box 0.747 -> 0.731 and strict 57.5% -> 53.4% (40 cases
  worse, 7 better): not shipped.""".splitlines()


def _lineage(meta: dict) -> list[str]:
    """The training phases, each started from the previous one's weights (meta "lineage"), or one run."""
    phases = meta.get("lineage")
    if not phases:
        return [f"- Steps: {meta.get('step')}, batch {meta.get('batch_size')}, wall time {meta.get('wall_s')} s on "
                f"{meta.get('device')} with {meta.get('threads')} threads"]
    return ["- Training phases, each started from the previous one's weights:"] + [
        f"  {i}. {p['what']}: {p['steps']} steps, batch {p['batch']}, lr {p['lr']}, {p['wall_s']} s on {p['device']}"
        for i, p in enumerate(phases, 1)]


def _changed_defaults(data: dict) -> list[str]:
    """Data settings whose defaults changed since these weights were trained (a resumed run uses the new ones)."""
    now = asdict(DataConfig())
    # A setting newer than the weights (absent from their config) was off when they were trained: its default.
    diff = {k: (data.get(k, v), v) for k, v in now.items() if data.get(k, v) != v and not isinstance(v, tuple)}
    if not diff:
        return []
    return ["  A new run's defaults differ (these weights -> default; a run resumed from these weights keeps theirs): "
            + ", ".join(f"{k} {a} -> {b}" for k, (a, b) in diff.items())]


def _targets(bench: dict) -> list[tuple[str, str, str, float, bool]]:
    best = next(k for k in bench if k.startswith("readback_exact_best_of_"))
    ssim_ok = bench["ssim_edit_box_model"] >= 0.85 and bench["ssim_edit_box_model"] > bench["ssim_edit_box_naive_draft_paste"]
    return [
        ("read-back, seed 0", "readback_exact_seed0", ">=", 0.85, bench["readback_exact_seed0"] >= 0.85),
        ("read-back, best of 4 seeds", best, ">=", 0.95, bench[best] >= 0.95),
        ("SSIM in the edit box (and above the naive paste)", "ssim_edit_box_model", ">=", 0.85, ssim_ok),
        ("median seconds per edit", "median_seconds_per_edit", "<=", 1.0, bench["median_seconds_per_edit"] <= 1.0),
    ] + [(f"{name} (readable pairs; not the target's population)", f"{key}_readable", ">=", target, bench[f"{key}_readable"] >= target)
         for name, key, target in (("read-back, seed 0", "readback_exact_seed0", 0.85), ("read-back, best of 4 seeds", best, 0.95))
         if f"{key}_readable" in bench]


if __name__ == "__main__":
    main()
