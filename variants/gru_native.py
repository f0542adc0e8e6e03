"""The GRU family's and the Elman RNN's time loops on the native kernels (``kernels/gru.h``).

Each autograd Function takes the input-side pre-activations ``a`` of all steps (``[K, T, B,
G]``, computed by the caller as one product, so autograd forms the input weights' gradients)
and the recurrent matrices, runs the steps with one kernel call per elementwise stage and
torch's BLAS for the products, and runs back through time by hand. Recurrent weight
gradients are single products over all steps. Shapes and conventions as in
``variants/lstm_native.py``: K trials (K = 1 for a cell), batch-major buffers.
"""

from __future__ import annotations

import ctypes
from typing import Any

import torch
from torch import Tensor

from variants import native
from variants.native import matrix, product, steps_of, views

_LAYOUTS = ("a", "rh", "h", "gates", "g", "dh", "dy", "rz", "rr", "sh", "dmz", "th")


class _Step(ctypes.Structure):
    """``struct gru_step`` of ``kernels/cells.c`` (checked against it: ``native.kernel``)."""

    _fields_ = ([(name, ctypes.c_int) for name in ("k", "b", "n", "oz", "or_", "oh")]
                + [(f"{layout}_{kind}", ctypes.c_long) for layout in _LAYOUTS
                   for kind in ("ks", "rs")]
                + [("bias", ctypes.c_void_p)])


def _kernel(name: str, dtype: torch.dtype, pointers: int) -> Any:
    return native.kernel(name, dtype, _Step, "gru_step", pointers)


def _strides(**buffers: Tensor | None) -> dict[str, int]:
    """Trial and row strides of each named buffer ``[K, (T,) B, width]`` (a zero row for
    None: a term that is absent reads zeros)."""
    out = {}
    for layout, t in buffers.items():
        out[f"{layout}_ks"] = 0 if t is None else t.stride(0)
        out[f"{layout}_rs"] = 0 if t is None else t.stride(-2)
    return out


class GRUNative(torch.autograd.Function):
    """Reset-after GRU: ``(a [K,T,B,3N] = W x + b, h0, R [K,3N,N], b_Rh [K,N])`` → y, h_T."""

    @staticmethod
    def forward(ctx: Any, a: Tensor, h0: Tensor, r: Tensor, b_rh: Tensor
                ) -> tuple[Tensor, Tensor]:
        k, steps, batch, _ = a.shape
        n = h0.shape[-1]
        hs = a.new_empty(k, steps + 1, batch, n)
        hs[:, 0] = h0
        gates = a.new_empty(k, steps, batch, 4 * n)  # r, z, n, R_h h' + b_Rh
        rh = a.new_empty(k, batch, 3 * n)
        step = _Step(k=k, b=batch, n=n, bias=b_rh.data_ptr(),
                     **_strides(a=a, rh=rh, h=hs, gates=gates))
        kernel, mm, ref = _kernel("gru_forward", a.dtype, 5), product(k), ctypes.byref(step)
        h_t, r_t, out, rhp = views(hs), matrix(r.transpose(1, 2)), matrix(rh), rh.data_ptr()
        (a0, sa), (h0p, sh), (g0, sg) = steps_of(a), steps_of(hs), steps_of(gates)
        for t in range(steps):
            mm(h_t[t], r_t, out=out)
            kernel(ref, a0 + t * sa, rhp, h0p + t * sh, g0 + t * sg, h0p + (t + 1) * sh)
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
        kernel, mm, ref = _kernel("gru_backward", gx.dtype, 7), product(k), ctypes.byref(step)
        g_t, r_k, out = views(gh), matrix(r), matrix(dmm)
        (g0, sg), (h0p, sh), (y0, sy), (x0, sx) = (steps_of(gates), steps_of(hs),
                                                   steps_of(dy), steps_of(gx))
        dmp, ddp, gh0 = dmm.data_ptr(), ddir.data_ptr(), gh.data_ptr()
        for t in range(steps - 1, -1, -1):
            kernel(ref, g0 + t * sg, h0p + t * sh, dmp, ddp, y0 + t * sy, x0 + t * sx,
                   gh0 + t * sx)
            mm(g_t[t], r_k, out=out)
        flat = gh.view(k, steps * batch, 3 * n)
        dr = torch.bmm(flat.transpose(1, 2), hs[:, :steps].reshape(k, steps * batch, n))
        return gx, dmm + ddir, dr, gh[..., 2 * n:].sum((1, 2))


class ResetBeforeNative(torch.autograd.Function):
    """Cho's GRU and MUT1-3: ``(a, h0, R_g, R_zt, R_h, meta)`` → y, h_T.

    ``a`` ``[K,T,B,3N]`` holds the input sides of z, r and the candidate at the blocks
    ``meta = (oz, or, oh, gates)``; ``R_g`` ``[K, len(gates) N, N]`` the recurrent rows of
    ``gates`` ("rz", "zr" or "r", in ``a``'s order and adjacent there); ``R_zt`` (MUT3, else
    None) multiplies tanh(h') into z; ``R_h`` ``[K,N,N]`` multiplies r ⊙ h' into the
    candidate."""

    @staticmethod
    def forward(ctx: Any, a: Tensor, h0: Tensor, r_g: Tensor, r_zt: Tensor | None,
                r_h: Tensor, meta: tuple) -> tuple[Tensor, Tensor]:
        oz, or_, oh, order = meta
        k, steps, batch, _ = a.shape
        n = h0.shape[-1]
        _gate_columns(meta, n)
        hs = a.new_empty(k, steps + 1, batch, n)
        hs[:, 0] = h0
        gates = a.new_empty(k, steps, batch, 3 * n)  # z, r, candidate
        sh = a.new_empty(k, steps, batch, n)  # r ⊙ h'
        rg = a.new_empty(k, batch, len(order) * n)
        rh = a.new_empty(k, batch, n)
        zeros = a.new_zeros(n)
        th = rzt = None
        if r_zt is not None:
            th = torch.empty_like(hs)
            th[:, 0] = torch.tanh(h0)
            rzt = a.new_empty(k, batch, n)
        rz = (rzt if r_zt is not None else None if "z" not in order else
              rg[..., order.index("z") * n:])
        rr = rg[..., order.index("r") * n:]
        step = _Step(k=k, b=batch, n=n, oz=oz, or_=or_, oh=oh,
                     **_strides(a=a, rh=rh, h=hs, gates=gates, rz=rz, rr=rr, sh=sh))
        gate_kernel = _kernel("reset_gates", a.dtype, 6)
        state_kernel = _kernel("reset_state", a.dtype, 6)
        mm, ref = product(k), ctypes.byref(step)
        r_g_t, r_h_t = matrix(r_g.transpose(1, 2)), matrix(r_h.transpose(1, 2))
        h_t, s_t, rg_out, rh_out = views(hs), views(sh), matrix(rg), matrix(rh)
        rz_ptr = zeros.data_ptr() if rz is None else rz.data_ptr()
        rr_ptr, rhp = rr.data_ptr(), rh.data_ptr()
        (a0, sa), (h0p, s_h), (g0, sg), (s0, ss) = (steps_of(a), steps_of(hs),
                                                    steps_of(gates), steps_of(sh))
        if th is not None:
            th_t, r_zt_t, rzt_out = views(th), matrix(r_zt.transpose(1, 2)), matrix(rzt)
            th0, sth = steps_of(th)
        for t in range(steps):
            mm(h_t[t], r_g_t, out=rg_out)
            if th is not None:
                mm(th_t[t], r_zt_t, out=rzt_out)
            gate_kernel(ref, a0 + t * sa, rz_ptr, rr_ptr, h0p + t * s_h, g0 + t * sg,
                        s0 + t * ss)
            mm(s_t[t], r_h_t, out=rh_out)
            state_kernel(ref, a0 + t * sa, rhp, h0p + t * s_h, g0 + t * sg,
                         h0p + (t + 1) * s_h, None if th is None else th0 + (t + 1) * sth)
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
        step = _Step(k=k, b=batch, n=n, oz=oz, or_=or_, oh=oh,
                     **_strides(gates=gates, h=hs, dh=ddir, dmz=dmz, th=th, dy=dy, g=gx))
        state_kernel = _kernel("reset_back_state", gx.dtype, 8)
        gate_kernel = _kernel("reset_back_gate", gx.dtype, 5)
        mm, ref = product(k), ctypes.byref(step)
        g_cols = _gate_columns(ctx.meta, n)
        dmz_ptr = zeros.data_ptr() if dmz is None else dmz.data_ptr()
        gx_h, gx_g = views(gx[..., oh * n:(oh + 1) * n]), views(gx[..., g_cols])
        r_h_k, r_g_k, ds_out, dmm_out = matrix(r_h), matrix(r_g), matrix(ds), matrix(dmm)
        if dmz is not None:
            gx_z, r_zt_k, dmz_out = views(gx[..., oz * n:(oz + 1) * n]), matrix(r_zt), matrix(dmz)
            th0, sth = steps_of(th)
        (g0, sg), (h0p, s_h), (y0, sy), (x0, sx) = (steps_of(gates), steps_of(hs),
                                                    steps_of(dy), steps_of(gx))
        dmp, ddp, dsp = dmm.data_ptr(), ddir.data_ptr(), ds.data_ptr()
        for t in range(steps - 1, -1, -1):
            th_ptr = zeros.data_ptr() if th is None else th0 + (t + 1) * sth
            state_kernel(ref, g0 + t * sg, h0p + t * s_h, dmp, dmz_ptr, th_ptr, ddp,
                         y0 + t * sy, x0 + t * sx)
            mm(gx_h[t], r_h_k, out=ds_out)
            gate_kernel(ref, g0 + t * sg, h0p + t * s_h, dsp, ddp, x0 + t * sx)
            mm(gx_g[t], r_g_k, out=dmm_out)
            if dmz is not None:
                mm(gx_z[t], r_zt_k, out=dmz_out)
        dh0 = dmm + ddir
        if dmz is not None:
            dh0 = dh0 + dmz * (1 - th[:, 0] ** 2)

        def weight_grad(cols: slice, inputs: Tensor) -> Tensor:
            flat = gx[..., cols].reshape(k, steps * batch, cols.stop - cols.start)
            return torch.bmm(flat.transpose(1, 2), inputs.reshape(k, steps * batch, n))
        dr_g = weight_grad(g_cols, hs[:, :steps])
        dr_zt = (weight_grad(slice(oz * n, (oz + 1) * n), th[:, :steps]) if r_zt is not None
                 else None)
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
        k, steps, batch, n = a.shape
        hs = a.new_empty(k, steps + 1, batch, n)
        hs[:, 0] = h0
        rh = a.new_empty(k, batch, n)
        step = _Step(k=k, b=batch, n=n, **_strides(a=a, rh=rh, h=hs))
        kernel, mm, ref = _kernel("elman_forward", a.dtype, 3), product(k), ctypes.byref(step)
        h_t, r_t, out, rhp = views(hs), matrix(r.transpose(1, 2)), matrix(rh), rh.data_ptr()
        (a0, sa), (h0p, sh) = steps_of(a), steps_of(hs)
        for t in range(steps):
            mm(h_t[t], r_t, out=out)
            kernel(ref, a0 + t * sa, rhp, h0p + (t + 1) * sh)
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
        kernel, mm, ref = _kernel("elman_backward", gx.dtype, 4), product(k), ctypes.byref(step)
        g_t, r_k, out, dmp = views(gx), matrix(r), matrix(dmm), dmm.data_ptr()
        (h0p, sh), (y0, sy), (x0, sx) = steps_of(hs), steps_of(dy), steps_of(gx)
        for t in range(steps - 1, -1, -1):
            kernel(ref, h0p + (t + 1) * sh, dmp, y0 + t * sy, x0 + t * sx)
            mm(g_t[t], r_k, out=out)
        flat = gx.view(k, steps * batch, n)
        dr = torch.bmm(flat.transpose(1, 2), hs[:, :steps].reshape(k, steps * batch, n))
        return gx, dmm, dr


def project(x: Tensor, w_x: Tensor, bias: Tensor | None) -> Tensor:
    """``W x + b`` of every step in the kernels' layout: ``[T, K, B, M]`` → ``[K, T, B, G]``
    (one product per trial; autograd forms the gradients of W and b from it)."""
    steps, k, batch, m = x.shape
    flat = x.transpose(0, 1).reshape(k, steps * batch, m)
    out = (torch.baddbmm(bias.unsqueeze(1), flat, w_x.transpose(1, 2)) if bias is not None
           else torch.bmm(flat, w_x.transpose(1, 2)))
    return out.view(k, steps, batch, -1)
