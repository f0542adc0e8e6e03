"""Naive, step-by-step float64 reference ("oracle") for the recurrent cells.

The equations are written directly from the papers, with one explicit matmul per paper
parameter, in ``variants/equations.py``; the probe ``variants.probe`` runs the same steps to
show a trained cell's gates, so the equations exist once. Nothing is stacked, fused or
vectorised over time: every time step is computed on its own in a Python loop, so each line
can be checked against the equations by eye. It is slow on purpose. This module adds what
only the tests need: the expected parameter names, shapes and counts from closed-form
formulas, and the strict check of the parameters handed to ``reference``.

Conventions
-----------
* ``x`` is ``[T, B, M]``; the result is ``(y, state)`` with ``y`` ``[T, B, N]``
  and ``state`` a tuple of ``[B, N]`` tensors laid out as ``state_layout(name)``.
* ``params`` maps paper names to tensors.  Input matrices are ``N x M``,
  recurrent matrices ``N x N``, vectors have length ``N``.  A matrix ``W`` acts
  as ``W @ x_t``, i.e. ``x_t @ W.T`` in batched form.
* Everything is computed in float64 (inputs are converted); outputs are float64.
* ``state=None`` means an all-zero state.
* The per-step output ``y_t`` is the first state element.

Only ``torch``, the standard library and ``variants.equations`` are used.
"""

import torch

from variants import equations, probe
from variants.equations import describe
from variants.equations import own_gates as _own_gates
from variants.equations import projects as _projects

__all__ = [
    "NAMES",
    "describe",
    "reference",
    "state_layout",
    "expected_param_count",
    "expected_param_names",
]

DTYPE = torch.float64

NAMES = tuple(sorted(equations.KINDS.values()))


# --------------------------------------------------------------------------- #
# public: layouts, names and counts
# --------------------------------------------------------------------------- #
def state_layout(name, **options):
    return equations.state_layout(*describe(name, **options))


def _shapes(name, M, N, **options):
    """Map paper parameter name -> expected shape."""
    kind, opts = describe(name, **options)
    inp = (N, M)  # input matrix
    rec = (N, N)  # recurrent matrix
    vec = (N,)  # vector
    s = {}
    if kind == "lstm":
        for g in ["z"] + _own_gates(opts):
            s["W_" + g] = inp
            s["R_" + g] = rec
            s["b_" + g] = vec
            if g != "z" and opts["peepholes"]:
                s["p_" + g] = vec
        if opts["gate_recurrence"]:
            for a in "ifo":
                for b in "ifo":
                    s["R_" + a + b] = rec
    elif kind == "gru":
        for g in "rzh":
            s["W_" + g] = inp
            s["R_" + g] = rec
            s["b_" + g] = vec
        s["b_Rh"] = vec
    elif kind == "gru-cho":
        for g in "rzh":
            s["W_" + g] = inp
            s["R_" + g] = rec
            s["b_" + g] = vec
    elif kind == "rnn":
        s["W"] = inp
        s["R"] = rec
        s["b"] = vec
    elif kind == "mut1":
        s.update(W_xz=inp, b_z=vec, W_xr=inp, W_hr=rec, b_r=vec, W_hh=rec, b_h=vec)
        if _projects(M, N, opts["project_input"]):
            s["P"] = inp
    elif kind == "mut2":
        s.update(W_xz=inp, W_hz=rec, b_z=vec, W_hr=rec, b_r=vec, W_hh=rec, W_xh=inp, b_h=vec)
        if _projects(M, N, opts["project_input"]):
            s["P"] = inp
    elif kind == "mut3":
        s.update(
            W_xz=inp, W_hz=rec, b_z=vec, W_xr=inp, W_hr=rec, b_r=vec, W_hh=rec, W_xh=inp, b_h=vec
        )
    elif kind == "nas":
        for k in range(8):
            s[f"W_{k}"] = inp
            s[f"U_{k}"] = rec
            if opts["use_bias"]:
                s[f"b_{k}"] = vec
    return s


def expected_param_names(name, M, N, **options):
    return set(_shapes(name, M, N, **options))


def expected_param_count(name, M, N, **options):
    """Analytic trainable-parameter count, from the closed-form formulas of the cell's
    family and its options (an LSTM's gates, peepholes and gate recurrence)."""
    kind, opts = describe(name, **options)
    NM, NN = N * M, N * N
    block = NM + NN + N
    if kind == "lstm":
        own = len(_own_gates(opts))
        return (
            (1 + own) * block
            + (own * N if opts["peepholes"] else 0)
            + (9 * NN if opts["gate_recurrence"] else 0)
        )
    if kind == "gru":
        return 3 * block + N
    if kind in ("gru-cho", "mut3"):
        return 3 * block
    if kind == "rnn":
        return block
    if kind == "mut1":
        extra = NM if _projects(M, N, opts["project_input"]) else 0
        return 2 * NM + 2 * NN + 3 * N + extra
    if kind == "mut2":
        extra = NM if _projects(M, N, opts["project_input"]) else 0
        return 2 * NM + 3 * NN + 3 * N + extra
    if kind == "nas":
        return 8 * NM + 8 * NN + (8 * N if opts["use_bias"] else 0)
    raise AssertionError(kind)


# --------------------------------------------------------------------------- #
# public: the reference
# --------------------------------------------------------------------------- #
def _infer_N(name, params):
    for key in ("b_z", "b_h", "b", "W_z", "W_h", "W", "W_0", "W_hh", "R_z"):
        if key in params:
            return int(params[key].shape[0])
    raise ValueError(f"cannot infer N for {name!r} from params {sorted(params)}")


def reference(name, params, x, state=None, **options):
    """Run cell ``name`` over ``x`` [T, B, M]; return (y [T, B, N], state)."""
    describe(name, **options)  # an unknown class or option fails here
    if x.dim() != 3:
        raise ValueError(f"x must be [T, B, M], got shape {tuple(x.shape)}")
    x = x.to(DTYPE)
    T, B, M = x.shape
    N = _infer_N(name, params)

    # parameters: exact names, exact shapes, float64
    shapes = _shapes(name, M, N, **options)
    if set(params) != set(shapes):
        missing = sorted(set(shapes) - set(params))
        extra = sorted(set(params) - set(shapes))
        raise ValueError(f"{name!r} params mismatch: missing {missing}, unexpected {extra}")
    p = {}
    for key, shape in shapes.items():
        t = params[key]
        if tuple(t.shape) != shape:
            raise ValueError(f"{name!r} param {key!r}: shape {tuple(t.shape)} != {shape}")
        p[key] = t.to(DTYPE)

    # state
    layout = state_layout(name, **options)
    if state is None:
        st = [torch.zeros(B, N, dtype=DTYPE) for _ in layout]
    else:
        st = list(state)
        if len(st) != len(layout):
            raise ValueError(
                f"{name!r} state must have {len(layout)} tensors {layout}, got {len(st)}"
            )
        for k, s in zip(layout, st):
            if tuple(s.shape) != (B, N):
                raise ValueError(f"{name!r} state {k!r}: shape {tuple(s.shape)} != {(B, N)}")
        st = [s.to(DTYPE) for s in st]

    # the steps: the paper equations of variants/equations.py, one step at a time
    trace = probe.run(name, p, x, st, **options)
    return trace.h, trace.state
