"""The DDPM/DDIM maths on tiny configs, against golden numbers and statistics."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch

from models.pipeline import GlyphInpaintPipeline, GlyphModel
from models.schedule import DDIMScheduler, NoiseSchedule, ScheduleConfig
from models.train import export_resume, init_from, masked_mse
from models.unet import GlyphUNet, UNetConfig, timestep_embedding

TINY = UNetConfig(image_size=16, base_channels=8, channel_mults=(1, 2), attention_levels=(), time_dim=16, groups=4)


def test_linear_schedule_golden_values():
    s = NoiseSchedule(ScheduleConfig(kind="linear"))
    assert s.betas[0].item() == pytest.approx(1e-4)
    assert s.betas[-1].item() == pytest.approx(0.02)
    # abar_t = prod(1 - beta_i): hand-computed for t = 0, 1 and the known value at T-1
    assert s.alphas_cumprod[0].item() == pytest.approx(1 - 1e-4)
    b1 = 1e-4 + (0.02 - 1e-4) / 999
    assert s.alphas_cumprod[1].item() == pytest.approx((1 - 1e-4) * (1 - b1), rel=1e-6)
    assert s.alphas_cumprod[-1].item() == pytest.approx(4.036e-5, rel=0.01)


def test_cosine_schedule_golden_values():
    s = NoiseSchedule(ScheduleConfig(kind="cosine"))
    f = lambda t: math.cos((t / 1000 + 0.008) / 1.008 * math.pi / 2) ** 2  # noqa: E731
    assert s.alphas_cumprod[499].item() == pytest.approx(f(500) / f(0), rel=1e-4)
    assert s.alphas_cumprod[-1].item() < 1e-4
    assert torch.all(s.alphas_cumprod[1:] < s.alphas_cumprod[:-1])


def test_forward_noising_statistics():
    s = NoiseSchedule(ScheduleConfig(kind="cosine"))
    g = torch.Generator().manual_seed(0)
    x0 = torch.full((20000, 1), 0.5)
    for t in (10, 500, 990):
        eps = torch.randn(x0.shape, generator=g)
        xt = s.add_noise(x0, eps, torch.full((20000,), t))
        abar = s.alphas_cumprod[t].item()
        assert xt.mean().item() == pytest.approx(0.5 * math.sqrt(abar), abs=0.02)
        assert xt.std().item() == pytest.approx(math.sqrt(1 - abar), rel=0.03, abs=0.01)


@pytest.mark.parametrize("prediction", ["sample", "epsilon"])
def test_one_ddim_step_golden(prediction):
    s = NoiseSchedule(ScheduleConfig(kind="linear", prediction=prediction))
    sch = DDIMScheduler(s, num_inference_steps=10, clip_sample=False)
    assert sch.timesteps[:3] == [999, 899, 799] and sch.timesteps[-1] == 99
    x_t = torch.tensor([0.3])
    out = torch.tensor([0.2])
    a_t, a_p = s.alphas_cumprod[999].item(), s.alphas_cumprod[899].item()
    if prediction == "sample":
        x0 = 0.2
        eps = (0.3 - math.sqrt(a_t) * x0) / math.sqrt(1 - a_t)
    else:
        eps = 0.2
        x0 = (0.3 - math.sqrt(1 - a_t) * eps) / math.sqrt(a_t)
    expected = math.sqrt(a_p) * x0 + math.sqrt(1 - a_p) * eps
    step = sch.step(out, 999, x_t)
    assert step.prev_sample.item() == pytest.approx(expected, rel=1e-5)
    assert step.pred_original_sample.item() == pytest.approx(x0, rel=1e-5)


def test_last_ddim_step_returns_x0():
    s = NoiseSchedule(ScheduleConfig())
    sch = DDIMScheduler(s, 5)
    out = sch.step(torch.tensor([0.25]), sch.timesteps[-1], torch.tensor([0.9]))
    assert out.prev_sample.item() == pytest.approx(0.25)


def test_timestep_embedding_is_sinusoidal():
    e = timestep_embedding(torch.tensor([0, 7]), 8)
    assert e.shape == (2, 8)
    assert torch.allclose(e[0], torch.tensor([1.0] * 4 + [0.0] * 4))
    assert e[1, 0].item() == pytest.approx(math.cos(7.0))


def _tiny_model():
    torch.manual_seed(0)
    return GlyphModel(GlyphUNet(TINY).eval(), NoiseSchedule(ScheduleConfig()), {})


def test_guidance_weight_zero_is_the_unconditional_prediction():
    m = _tiny_model()
    pipe = GlyphInpaintPipeline(m)
    g = torch.Generator().manual_seed(1)
    x = torch.randn(2, 3, 16, 16, generator=g)
    cond = torch.randn(2, 8, 16, 16, generator=g)
    uncond = cond.clone()
    uncond[:, 4:8] = 0
    with torch.no_grad():
        guided = pipe.predict(x, cond, 500, guidance=0.0)
        plain_uncond = m.unet(torch.cat([x, uncond], 1), torch.full((2,), 500))
        plain_cond = m.unet(torch.cat([x, cond], 1), torch.full((2,), 500))
        assert torch.allclose(guided, plain_uncond, atol=1e-5)
        assert torch.allclose(pipe.predict(x, cond, 500, guidance=1.0), plain_cond, atol=1e-5)
        assert not torch.allclose(plain_cond, plain_uncond, atol=1e-4)


def test_inpainting_keeps_known_pixels_exactly():
    m = _tiny_model()
    g = torch.Generator().manual_seed(2)
    known = torch.rand(1, 3, 16, 16, generator=g) * 2 - 1
    cond = torch.zeros(1, 8, 16, 16)
    cond[:, 3, 4:10, 5:9] = 1  # the mask
    out = GlyphInpaintPipeline(m)(cond, known, steps=4, generator=torch.Generator().manual_seed(0)).images
    keep = cond[:, 3:4].expand_as(known) == 0
    assert torch.equal(out[keep], known[keep])
    assert not torch.equal(out[~keep], known[~keep])


def test_loss_falls_over_50_steps_of_a_tiny_model():
    torch.manual_seed(0)
    unet = GlyphUNet(TINY)
    s = NoiseSchedule(ScheduleConfig())
    opt = torch.optim.AdamW(unet.parameters(), lr=3e-3)
    g = torch.Generator().manual_seed(0)
    # a fixed toy task: x0 is a bright square where the condition says so
    cond = torch.zeros(16, 8, 16, 16)
    cond[:, 3, 4:12, 4:12] = 1
    cond[:, 7, 6:10, 6:10] = 1
    x0 = -torch.ones(16, 3, 16, 16)
    x0[:, :, 6:10, 6:10] = 1
    losses = []
    for _ in range(50):
        eps = torch.randn(x0.shape, generator=g)
        t = torch.randint(0, 1000, (16,), generator=g)
        pred = unet(torch.cat([s.add_noise(x0, eps, t), cond], 1), t)
        loss = masked_mse(pred, x0, cond[:, 3:4], 0.05)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert np.mean(losses[-10:]) < 0.5 * np.mean(losses[:5])


def test_resume_file_carries_raw_and_ema_weights_in_half_precision(tmp_path):
    """A later session continues from the committed file: the raw weights and their own EMA."""
    unet = GlyphUNet(UNetConfig(base_channels=8, channel_mults=(1, 2), attention_levels=()))
    ema = {k: v + 1 for k, v in unet.state_dict().items()}
    torch.save({"unet": unet.state_dict(), "ema": ema, "opt": {}, "step": 123, "wall": 4.5}, tmp_path / "state.pt")
    export_resume(tmp_path / "state.pt", tmp_path / "resume.pt")
    saved = torch.load(tmp_path / "resume.pt", weights_only=False)
    assert saved["step"] == 123 and set(saved) == {"unet", "ema", "step", "wall"}
    k = next(k for k, v in ema.items() if v.is_floating_point())
    assert saved["ema"][k].dtype == torch.float16
    assert torch.allclose(saved["ema"][k].float(), ema[k], atol=1e-2) and not torch.allclose(saved["unet"][k].float(), ema[k], atol=1e-2)


def test_a_draft_skip_network_started_from_a_plain_one_predicts_the_draft_exactly(tmp_path):
    """A network that adds the draft to its output starts at the pasted draft (its copied last
    layer zeroed): learning a correction to the draft, never from twice the image."""
    torch.manual_seed(0)
    plain = GlyphUNet(TINY)
    torch.save({"unet": plain.state_dict(), "ema": plain.state_dict(), "step": 7, "wall": 1.0}, tmp_path / "resume.pt")
    skip, ema = GlyphUNet(dataclasses.replace(TINY, draft_skip=True)), GlyphUNet(dataclasses.replace(TINY, draft_skip=True))
    init_from(skip, ema, tmp_path / "resume.pt")
    g = torch.Generator().manual_seed(3)
    x = torch.randn(2, 11, 16, 16, generator=g)
    t = torch.full((2,), 400)
    with torch.no_grad():
        assert torch.equal(skip(x, t), x[:, 7:10]) and torch.equal(ema(x, t), x[:, 7:10])
        # every other layer is the plain network's
        assert torch.equal(skip.stem.weight, plain.stem.weight)
        assert not torch.equal(plain(x, t), x[:, 7:10])


def test_a_resumed_run_keeps_the_network_and_data_it_was_started_with():
    """A command line that forgot --draft-skip must not continue a draft-skip run as a plain one."""
    from models.inputs import DataConfig
    from models.train import TrainConfig, _run_configs, adopt_run_configs

    started = TrainConfig(unet=dataclasses.replace(TINY, draft_skip=True), data=DataConfig(draft_plate="inpainted"))
    resumed = adopt_run_configs(TrainConfig(unet=TINY, lr=1e-4), _run_configs(started))
    assert resumed.unet == started.unet and resumed.data == started.data and resumed.lr == 1e-4
    assert adopt_run_configs(TrainConfig(lr=2e-4), {}) == TrainConfig(lr=2e-4)


def test_exact_drafts_are_the_ground_truth_glyph():
    """p_exact_draft: the draft in the true face, size and place; on clean flat pictures it then
    matches the target crop closely, where the usual jittered drafts do not."""
    from models.data import make_example
    from models.faces import TrainingFaces
    from models.inputs import DataConfig

    faces = TrainingFaces.discover(with_library=False)

    def draft_error(p_exact: float) -> float:
        cfg = DataConfig(p_exact_draft=p_exact, p_blur=0, p_jpeg=0, p_effect=0, draft_plate="inpainted")
        rng = np.random.default_rng(4)
        errs = []
        for _ in range(12):
            ex = make_example(rng, faces, cfg)
            m = ex["mask"]
            errs.append(float(((ex["draft"] - ex["x0"]) ** 2 * m).sum() / (m.sum() * 3)))
        return float(np.mean(errs))

    exact, jittered = draft_error(1.0), draft_error(0.0)
    assert exact < 0.5 * jittered, (exact, jittered)


def test_a_resumed_runs_time_limit_counts_from_the_resume(tmp_path):
    """--max-minutes bounds this run: a resumed run whose earlier steps took longer than the limit
    still trains (it once stopped at once, the saved wall time already past the limit)."""
    from models.inputs import DataConfig
    from models.train import TrainConfig, _run_configs, train

    cfg = TrainConfig(unet=TINY, data=DataConfig(model_size=16), steps=3, batch_size=2, workers=0, threads=1,
                      max_minutes=5, val_examples=2, ckpt_every=1000, warmup=1)
    unet = GlyphUNet(TINY)
    opt = torch.optim.AdamW(unet.parameters(), lr=cfg.lr)
    (tmp_path / "run").mkdir()
    torch.save({"unet": unet.state_dict(), "ema": unet.state_dict(), "opt": opt.state_dict(), "step": 1,
                "wall": 3600.0, **_run_configs(cfg)}, tmp_path / "run" / "state.pt")
    train(cfg, tmp_path / "run", tmp_path / "weights.pt")
    state = torch.load(tmp_path / "run" / "state.pt", weights_only=False)
    assert state["step"] == 3 and state["wall"] > 3600.0
