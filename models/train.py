"""Train the glyph inpainting UNet on synthetic edit pairs; resumes from its last checkpoint.

    python -m models.train --steps 4000 --out runs/main     (or: glyphfix train ...)

Writes runs/<name>/state.pt (everything needed to resume), runs/<name>/log.jsonl (one line per
logging interval) and, at every checkpoint, the EMA weights to --weights (what the tool ships).
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from models.data import EditPairs, make_example, training_faces
from models.inputs import CONDITION, GLYPH, DataConfig, condition_tensor
from models.pipeline import DEFAULT_WEIGHTS, GlyphInpaintPipeline, GlyphModel, saved_config
from models.schedule import NoiseSchedule, ScheduleConfig
from models.unet import GlyphUNet, UNetConfig


@dataclass
class TrainConfig:
    steps: int = 4000  # total optimisation steps (resume continues up to this)
    batch_size: int = 48  # examples per step
    lr: float = 5e-4  # AdamW learning rate after warm-up
    warmup: int = 200  # linear warm-up steps
    ema_decay: float = 0.999  # EMA of the weights, used for sampling and shipped
    cond_dropout: float = 0.1  # probability of zeroing the glyph condition (for classifier-free guidance)
    outside_weight: float = 0.05  # loss weight of pixels outside the mask (the model need not paint them)
    log_every: int = 25  # steps between log lines
    ckpt_every: int = 250  # steps between checkpoints
    val_examples: int = 32  # held-out-face examples sampled at each checkpoint
    seed: int = 0  # seeds data, initialisation and validation
    workers: int = 1  # data-generating processes
    threads: int = 2  # torch threads for the network
    reuse: int = 1  # optimisation steps per generated batch, each with fresh noise and timesteps (>1 when the
    #               accelerator waits on the CPU's data workers: the same pairs at other noise levels)
    max_minutes: float = 0.0  # stop (with a checkpoint) after this much wall time of this run's own; 0: no limit
    unet: UNetConfig = field(default_factory=UNetConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    data: DataConfig = field(default_factory=DataConfig)


def validation_batch(cfg: TrainConfig, font_pack: Path | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    faces = training_faces(cfg.data, font_pack)
    rng = np.random.default_rng([cfg.seed, 999])
    vcfg = dataclasses.replace(cfg.data, held_out=True)
    exs = [make_example(rng, faces, vcfg) for _ in range(cfg.val_examples)]
    return torch.stack([condition_tensor(e) for e in exs]), torch.stack([e["x0"] for e in exs])


def masked_mse(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor, outside_weight: float) -> torch.Tensor:
    w = mask + outside_weight * (1 - mask)
    return ((pred - target) ** 2 * w).sum() / (w.sum() * pred.shape[1])


def save_weights(path: Path, ema: GlyphUNet, cfg: TrainConfig, meta: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save(
        {
            "ema": {k: v.half() for k, v in ema.state_dict().items()},
            **_run_configs(cfg),
            "meta": meta,
        },
        tmp,
    )
    tmp.replace(path)


RESUME_FILE = DEFAULT_WEIGHTS.parent / "train_resume.pt"  # raw (non-EMA) weights, fp16, committed for later sessions


def export_resume(state_path: Path, path: Path = RESUME_FILE) -> None:
    """Keep what a later session needs to continue training, small enough to commit."""
    state = torch.load(state_path, map_location="cpu", weights_only=False)
    torch.save({"unet": {k: v.half() for k, v in state["unet"].items()}, "ema": {k: v.half() for k, v in state["ema"].items()},
                "step": state["step"], "wall": state["wall"], **{k: state[k] for k in _RUN_CONFIGS if k in state}}, path)


_RUN_CONFIGS = ("unet_config", "schedule_config", "data_config")  # what a run is; a resume keeps it


def _run_configs(cfg: TrainConfig) -> dict:
    return {"unet_config": asdict(cfg.unet), "schedule_config": asdict(cfg.schedule), "data_config": asdict(cfg.data)}


def adopt_run_configs(cfg: TrainConfig, saved: dict) -> TrainConfig:
    """A resumed run keeps the network, schedule and data it was started with (a command line that
    forgot --draft-skip must not load a draft-skip network into a plain one: same shapes, other model)."""
    configs = {"unet": (UNetConfig, "unet_config"), "schedule": (ScheduleConfig, "schedule_config"), "data": (DataConfig, "data_config")}
    changes = {field_name: saved_config(kind, saved[key]) for field_name, (kind, key) in configs.items() if key in saved}
    for name, value in changes.items():
        if value != getattr(cfg, name):
            print(f"resume: {name} config taken from the saved run: {asdict(value)}")
    return dataclasses.replace(cfg, **changes)


def init_from(unet: GlyphUNet, ema: GlyphUNet, path: Path) -> None:
    """Start a new run from another run's weights (a resume file or shipped weights). A network that
    adds the draft to its output and starts from one that did not gets a zeroed last layer, so it
    starts at the pasted draft instead of at twice the image."""
    ckpt = torch.load(path, map_location="cpu", weights_only=False)
    src_skip = ckpt.get("unet_config", {}).get("draft_skip", False)
    for net, key in ((unet, "unet" if "unet" in ckpt else "ema"), (ema, "ema")):
        net.load_state_dict({k: v.float() for k, v in ckpt[key].items()})
        if unet.config.draft_skip and not src_skip:
            last = net.head[-1]
            assert isinstance(last, torch.nn.Conv2d)
            torch.nn.init.zeros_(last.weight)
            torch.nn.init.zeros_(last.bias)


def train(cfg: TrainConfig, out: Path, weights: Path, init_from_shipped: bool = True, init: Path | None = None,
          font_pack: Path | None = None) -> None:
    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    out.mkdir(parents=True, exist_ok=True)
    state_path = out / "state.pt"
    state, source = None, None
    if state_path.exists():
        state, source = torch.load(state_path, map_location=device, weights_only=False), "resumed"
    elif init is None and RESUME_FILE.exists() and init_from_shipped:
        # A fresh machine: continue from the committed weights (the optimiser's moments restart).
        state, source = torch.load(RESUME_FILE, map_location=device, weights_only=False), "continuing"
    if state is not None:
        cfg = adopt_run_configs(cfg, state)
    unet = GlyphUNet(cfg.unet).to(device)
    ema = copy.deepcopy(unet).eval()
    opt = torch.optim.AdamW(unet.parameters(), lr=cfg.lr, weight_decay=0.0)
    schedule = NoiseSchedule(cfg.schedule)
    step, wall = 0, 0.0
    if source == "resumed":
        unet.load_state_dict(state["unet"])
        ema.load_state_dict(state["ema"])
        opt.load_state_dict(state["opt"])
        step, wall = state["step"], state["wall"]
        print(f"resumed from {state_path} at step {step}")
    elif source == "continuing":
        unet.load_state_dict({k: v.float() for k, v in state["unet"].items()})
        # Its own EMA when it carries one (it may be ahead of the shipped weights), else the shipped EMA.
        ema_state = state.get("ema") or torch.load(weights, map_location=device, weights_only=False)["ema"]
        ema.load_state_dict({k: v.float() for k, v in ema_state.items()})
        step, wall = state["step"], state["wall"]
        print(f"continuing from {RESUME_FILE} at step {step} (fresh optimiser)")
    elif init is not None:
        init_from(unet, ema, init)
        unet.to(device)
        ema.to(device)
        print(f"new run initialised from {init}")
    data = EditPairs(cfg.data, seed=cfg.seed * 1000 + step, font_pack=font_pack)  # a fresh stream after a resume
    loader = iter(torch.utils.data.DataLoader(data, batch_size=cfg.batch_size, num_workers=cfg.workers,
                                              persistent_workers=cfg.workers > 0))
    val_cond, val_x0 = validation_batch(cfg, font_pack)
    log = (out / "log.jsonl").open("a")
    bar = tqdm(total=cfg.steps, initial=step, desc="train", dynamic_ncols=True)
    running, t_last = [], time.time()
    batch = None
    wall_at_start = wall  # a resumed run's limit counts from now, not from its first step

    def out_of_time() -> bool:
        return bool(cfg.max_minutes) and wall - wall_at_start > 60 * cfg.max_minutes

    while step < cfg.steps and not out_of_time():
        if batch is None or step % cfg.reuse == 0:
            batch = [t.to(device) for t in next(loader)]
        cond, x0 = batch[0].clone(), batch[1]
        drop = torch.rand(cond.shape[0], device=device) < cfg.cond_dropout
        cond[drop, GLYPH] = 0
        eps = torch.randn_like(x0)
        t = torch.randint(0, schedule.config.num_train_timesteps, (x0.shape[0],), device=device)
        x_t = schedule.add_noise(x0, eps, t)
        pred = unet(torch.cat([x_t, cond], 1), t)
        loss = masked_mse(pred, schedule.training_target(x0, eps), cond[:, CONDITION["mask"]], cfg.outside_weight)
        for g in opt.param_groups:
            g["lr"] = cfg.lr * min(1.0, (step + 1) / cfg.warmup)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(unet.parameters(), 1.0)
        opt.step()
        with torch.no_grad():
            for pe, p in zip(ema.parameters(), unet.parameters(), strict=True):
                pe.lerp_(p, 1 - cfg.ema_decay)
        step += 1
        now = time.time()
        wall += now - t_last
        t_last = now
        running.append(loss.item())
        bar.update(1)
        bar.set_postfix(loss=f"{np.mean(running[-cfg.log_every:]):.4f}")
        if step % cfg.log_every == 0:
            log.write(json.dumps({"step": step, "loss": float(np.mean(running[-cfg.log_every:])), "wall_s": round(wall, 1)}) + "\n")
            log.flush()
        if step % cfg.ckpt_every == 0 or step == cfg.steps or out_of_time():
            val = validate(ema.cpu(), schedule, val_cond, val_x0)
            ema.to(device)
            log.write(json.dumps({"step": step, "val_mse_in_mask": val, "wall_s": round(wall, 1)}) + "\n")
            log.flush()
            tmp = out / "state.tmp"
            torch.save({"unet": unet.state_dict(), "ema": ema.state_dict(), "opt": opt.state_dict(), "step": step, "wall": wall,
                        **_run_configs(cfg)}, tmp)
            tmp.replace(state_path)
            meta = {"step": step, "wall_s": round(wall, 1), "device": str(device), "threads": cfg.threads,
                    "batch_size": cfg.batch_size, "val_mse_in_mask": val}
            save_weights(weights, ema.cpu(), cfg, meta)
            ema.to(device)
            t_last = time.time()  # validation time is not training time
    bar.close()


@torch.no_grad()
def validate(ema: GlyphUNet, schedule: NoiseSchedule, cond: torch.Tensor, x0: torch.Tensor, steps: int = 20) -> float:
    pipe = GlyphInpaintPipeline(GlyphModel(ema, schedule, {}))
    out = pipe(cond, x0, steps=steps, generator=torch.Generator().manual_seed(0)).images
    m = cond[:, CONDITION["mask"]]
    return float(((out - x0) ** 2 * m).sum() / (m.sum() * 3))


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=TrainConfig.steps)
    p.add_argument("--batch-size", type=int, default=TrainConfig.batch_size)
    p.add_argument("--lr", type=float, default=TrainConfig.lr)
    p.add_argument("--prediction", choices=["sample", "epsilon"], default="sample")
    p.add_argument("--base-channels", type=int, default=UNetConfig.base_channels)
    p.add_argument("--draft-skip", action=argparse.BooleanOptionalAction, default=UNetConfig.draft_skip,
                   help="the network's x0 is a correction added to the draft")
    p.add_argument("--draft-plate", choices=["flat", "inpainted"], default=DataConfig.draft_plate)
    p.add_argument("--p-exact-draft", type=float, default=DataConfig.p_exact_draft,
                   help="share of training drafts in the true face, size and place")
    p.add_argument("--p-library-face", type=float, default=DataConfig.p_library_face,
                   help="share of training words drawn in a font library face (issue 18: restyling)")
    p.add_argument("--p-neighbour-draft", type=float, default=DataConfig.p_neighbour_draft,
                   help="share of inexact drafts drawn in one of the word face's nearest other faces")
    p.add_argument("--font-pack", type=Path, default=None,
                   help="draw from this pack (python -m models.faces DIR) instead of the installed font packages")
    p.add_argument("--init-from", type=Path, default=None, help="start a new run from these weights (not a resume)")
    p.add_argument("--workers", type=int, default=TrainConfig.workers)
    p.add_argument("--threads", type=int, default=TrainConfig.threads)
    p.add_argument("--ckpt-every", type=int, default=TrainConfig.ckpt_every)
    p.add_argument("--reuse", type=int, default=TrainConfig.reuse, help="optimisation steps per generated batch")
    p.add_argument("--max-minutes", type=float, default=TrainConfig.max_minutes, help="stop after this many minutes of this run (a resume counts afresh)")
    p.add_argument("--seed", type=int, default=TrainConfig.seed)
    p.add_argument("--out", type=Path, default=Path("runs/main"))
    p.add_argument("--weights", type=Path, default=DEFAULT_WEIGHTS)
    a = p.parse_args(argv)
    cfg = TrainConfig(
        steps=a.steps, batch_size=a.batch_size, lr=a.lr, workers=a.workers, threads=a.threads,
        ckpt_every=a.ckpt_every, seed=a.seed, reuse=a.reuse, max_minutes=a.max_minutes,
        unet=UNetConfig(base_channels=a.base_channels, draft_skip=a.draft_skip),
        schedule=ScheduleConfig(prediction=a.prediction), data=DataConfig(draft_plate=a.draft_plate, p_exact_draft=a.p_exact_draft,
                        p_library_face=a.p_library_face, p_neighbour_draft=a.p_neighbour_draft),
    )
    if cfg.unet.draft_skip and cfg.schedule.prediction != "sample":
        p.error("--draft-skip needs --prediction sample (the draft is an image, not noise)")
    train(cfg, a.out, a.weights, init=a.init_from, font_pack=a.font_pack)


if __name__ == "__main__":
    main()
