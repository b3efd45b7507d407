"""The DDPM noise schedule and a deterministic DDIM scheduler (Ho et al. 2020; Song et al. 2021).

Forward process:   x_t = sqrt(abar_t) * x0 + sqrt(1 - abar_t) * eps,   eps ~ N(0, I)
The network predicts either eps ("epsilon") or x0 ("sample"); both parameterisations share the
same forward process, so DDIM samples either.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch


@dataclass
class ScheduleConfig:
    num_train_timesteps: int = 1000  # T
    kind: Literal["linear", "cosine"] = "cosine"  # Ho et al.'s linear betas or Nichol & Dhariwal's cosine abar
    beta_start: float = 1e-4  # linear schedule only
    beta_end: float = 0.02  # linear schedule only
    prediction: Literal["epsilon", "sample"] = "sample"  # what the network predicts: eps or x0


class NoiseSchedule:
    def __init__(self, config: ScheduleConfig):
        self.config = config
        T = config.num_train_timesteps
        if config.kind == "linear":
            betas = torch.linspace(config.beta_start, config.beta_end, T, dtype=torch.float64)
        elif config.kind == "cosine":
            s = 0.008
            steps = torch.arange(T + 1, dtype=torch.float64) / T
            f = torch.cos((steps + s) / (1 + s) * math.pi / 2) ** 2
            betas = (1 - f[1:] / f[:-1]).clamp(max=0.999)
        else:
            raise ValueError(f"unknown schedule kind {config.kind!r}")
        self.betas = betas.float()
        self.alphas_cumprod = torch.cumprod(1 - betas, dim=0).float()  # abar_t

    def add_noise(self, x0: torch.Tensor, eps: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """q(x_t | x0): x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) eps."""
        abar = self.alphas_cumprod.to(x0.device)[t].view(-1, *([1] * (x0.dim() - 1)))
        return abar.sqrt() * x0 + (1 - abar).sqrt() * eps

    def split(self, model_output: torch.Tensor, x_t: torch.Tensor, t) -> tuple[torch.Tensor, torch.Tensor]:
        """(x0, eps) implied by a network output at step t under either parameterisation."""
        abar = self.alphas_cumprod.to(x_t.device)[t]
        if isinstance(t, torch.Tensor) and t.dim() > 0:
            abar = abar.view(-1, *([1] * (x_t.dim() - 1)))
        if self.config.prediction == "epsilon":
            eps = model_output
            x0 = (x_t - (1 - abar).sqrt() * eps) / abar.sqrt()
        elif self.config.prediction == "sample":
            x0 = model_output
            eps = (x_t - abar.sqrt() * x0) / (1 - abar).sqrt()
        else:
            raise ValueError(f"unknown prediction {self.config.prediction!r}")
        return x0, eps

    def training_target(self, x0: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
        return eps if self.config.prediction == "epsilon" else x0


@dataclass
class DDIMStepOutput:
    prev_sample: torch.Tensor  # x_{t_prev}
    pred_original_sample: torch.Tensor  # the x0 estimate at this step


class DDIMScheduler:
    """Deterministic DDIM (eta = 0) over an evenly spaced subset of the training timesteps."""

    def __init__(self, schedule: NoiseSchedule, num_inference_steps: int = 20, clip_sample: bool = True):
        self.schedule = schedule
        self.clip_sample = clip_sample
        self.set_timesteps(num_inference_steps)

    def set_timesteps(self, n: int) -> None:
        T = self.schedule.config.num_train_timesteps
        if not 1 <= n <= T:
            raise ValueError(f"num_inference_steps must be in 1..{T}, got {n}")
        step = T // n
        self.timesteps = list(range(T - 1, -1, -step))[:n]  # e.g. 999, 949, ..., descending

    def prev_timestep(self, t: int) -> int:
        i = self.timesteps.index(t)
        return self.timesteps[i + 1] if i + 1 < len(self.timesteps) else -1

    def step(self, model_output: torch.Tensor, t: int, x_t: torch.Tensor) -> DDIMStepOutput:
        """One reverse step t -> t_prev, Song et al. 2021 ("DDIM"), eq. (12) with sigma_t = 0.

        Notation (the paper writes alpha_t for what Ho et al. and this file call abar_t):
          abar_t        alphas_cumprod[t], the product of (1 - beta_s) for s <= t
          x0_hat        the predicted clean sample ("predicted x_0" in eq. 12)
          eps_hat       the predicted noise, epsilon_theta(x_t)
          t_prev        the next timestep of the inference subset (-1 after the last: abar = 1)
        """
        # 1. The network's output as (x0_hat, eps_hat), whichever it predicts; from eq. (4) of Ho et al.:
        #    x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) eps  <=>  eps = (x_t - sqrt(abar_t) x0) / sqrt(1 - abar_t)
        x0, eps = self.schedule.split(model_output, x_t, t)
        # 2. Keep x0_hat in the data range [-1, 1] and re-derive the eps_hat it implies (same relation as 1.),
        #    so the step stays on the line through x_t.
        if self.clip_sample:
            x0 = x0.clamp(-1, 1)
            abar_t = self.schedule.alphas_cumprod[t]
            eps = (x_t - abar_t.sqrt() * x0) / (1 - abar_t).sqrt()
        # 3. abar at the previous timestep of the subset.
        t_prev = self.prev_timestep(t)
        abar_prev = self.schedule.alphas_cumprod[t_prev] if t_prev >= 0 else torch.tensor(1.0)
        # 4. Eq. (12), sigma_t = 0: x_{t_prev} = sqrt(abar_prev) x0_hat + sqrt(1 - abar_prev) eps_hat
        #    ("predicted x_0" plus the "direction pointing to x_t"; no random noise term).
        prev = abar_prev.sqrt() * x0 + (1 - abar_prev).sqrt() * eps
        return DDIMStepOutput(prev_sample=prev, pred_original_sample=x0)
