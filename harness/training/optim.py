"""Optimisers for K trials trained as one model: every parameter has a leading trial
dimension, and each trial has its own learning rate, momentum, clipping threshold.

The arithmetic is torch's (``torch.optim.SGD`` with Nesterov momentum when the momentum is
positive, ``torch.optim.Adam`` with its defaults, ``clip_grad_norm_``), done per trial: a
population of one computes what torch's optimisers compute. A trial that is not active
(diverged, stopped early, finished) keeps its parameters and optimiser state unchanged.

The gradients of all parameters are gathered into one ``[K, P]`` matrix per step, so the
norms, the clipping and the update are a dozen operations whatever the number of
parameters (small models have many small ones, and per-tensor updates cost more than the
arithmetic). Those operations write into matrices kept from step to step: a fresh ``[K, P]``
tensor per operation cost more than its arithmetic (the allocator hands large blocks back
to the system, and every new one is paged in again). The order of every operation is
torch's, so the numbers are the same as with fresh tensors.
"""

from __future__ import annotations

import torch
from torch import Tensor

BETAS = (0.9, 0.999)  # Adam's defaults, as torch.optim.Adam
EPS = 1e-8


class TrialOptimizer:
    """SGD (``kind="sgd"``; Nesterov momentum where ``momentum[k] > 0``) or Adam, per trial;
    ``limits[k]`` clips trial k's gradient norm (``inf``: no clipping)."""

    def __init__(
        self, params: list[Tensor], kind: str, lr: Tensor, momentum: Tensor, limits: Tensor
    ) -> None:
        if kind not in ("sgd", "adam"):
            raise ValueError(f"optimizer must be sgd or adam, got {kind!r}")
        self.params, self.kind = params, kind
        like = params[0]
        self.lr = lr.to(like.device, like.dtype).unsqueeze(1)  # [K, 1] against [K, P]
        self.momentum = momentum.to(like.device, like.dtype).unsqueeze(1)
        self.limits = limits.to(like.device)
        self.clipping = bool(torch.isfinite(limits).any())  # else every coefficient is 1
        self.sizes = [p[0].numel() for p in params]  # each parameter's share of a row
        self.steps = torch.zeros(len(lr), dtype=torch.float64)
        self.state: dict[str, Tensor] = {}
        # kept [K, P] matrices: the gradients, two for intermediate results, and the update,
        # with its views shaped as the parameters (what _foreach_sub_ takes)
        rows = (len(lr), sum(self.sizes))
        self.g, self.work, self.spare, self.update = (like.new_empty(rows) for _ in range(4))
        self.update_parts = [
            part.view_as(p) for p, part in zip(params, self.update.split(self.sizes, 1))
        ]

    def gradients(self) -> Tensor:
        """Every trial's gradients as one row: ``[K, P]`` (zeros for unused parameters)."""
        return torch.cat(
            [
                p.grad.flatten(1) if p.grad is not None else torch.zeros_like(p).flatten(1)
                for p in self.params
            ],
            1,
            out=self.g,
        )

    @torch.no_grad()
    def step(self, active: Tensor) -> Tensor:
        """Clip and update the active trials (``active`` ``[K]`` bool). Returns each trial's
        gradient norm before clipping, ``[K]``."""
        g = self.gradients()
        norms = torch.mul(g, g, out=self.work).sum(1).sqrt()  # g.pow(2) computes g * g
        if self.clipping:
            # clip_grad_norm_: coefficient limit / (norm + 1e-6), at most 1 (a NaN norm: no
            # clipping; that trial is no longer updated anyway)
            coefficient = (self.limits.to(norms.dtype) / (norms + 1e-6)).clamp(max=1.0)
            g.mul_(torch.nan_to_num(coefficient, nan=1.0).unsqueeze(1))
        # ``on`` is None while every trial trains (the usual case): no masking, whose
        # ``where``s cost more than the update's arithmetic
        on = None if bool(active.all()) else active.to(g.device).unsqueeze(1)
        self.steps += active.to(self.steps.dtype)
        update = self._sgd(g, on) if self.kind == "sgd" else self._adam(g, on)
        if on is not None:
            update.masked_fill_(~on, 0.0)
        torch._foreach_sub_(self.params, self.update_parts)
        return norms

    def _sgd(self, g: Tensor, on: Tensor | None) -> Tensor:
        mu = self.momentum
        if "buffer" not in self.state:
            self.state["buffer"] = torch.zeros_like(g)
            self.state["started"] = torch.zeros_like(mu, dtype=torch.bool)
        buffer = self.state["buffer"]
        if bool(self.state["started"].all()):  # every step after a trial's first
            new = torch.mul(mu, buffer, out=self.work).add_(g)  # mu * buffer + g
            if on is None:  # the new buffer is kept whole: the two matrices trade places
                self.state["buffer"], self.work = new, buffer
            else:
                torch.where(on, new, buffer, out=buffer)
        else:  # torch's first step sets the buffer to g
            new = torch.where(self.state["started"], mu * buffer + g, g)
            self.state["buffer"] = _kept(on, new, buffer)
            self.state["started"] = self.state["started"] | (True if on is None else on)
        # Nesterov: lr * (g + mu * buffer); mu = 0 gives plain SGD
        return torch.mul(mu, new, out=self.update).add_(g).mul_(self.lr)

    def _adam(self, g: Tensor, on: Tensor | None) -> Tensor:
        if "m" not in self.state:
            self.state["m"], self.state["v"] = torch.zeros_like(g), torch.zeros_like(g)
        m, v = self.state["m"], self.state["v"]
        if on is None:
            m.lerp_(g, 1 - BETAS[0])
            v.mul_(BETAS[1]).addcmul_(g, g, value=1 - BETAS[1])
        else:  # the new moments of the active trials, the others' kept
            torch.where(on, torch.lerp(m, g, 1 - BETAS[0], out=self.work), m, out=m)
            new_v = torch.mul(v, BETAS[1], out=self.spare).addcmul_(g, g, value=1 - BETAS[1])
            torch.where(on, new_v, v, out=v)
        steps = self.steps.clamp(min=1).unsqueeze(1).to(g.device)
        correction1 = (1 - BETAS[0] ** steps).to(g.dtype)
        correction2 = (1 - BETAS[1] ** steps).sqrt().to(g.dtype)
        denominator = torch.sqrt(v, out=self.work).div_(correction2).add_(EPS)
        return torch.mul(m, self.lr / correction1, out=self.update).div_(denominator)


def _kept(on: Tensor | None, new: Tensor, old: Tensor) -> Tensor:
    """``new`` for the trials ``on``, ``old`` for the others (all ``new`` where ``on`` is
    None: every trial trains)."""
    return new if on is None else torch.where(on, new, old)
