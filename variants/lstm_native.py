"""The LSTM family's time loop on the native kernels, with its backward through time.

Forward: the input projections of all steps are one matrix product; then one call runs the
time loop in C (``kernels/lstm.h``): each step ``R h'`` (torch's BLAS, called directly) and
one kernel for all of the gate arithmetic. Backward: one call runs back through time, each
step turning the gradients reaching it into the gate pre-activation gradients and carrying
them through ``R`` to the step before; the weight gradients of all steps are then single
large products. No Python runs per step, and a stack's trials run on separate threads.

Every tensor has a leading trial dimension K (one independent trial per slice; a single cell
is K = 1): x ``[K, T, B, M]``, states ``[K, B, ·]``, W_x ``[K, G, M]``, b ``[K, G]``,
R ``[K, G, H]``, peepholes ``[K, N]``. G is the stacked gate rows (i, f, z, o; absent gates
have none) and H the width of the recurrent input: y, or ``[y; i; f; o]`` (the own gates)
under full gate recurrence, whose R rows for z are zero.
"""

from __future__ import annotations

import ctypes
from functools import cache
from typing import Any

import torch
from torch import Tensor

from variants import native

COUPLED, TANH_G, TANH_H, FGR = 1, 2, 4, 8


class _Step(ctypes.Structure):
    """``struct lstm_step`` of ``kernels/cells.c`` (checked against it: ``native.kernel``)."""

    _fields_ = (
        [(name, ctypes.c_int) for name in ("k", "b", "n", "oi", "of", "oz", "oo", "flags")]
        + [
            (f"{buffer}_{kind}", ctypes.c_long)
            for buffer in ("a", "rh", "c", "hc", "h", "g", "dh", "dy", "dc")
            for kind in ("ks", "rs")
        ]
        + [(name, ctypes.c_void_p) for name in ("p_i", "p_f", "p_o")]
    )


@cache
def _functions(dtype: torch.dtype) -> tuple[Any, Any]:
    native.check_constants("lstm_flags", (COUPLED, TANH_G, TANH_H, FGR))
    return (
        native.kernel("lstm_forward_seq", dtype, _Step, "lstm_step", 7, steps=True),
        native.kernel("lstm_backward_seq", dtype, _Step, "lstm_step", 12, steps=True),
    )


def _step(
    k: int,
    steps: int,
    batch: int,
    n: int,
    g: int,
    h: int,
    meta: tuple,
    peepholes: tuple[Tensor | None, ...],
) -> _Step:
    """The strides of the buffers below (batch-major, as torch's)."""
    _, offsets, flags = meta
    tb = steps * batch
    return _Step(
        k,
        batch,
        n,
        *offsets,
        flags,
        tb * g,
        g,  # a: activations [K, T, B, G]
        batch * g,
        g,  # rh: R h' of the step [K, B, G]
        (tb + batch) * n,
        n,  # c: cells [K, T+1, B, N]
        tb * n,
        n,  # hc: h(c) [K, T, B, N]
        (tb + batch) * h,
        h,  # h: recurrent inputs [K, T+1, B, H]
        tb * g,
        g,  # g: pre-activation gradients [K, T, B, G]
        batch * h,
        h,  # dh: [K, B, H]
        tb * n,
        n,  # dy: [K, T, B, N]
        batch * n,
        n,  # dc: [K, B, N]
        *(None if p is None else p.data_ptr() for p in peepholes),
    )


class LSTMNative(torch.autograd.Function):
    """``(x, h0, c0, W_x, b, R, p_i, p_f, p_o, meta)`` → ``(y [K,T,B,N], h_T, c_T)``.

    Unlike the GRU family's Functions this one takes x and W_x: its kernel writes the gate
    activations over the input projections, a buffer it must own."""

    @staticmethod
    def forward(
        ctx: Any,
        x: Tensor,
        h0: Tensor,
        c0: Tensor,
        w_x: Tensor,
        bias: Tensor,
        r: Tensor,
        p_i: Tensor | None,
        p_f: Tensor | None,
        p_o: Tensor | None,
        meta: tuple,
    ) -> tuple[Tensor, Tensor, Tensor]:
        n, _, flags = meta
        k, steps, batch, m = x.shape
        g, h = r.shape[1], r.shape[2]
        # the product, then the bias: baddbmm would first copy the bias over all T B rows
        acts = (
            torch.bmm(x.view(k, steps * batch, m), w_x.transpose(1, 2))
            .add_(bias.unsqueeze(1))
            .view(k, steps, batch, g)
        )
        hs = x.new_empty(k, steps + 1, batch, h)
        hs[:, 0] = h0
        cells = x.new_empty(k, steps + 1, batch, n)
        cells[:, 0] = c0
        squashed = x.new_empty(k, steps, batch, n) if flags & TANH_H else None
        rh = x.new_empty(k, batch, g)
        step = _step(k, steps, batch, n, g, h, meta, (p_i, p_f, p_o))
        forward_seq, _ = _functions(x.dtype)
        native.run_sequence(
            forward_seq,
            step,
            steps,
            x.dtype,
            r,
            acts,
            rh,
            cells,
            squashed,
            hs,
        )
        ctx.meta = meta
        ctx.save_for_backward(acts, cells, squashed, hs, x, w_x, r, p_i, p_f, p_o)
        return hs[:, 1:, :, :n], hs[:, steps].clone(), cells[:, steps].clone()

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx: Any, dy: Tensor, dh_last: Tensor, dc_last: Tensor) -> tuple:
        acts, cells, squashed, hs, x, w_x, r, p_i, p_f, p_o = ctx.saved_tensors
        n, offsets, flags = ctx.meta
        k, steps, batch, g = acts.shape
        h, m = hs.shape[-1], x.shape[-1]
        dy = dy.contiguous()
        dc = dc_last.contiguous().clone()
        dh = dh_last.contiguous()
        dpre = torch.empty_like(acts)
        spare = x.new_empty(2 * n)
        step = _step(k, steps, batch, n, g, h, ctx.meta, (p_i, p_f, p_o))
        _, backward_seq = _functions(x.dtype)
        # the gradient of h0 ends in the first of two buffers (the kernel reads one while
        # the product writes the other)
        buffers = (torch.empty_like(dh), torch.empty_like(dh))
        native.run_sequence(
            backward_seq,
            step,
            steps,
            x.dtype,
            r,
            acts,
            cells,
            squashed,
            dh,
            dy,
            dc,
            dpre,
            spare,
            *buffers,
        )
        dh = buffers[0]
        flat = dpre.view(k, steps * batch, g)
        flat_t = flat.transpose(1, 2)
        dr = torch.bmm(flat_t, hs[:, :steps].reshape(k, steps * batch, h))
        dw = torch.bmm(flat_t, x.view(k, steps * batch, m))
        dx = torch.bmm(flat, w_x).view(x.shape) if ctx.needs_input_grad[0] else None
        oi, of, _, oo = offsets
        dps = [
            None if p is None else (dpre[..., off * n : (off + 1) * n] * c).sum((1, 2))
            for p, off, c in (
                (p_i, oi, cells[:, :steps]),
                (p_f, of, cells[:, :steps]),
                (p_o, oo, cells[:, 1:]),
            )
        ]
        return (dx, dh.clone(), dc, dw, flat.sum(1), dr, *dps, None)


def lstm_native(
    x: Tensor,
    h0: Tensor,
    c0: Tensor,
    w_x: Tensor,
    bias: Tensor,
    r: Tensor,
    p_i: Tensor | None,
    p_f: Tensor | None,
    p_o: Tensor | None,
    n: int,
    offsets: tuple[int, int, int, int],
    coupled: bool,
    tanh_g: bool,
    tanh_h: bool,
    fgr: bool,
) -> tuple[Tensor, Tensor, Tensor]:
    """Run the loop (shapes in the module docstring); differentiable in every tensor."""
    flags = (COUPLED * coupled) | (TANH_G * tanh_g) | (TANH_H * tanh_h) | (FGR * fgr)
    contiguous = [
        t if t is None else t.contiguous() for t in (x, h0, c0, w_x, bias, r, p_i, p_f, p_o)
    ]
    return LSTMNative.apply(*contiguous, (n, offsets, flags))
