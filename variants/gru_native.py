"""The GRU family's and the Elman RNN's time loops on the native kernels (``kernels/gru.h``).

Each autograd Function takes the input-side pre-activations ``a`` of all steps (``[K, T, B,
G]``, computed by the caller as one product, so autograd forms the input weights' gradients)
and the recurrent matrices. Forward: one call runs the time loop in C, each step its products
(torch's BLAS, called directly) and its elementwise kernels. Backward: one call runs back
through time; the recurrent weight gradients are then single products over all steps. No
Python runs per step, and a stack's trials run on separate threads. Shapes and conventions
as in ``variants/lstm_native.py``: K trials (K = 1 for a cell), batch-major buffers.
"""

from __future__ import annotations

import ctypes
from functools import cache
from typing import Any

import torch
from torch import Tensor

from variants import native

_LAYOUTS = ("a", "rh", "h", "gates", "g", "dh", "dy", "rz", "rr", "sh", "dmz", "th")

# the sequence functions of kernels/gru.h and their data pointers (after the struct and the
# number of steps)
_SEQUENCES = {
    "gru_forward_seq": 6,
    "gru_backward_seq": 9,
    "reset_forward_seq": 13,
    "reset_backward_seq": 14,
    "elman_forward_seq": 5,
    "elman_backward_seq": 6,
}


class _Step(ctypes.Structure):
    """``struct gru_step`` of ``kernels/cells.c`` (checked against it: ``native.kernel``)."""

    _fields_ = (
        [(name, ctypes.c_int) for name in ("k", "b", "n", "oz", "or_", "oh")]
        + [(f"{layout}_{kind}", ctypes.c_long) for layout in _LAYOUTS for kind in ("ks", "rs")]
        + [("bias", ctypes.c_void_p)]
    )


@cache
def _function(name: str, dtype: torch.dtype) -> Any:
    return native.kernel(name, dtype, _Step, "gru_step", _SEQUENCES[name], steps=True)


def _strides(**buffers: Tensor | None) -> dict[str, int]:
    """Trial and row strides of each named buffer ``[K, (T,) B, width]`` (a zero row for
    None: a term that is absent reads zeros)."""
    out = {}
    for layout, t in buffers.items():
        out[f"{layout}_ks"] = 0 if t is None else t.stride(0)
        out[f"{layout}_rs"] = 0 if t is None else t.stride(-2)
    return out


def _dense(r: Tensor) -> Tensor:
    """A recurrent matrix ``[K, rows, N]`` as the loops read it: row-major, trial after trial
    (a block of rows of a trial's matrix is, for one trial; a stack's is copied)."""
    return r if r.is_contiguous() else r.contiguous()


class GRUNative(torch.autograd.Function):
    """Reset-after GRU: ``(a [K,T,B,3N] = W x + b, h0, R [K,3N,N], b_Rh [K,N])`` → y, h_T."""

    @staticmethod
    def forward(ctx: Any, a: Tensor, h0: Tensor, r: Tensor, b_rh: Tensor) -> tuple[Tensor, Tensor]:
        a, r, b_rh = a.contiguous(), _dense(r), b_rh.contiguous()
        k, steps, batch, _ = a.shape
        n = h0.shape[-1]
        hs = a.new_empty(k, steps + 1, batch, n)
        hs[:, 0] = h0
        gates = a.new_empty(k, steps, batch, 4 * n)  # r, z, n, R_h h' + b_Rh
        rh = a.new_empty(k, batch, 3 * n)
        step = _Step(
            k=k, b=batch, n=n, bias=b_rh.data_ptr(), **_strides(a=a, rh=rh, h=hs, gates=gates)
        )
        native.run_sequence(
            _function("gru_forward_seq", a.dtype),
            step,
            steps,
            a.dtype,
            r,
            a,
            rh,
            gates,
            hs,
        )
        ctx.save_for_backward(gates, hs, r)
        return hs[:, 1:], hs[:, steps].clone()

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx: Any, dy: Tensor, dh_last: Tensor) -> tuple:
        gates, hs, r = ctx.saved_tensors
        k, steps, batch, _ = gates.shape
        n = hs.shape[-1]
        dy = dy.contiguous()
        gx = gates.new_empty(k, steps, batch, 3 * n)
        gh = torch.empty_like(gx)
        ddir = dh_last.contiguous().clone()
        dmm = torch.zeros_like(ddir)
        step = _Step(k=k, b=batch, n=n, **_strides(gates=gates, h=hs, dh=ddir, dy=dy, g=gx))
        native.run_sequence(
            _function("gru_backward_seq", gx.dtype),
            step,
            steps,
            gx.dtype,
            r,
            gates,
            hs,
            dmm,
            ddir,
            dy,
            gx,
            gh,
        )
        flat = gh.view(k, steps * batch, 3 * n)
        dr = torch.bmm(flat.transpose(1, 2), hs[:, :steps].reshape(k, steps * batch, n))
        return gx, dmm + ddir, dr, gh[..., 2 * n :].sum((1, 2))


class ResetBeforeNative(torch.autograd.Function):
    """Cho's GRU and MUT1-3: ``(a, h0, R_g, R_zt, R_h, meta)`` → y, h_T.

    ``a`` ``[K,T,B,3N]`` holds the input sides of z, r and the candidate at the blocks
    ``meta = (oz, or, oh, gates)``; ``R_g`` ``[K, len(gates) N, N]`` the recurrent rows of
    ``gates`` ("rz", "zr" or "r", in ``a``'s order and adjacent there); ``R_zt`` (MUT3, else
    None) multiplies tanh(h') into z; ``R_h`` ``[K,N,N]`` multiplies r ⊙ h' into the
    candidate."""

    @staticmethod
    def forward(
        ctx: Any, a: Tensor, h0: Tensor, r_g: Tensor, r_zt: Tensor | None, r_h: Tensor, meta: tuple
    ) -> tuple[Tensor, Tensor]:
        oz, or_, oh, order = meta
        a, r_g, r_h = a.contiguous(), _dense(r_g), _dense(r_h)
        r_zt = None if r_zt is None else _dense(r_zt)
        k, steps, batch, _ = a.shape
        n = h0.shape[-1]
        _gate_columns(meta, n)
        hs = a.new_empty(k, steps + 1, batch, n)
        hs[:, 0] = h0
        gates = a.new_empty(k, steps, batch, 3 * n)  # z, r, candidate
        sh = a.new_empty(k, steps, batch, n)  # r ⊙ h'
        rg = a.new_empty(k, batch, len(order) * n)  # R_g h': rr (and rz) are blocks of it
        rh = a.new_empty(k, batch, n)
        zeros = a.new_zeros(n)
        th = rzt = None
        if r_zt is not None:
            th = torch.empty_like(hs)  # h's strides: the loop steps it with them
            th[:, 0] = torch.tanh(h0)
            rzt = a.new_empty(k, batch, n)
        rz = (
            rzt
            if r_zt is not None
            else None
            if "z" not in order
            else rg[..., order.index("z") * n :]
        )
        rr = rg[..., order.index("r") * n :]  # its row stride is rg's width, G
        step = _Step(
            k=k,
            b=batch,
            n=n,
            oz=oz,
            or_=or_,
            oh=oh,
            **_strides(a=a, rh=rh, h=hs, gates=gates, rz=rz, rr=rr, sh=sh),
        )
        native.run_sequence(
            _function("reset_forward_seq", a.dtype),
            step,
            steps,
            a.dtype,
            r_g,
            r_zt,
            r_h,
            a,
            rg,
            zeros if rz is None else rz,
            rr,
            rh,
            gates,
            sh,
            hs,
            th,
        )
        ctx.meta = meta
        ctx.save_for_backward(gates, sh, hs, th, r_g, r_zt, r_h)
        return hs[:, 1:], hs[:, steps].clone()

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx: Any, dy: Tensor, dh_last: Tensor) -> tuple:
        gates, sh, hs, th, r_g, r_zt, r_h = ctx.saved_tensors
        oz, or_, oh, order = ctx.meta
        k, steps, batch, _ = gates.shape
        n = hs.shape[-1]
        dy = dy.contiguous()
        gx = gates.new_empty(k, steps, batch, 3 * n)
        ddir = dh_last.contiguous().clone()
        dmm = torch.zeros_like(ddir)
        dmz = torch.zeros_like(ddir) if r_zt is not None else None
        ds = torch.empty_like(ddir)
        zeros = gx.new_zeros(n)
        g_cols = _gate_columns(ctx.meta, n)
        # rr_rs: the width of R_g's product, as in the forward (the loop's G)
        step = _Step(
            k=k,
            b=batch,
            n=n,
            oz=oz,
            or_=or_,
            oh=oh,
            rr_rs=len(order) * n,
            **_strides(gates=gates, h=hs, dh=ddir, dmz=dmz, th=th, dy=dy, g=gx),
        )
        native.run_sequence(
            _function("reset_backward_seq", gx.dtype),
            step,
            steps,
            gx.dtype,
            r_g,
            r_zt,
            r_h,
            gates,
            hs,
            zeros if th is None else th,
            dmm,
            zeros if dmz is None else dmz,
            ddir,
            ds,
            dy,
            gx,
            gx[..., g_cols],  # the address of its first gate column
        )
        dh0 = dmm + ddir
        if dmz is not None:
            dh0 = dh0 + dmz * (1 - th[:, 0] ** 2)

        def weight_grad(cols: slice, inputs: Tensor) -> Tensor:
            flat = gx[..., cols].reshape(k, steps * batch, cols.stop - cols.start)
            return torch.bmm(flat.transpose(1, 2), inputs.reshape(k, steps * batch, n))

        dr_g = weight_grad(g_cols, hs[:, :steps])
        dr_zt = (
            weight_grad(slice(oz * n, (oz + 1) * n), th[:, :steps]) if r_zt is not None else None
        )
        dr_h = weight_grad(slice(oh * n, (oh + 1) * n), sh)
        return gx, dh0, dr_g, dr_zt, dr_h, None


def _gate_columns(meta: tuple, n: int) -> slice:
    """The columns of ``a`` (and of its gradient) that R_g's gates occupy, in R_g's order."""
    oz, or_, _, order = meta
    blocks = [{"z": oz, "r": or_}[g] for g in order]
    if blocks != list(range(blocks[0], blocks[0] + len(order))):
        raise ValueError(f"the gates {order!r} of R_g must be adjacent in a, in that order")
    return slice(blocks[0] * n, (blocks[0] + len(order)) * n)


class ElmanNative(torch.autograd.Function):
    """``(a [K,T,B,N] = W x + b, h0, R [K,N,N])`` → y, h_T: h = tanh(a + R h')."""

    @staticmethod
    def forward(ctx: Any, a: Tensor, h0: Tensor, r: Tensor) -> tuple[Tensor, Tensor]:
        a, r = a.contiguous(), _dense(r)
        k, steps, batch, n = a.shape
        hs = a.new_empty(k, steps + 1, batch, n)
        hs[:, 0] = h0
        rh = a.new_empty(k, batch, n)
        step = _Step(k=k, b=batch, n=n, **_strides(a=a, rh=rh, h=hs))
        native.run_sequence(
            _function("elman_forward_seq", a.dtype),
            step,
            steps,
            a.dtype,
            r,
            a,
            rh,
            hs,
        )
        ctx.save_for_backward(hs, r)
        return hs[:, 1:], hs[:, steps].clone()

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx: Any, dy: Tensor, dh_last: Tensor) -> tuple:
        hs, r = ctx.saved_tensors
        k, steps1, batch, n = hs.shape
        steps = steps1 - 1
        dy = dy.contiguous()
        gx = hs.new_empty(k, steps, batch, n)
        dmm = dh_last.contiguous().clone()
        step = _Step(k=k, b=batch, n=n, **_strides(h=hs, dh=dmm, dy=dy, g=gx))
        native.run_sequence(
            _function("elman_backward_seq", gx.dtype),
            step,
            steps,
            gx.dtype,
            r,
            hs,
            dmm,
            dy,
            gx,
        )
        flat = gx.view(k, steps * batch, n)
        dr = torch.bmm(flat.transpose(1, 2), hs[:, :steps].reshape(k, steps * batch, n))
        return gx, dmm, dr


def project(x: Tensor, w_x: Tensor, bias: Tensor | None) -> Tensor:
    """``W x + b`` of every step in the kernels' layout: ``[T, K, B, M]`` → ``[K, T, B, G]``
    (one product per trial; autograd forms the gradients of W and b from it)."""
    steps, k, batch, m = x.shape
    flat = x.transpose(0, 1).reshape(k, steps * batch, m)
    out = torch.bmm(flat, w_x.transpose(1, 2))
    if bias is not None:  # after the product: baddbmm would first copy it over all T B rows
        out = out + bias.unsqueeze(1)
    return out.view(k, steps, batch, -1)
