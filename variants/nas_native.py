"""The NAS cell's time loop on the native kernels (``kernels/nas.h``), with its backward
through time.

Forward: the input projections A = W x of all steps are one matrix product; then one call
runs the time loop in C: each step U m' (torch's BLAS, called directly) and one kernel for
all of the cell's elementwise arithmetic (the bias, the eight first-layer branches, the
four second-layer ones, the cell and the output). Backward: one call runs back through
time, each step turning the gradients reaching it into the pre-activation gradients of
both sides, ga (of A) and gb (of U m' + b; they differ only in block 3, where l1_3 =
relu(A3 ⊙ B3) multiplies the two sides), then carrying gb through U to the step before;
the weight gradients of all steps are then single large products.

Shapes and conventions as in ``variants/lstm_native.py``: every tensor has a leading trial
dimension K (K = 1 for a cell), x ``[K, T, B, M]``, states ``[K, B, N]``, W ``[K, 8N, M]``,
U ``[K, 8N, N]``, b ``[K, 8N]`` or None; buffers batch-major.
"""

from __future__ import annotations

import ctypes
from functools import cache
from typing import Any

import torch
from torch import Tensor

from variants import native

_LAYOUTS = ("a", "rh", "c", "h", "sv", "dh", "dy", "dc")
SAVED = 7  # blocks of sv per row: B3, l2_0, l2_1, l2_2, l2_3, u, v


class _Step(ctypes.Structure):
    """``struct nas_step`` of ``kernels/cells.c`` (checked against it: ``native.kernel``)."""

    _fields_ = (
        [(name, ctypes.c_int) for name in ("k", "b", "n")]
        + [(f"{layout}_{kind}", ctypes.c_long) for layout in _LAYOUTS for kind in ("ks", "rs")]
        + [("bias", ctypes.c_void_p)]
    )


@cache
def _functions(dtype: torch.dtype) -> tuple[Any, Any]:
    return (
        native.kernel("nas_forward_seq", dtype, _Step, "nas_step", 7, steps=True),
        native.kernel("nas_backward_seq", dtype, _Step, "nas_step", 11, steps=True),
    )


def _step(bias: Tensor, **buffers: Tensor) -> _Step:
    """The struct for K trials of B rows of N units: each buffer's trial and row strides
    (elements), ``bias`` ``[K, 8N]`` (zeros without use_bias)."""
    k, n8 = bias.shape
    batch = buffers["h"].shape[-2]
    strides = {}
    for layout, t in buffers.items():
        strides[f"{layout}_ks"] = t.stride(0)
        strides[f"{layout}_rs"] = t.stride(-2)
    return _Step(k=k, b=batch, n=n8 // 8, bias=bias.data_ptr(), **strides)


class NASNative(torch.autograd.Function):
    """``(x, m0, c0, W, U, b)`` → ``(m [K,T,B,N], m_T, c_T)``; b may be None."""

    @staticmethod
    def forward(
        ctx: Any, x: Tensor, m0: Tensor, c0: Tensor, w_x: Tensor, w_h: Tensor, bias: Tensor | None
    ) -> tuple[Tensor, Tensor, Tensor]:
        k, steps, batch, m = x.shape
        n8 = w_h.shape[1]
        n = n8 // 8
        acts = torch.bmm(x.view(k, steps * batch, m), w_x.transpose(1, 2)).view(k, steps, batch, n8)
        hs = x.new_empty(k, steps + 1, batch, n)
        hs[:, 0] = m0
        cells = x.new_empty(k, steps + 1, batch, n)
        cells[:, 0] = c0
        saved = x.new_empty(k, steps, batch, SAVED * n)
        rh = x.new_empty(k, batch, n8)
        b = bias if bias is not None else x.new_zeros(k, n8)
        step = _step(b, a=acts, rh=rh, c=cells, h=hs, sv=saved)
        forward_seq, _ = _functions(x.dtype)
        native.run_sequence(
            forward_seq,
            step,
            steps,
            x.dtype,
            w_h,
            acts,
            rh,
            cells,
            saved,
            hs,
        )
        ctx.save_for_backward(acts, saved, cells, hs, x, w_x, w_h, b)
        ctx.has_bias = bias is not None
        return hs[:, 1:], hs[:, steps].clone(), cells[:, steps].clone()

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx: Any, dy: Tensor, dm_last: Tensor, dc_last: Tensor) -> tuple:
        acts, saved, cells, hs, x, w_x, w_h, b = ctx.saved_tensors
        k, steps, batch, n8 = acts.shape
        n, m = n8 // 8, x.shape[-1]
        dy = dy.contiguous()
        dc = dc_last.contiguous().clone()
        dmm = dm_last.contiguous().clone()  # the final state's gradient, then gb U
        ga, gb = torch.empty_like(acts), torch.empty_like(acts)
        step = _step(b, a=acts, c=cells, h=hs, sv=saved, dh=dmm, dy=dy, dc=dc)
        _, backward_seq = _functions(x.dtype)
        native.run_sequence(
            backward_seq,
            step,
            steps,
            x.dtype,
            w_h,
            acts,
            saved,
            cells,
            hs,
            dmm,
            dy,
            dc,
            ga,
            gb,
        )
        flat_a, flat_b = ga.view(k, steps * batch, n8), gb.view(k, steps * batch, n8)
        dw_h = torch.bmm(flat_b.transpose(1, 2), hs[:, :steps].reshape(k, steps * batch, n))
        dw_x = torch.bmm(flat_a.transpose(1, 2), x.view(k, steps * batch, m))
        dx = torch.bmm(flat_a, w_x).view(x.shape) if ctx.needs_input_grad[0] else None
        db = flat_b.sum(1) if ctx.has_bias else None
        return dx, dmm, dc, dw_x, dw_h, db


def nas_native(
    x: Tensor, m0: Tensor, c0: Tensor, w_x: Tensor, w_h: Tensor, bias: Tensor | None
) -> tuple[Tensor, Tensor, Tensor]:
    """Run the loop (shapes in the module docstring); differentiable in every tensor."""
    return NASNative.apply(
        *(t if t is None else t.contiguous() for t in (x, m0, c0, w_x, w_h, bias))
    )
