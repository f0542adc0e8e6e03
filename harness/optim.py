"""Optimisers for K trials trained as one model: every parameter has a leading trial
dimension, and each trial has its own learning rate, momentum, clipping threshold.

The arithmetic is torch's (``torch.optim.SGD`` with Nesterov momentum when the momentum is
positive, ``torch.optim.Adam`` with its defaults, ``clip_grad_norm_``), done per trial: a
population of one computes what torch's optimisers compute. A trial that is not active
(diverged, stopped early, finished) keeps its parameters and optimiser state unchanged.
"""

from __future__ import annotations

import torch
from torch import Tensor

BETAS = (0.9, 0.999)  # Adam's defaults, as torch.optim.Adam
EPS = 1e-8


def _per_trial(values: Tensor, like: Tensor) -> Tensor:
    """``[K]`` values shaped to broadcast over a parameter ``[K, ...]``, on its device."""
    return values.view(-1, *([1] * (like.dim() - 1))).to(like.device, like.dtype)


def grad_norms(params: list[Tensor]) -> Tensor:
    """The 2-norm of each trial's gradients, all parameters together: ``[K]``."""
    squares = [p.grad.detach().pow(2).flatten(1).sum(1) for p in params if p.grad is not None]
    return torch.stack(squares).sum(0).sqrt()


def clip(params: list[Tensor], norms: Tensor, limits: Tensor) -> None:
    """Scale each trial's gradients to norm ``limits[k]`` where above it (inf: no clip), as
    ``torch.nn.utils.clip_grad_norm_`` does (coefficient limit / (norm + 1e-6), at most 1)."""
    coefficient = (limits.to(norms.dtype) / (norms + 1e-6)).clamp(max=1.0)
    if bool((coefficient < 1).any()):
        for p in params:
            if p.grad is not None:
                p.grad.mul_(_per_trial(coefficient, p.grad))


class TrialOptimizer:
    """SGD (``kind="sgd"``; Nesterov momentum where ``momentum[k] > 0``) or Adam, per trial."""

    def __init__(self, params: list[Tensor], kind: str, lr: Tensor, momentum: Tensor) -> None:
        if kind not in ("sgd", "adam"):
            raise ValueError(f"optimizer must be sgd or adam, got {kind!r}")
        self.params, self.kind = params, kind
        self.lr, self.momentum = lr, momentum
        self.steps = torch.zeros(len(lr), dtype=torch.float64)
        self.state: dict[int, dict[str, Tensor]] = {}

    @torch.no_grad()
    def step(self, active: Tensor) -> None:
        """One update of the active trials (``active`` ``[K]`` bool)."""
        self.steps += active.to(self.steps.dtype)
        for p in self.params:
            if p.grad is None:
                continue
            on = _per_trial(active, p).bool()  # [K, 1, ...]
            update = self._sgd(p, on) if self.kind == "sgd" else self._adam(p, on)
            p.sub_(torch.where(on, update, torch.zeros_like(update)))

    def _sgd(self, p: Tensor, on: Tensor) -> Tensor:
        g, mu = p.grad, _per_trial(self.momentum, p)
        state = self.state.setdefault(id(p), {})
        if "buffer" not in state:
            state["buffer"] = torch.zeros_like(p)
            state["started"] = torch.zeros_like(on)
        # torch's first step sets the buffer to g; later ones to mu * buffer + g
        buffer = torch.where(state["started"], mu * state["buffer"] + g, g)
        state["buffer"] = torch.where(on, buffer, state["buffer"])
        state["started"] = state["started"] | on
        direction = g + mu * buffer  # Nesterov; mu = 0 gives plain SGD
        return _per_trial(self.lr, p) * direction

    def _adam(self, p: Tensor, on: Tensor) -> Tensor:
        g = p.grad
        state = self.state.setdefault(id(p), {})
        if "m" not in state:
            state["m"], state["v"] = torch.zeros_like(p), torch.zeros_like(p)
        m = torch.where(on, state["m"].lerp(g, 1 - BETAS[0]), state["m"])
        v = torch.where(on, state["v"].mul(BETAS[1]).addcmul(g, g, value=1 - BETAS[1]),
                        state["v"])
        state["m"], state["v"] = m, v
        steps = self.steps.clamp(min=1)
        correction1 = _per_trial(1 - BETAS[0] ** steps, p)
        correction2 = _per_trial((1 - BETAS[1] ** steps).sqrt(), p)
        denominator = (v.sqrt() / correction2).add_(EPS)
        return (_per_trial(self.lr, p) / correction1) * m / denominator
