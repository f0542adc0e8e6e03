"""Naive, step-by-step float64 reference ("oracle") for the recurrent cells.

Written directly from the paper equations, with one explicit matmul per paper
parameter.  Nothing is stacked, fused or vectorised over time: every time step
is computed on its own in a Python loop, so each line can be checked against
the equations by eye.  It is slow on purpose.

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

Only ``torch`` and the standard library are used.
"""

import torch

__all__ = [
    "NAMES",
    "reference",
    "state_layout",
    "expected_param_count",
    "expected_param_names",
]

LSTM_FAMILY = (
    "lstm", "lstm-b", "nig", "nfg", "nog", "niaf", "noaf", "np", "cifg", "fgr",
)
NAMES = LSTM_FAMILY + ("gru", "gru-cho", "rnn", "mut1", "mut2", "mut3", "nas")

DTYPE = torch.float64


# --------------------------------------------------------------------------- #
# small helpers
# --------------------------------------------------------------------------- #
def _check_name(name):
    if name not in NAMES:
        raise ValueError(f"unknown cell {name!r}; known: {NAMES}")


def _options(name, options):
    """Validate the keyword options for ``name`` and fill in their defaults."""
    _check_name(name)
    allowed = set()
    if name in LSTM_FAMILY:
        allowed = {"forget_bias"}          # initialisation only; ignored here
    elif name in ("mut1", "mut2"):
        allowed = {"project_input"}
    elif name == "nas":
        allowed = {"use_bias"}
    unknown = set(options) - allowed
    if unknown:
        raise TypeError(f"unsupported option(s) for {name!r}: {sorted(unknown)}")
    opts = dict(options)
    if name in ("mut1", "mut2"):
        opts.setdefault("project_input", None)
    if name == "nas":
        opts["use_bias"] = bool(opts.get("use_bias", False))
    return opts


def _projects(M, N, project_input):
    """mut1/mut2: is the input projected (x_hat = P x) or used as is?"""
    if project_input is None:
        return M != N
    if not project_input and M != N:
        raise ValueError(
            f"project_input=False requires M == N (got M={M}, N={N})")
    return bool(project_input)


def _mm(W, v):
    """W @ v for a batch of row vectors v [B, K] with W [N, K] -> [B, N]."""
    return v @ W.T


def _sigmoid(a):
    return 1.0 / (1.0 + torch.exp(-a))


def _identity(a):
    return a


# --------------------------------------------------------------------------- #
# public: layouts, names and counts
# --------------------------------------------------------------------------- #
def state_layout(name):
    _check_name(name)
    if name == "fgr":
        return ("y", "c", "i", "f", "o")
    if name in LSTM_FAMILY:
        return ("y", "c")
    if name == "nas":
        return ("m", "c")
    return ("h",)


def _shapes(name, M, N, **options):
    """Map paper parameter name -> expected shape."""
    opts = _options(name, options)
    inp = (N, M)   # input matrix
    rec = (N, N)   # recurrent matrix
    vec = (N,)     # vector
    s = {}
    if name in LSTM_FAMILY:
        gates = ["z", "i", "f", "o"]
        if name == "nig":
            gates.remove("i")
        if name in ("nfg", "cifg"):
            gates.remove("f")
        if name == "nog":
            gates.remove("o")
        for g in gates:
            s["W_" + g] = inp
            s["R_" + g] = rec
            s["b_" + g] = vec
            if g != "z" and name != "np":
                s["p_" + g] = vec
        if name == "fgr":
            for a in "ifo":
                for b in "ifo":
                    s["R_" + a + b] = rec
    elif name == "gru":
        for g in "rzh":
            s["W_" + g] = inp
            s["R_" + g] = rec
            s["b_" + g] = vec
        s["b_Rh"] = vec
    elif name == "gru-cho":
        for g in "rzh":
            s["W_" + g] = inp
            s["R_" + g] = rec
            s["b_" + g] = vec
    elif name == "rnn":
        s["W"] = inp
        s["R"] = rec
        s["b"] = vec
    elif name == "mut1":
        s.update(W_xz=inp, b_z=vec, W_xr=inp, W_hr=rec, b_r=vec,
                 W_hh=rec, b_h=vec)
        if _projects(M, N, opts["project_input"]):
            s["P"] = inp
    elif name == "mut2":
        s.update(W_xz=inp, W_hz=rec, b_z=vec, W_hr=rec, b_r=vec,
                 W_hh=rec, W_xh=inp, b_h=vec)
        if _projects(M, N, opts["project_input"]):
            s["P"] = inp
    elif name == "mut3":
        s.update(W_xz=inp, W_hz=rec, b_z=vec, W_xr=inp, W_hr=rec, b_r=vec,
                 W_hh=rec, W_xh=inp, b_h=vec)
    elif name == "nas":
        for k in range(8):
            s[f"W_{k}"] = inp
            s[f"U_{k}"] = rec
            if opts["use_bias"]:
                s[f"b_{k}"] = vec
    return s


def expected_param_names(name, M, N, **options):
    return set(_shapes(name, M, N, **options))


def expected_param_count(name, M, N, **options):
    """Analytic trainable-parameter count, from the closed-form formulas."""
    opts = _options(name, options)
    NM, NN = N * M, N * N
    if name in ("lstm", "lstm-b", "niaf", "noaf"):
        return 4 * (NM + NN + N) + 3 * N
    if name in ("nig", "nfg", "nog", "cifg"):
        return 3 * (NM + NN + N) + 2 * N
    if name == "np":
        return 4 * (NM + NN + N)
    if name == "fgr":
        return 4 * (NM + NN + N) + 3 * N + 9 * NN
    if name == "gru":
        return 3 * (NM + NN + N) + N
    if name == "gru-cho":
        return 3 * (NM + NN + N)
    if name == "rnn":
        return NM + NN + N
    if name == "mut1":
        extra = NM if _projects(M, N, opts["project_input"]) else 0
        return 2 * NM + 2 * NN + 3 * N + extra
    if name == "mut2":
        extra = NM if _projects(M, N, opts["project_input"]) else 0
        return 2 * NM + 3 * NN + 3 * N + extra
    if name == "mut3":
        return 3 * (NM + NN + N)
    if name == "nas":
        return 8 * NM + 8 * NN + (8 * N if opts["use_bias"] else 0)
    raise AssertionError(name)


# --------------------------------------------------------------------------- #
# single steps, straight from the equations
# --------------------------------------------------------------------------- #
def _lstm_step(name, p, x, y_, c_, i_, f_, o_):
    """One LSTM-family step.  Trailing underscore = value at t-1."""
    g = _identity if name == "niaf" else torch.tanh
    h = _identity if name == "noaf" else torch.tanh
    peep = name != "np"
    fgr = name == "fgr"
    one = torch.ones_like(c_)

    # block input
    z = g(_mm(p["W_z"], x) + _mm(p["R_z"], y_) + p["b_z"])

    # input gate
    if name == "nig":
        i = one
    else:
        a_i = _mm(p["W_i"], x) + _mm(p["R_i"], y_) + p["b_i"]
        if peep:
            a_i = a_i + p["p_i"] * c_
        if fgr:
            a_i = (a_i + _mm(p["R_ii"], i_) + _mm(p["R_fi"], f_)
                   + _mm(p["R_oi"], o_))
        i = _sigmoid(a_i)

    # forget gate
    if name == "nfg":
        f = one
    elif name == "cifg":
        f = 1.0 - i
    else:
        a_f = _mm(p["W_f"], x) + _mm(p["R_f"], y_) + p["b_f"]
        if peep:
            a_f = a_f + p["p_f"] * c_
        if fgr:
            a_f = (a_f + _mm(p["R_if"], i_) + _mm(p["R_ff"], f_)
                   + _mm(p["R_of"], o_))
        f = _sigmoid(a_f)

    # cell
    c = z * i + c_ * f

    # output gate (peephole sees the NEW cell state c)
    if name == "nog":
        o = one
    else:
        a_o = _mm(p["W_o"], x) + _mm(p["R_o"], y_) + p["b_o"]
        if peep:
            a_o = a_o + p["p_o"] * c
        if fgr:
            a_o = (a_o + _mm(p["R_io"], i_) + _mm(p["R_fo"], f_)
                   + _mm(p["R_oo"], o_))
        o = _sigmoid(a_o)

    # block output
    y = h(c) * o
    return y, c, i, f, o


def _gru_step(p, x, h_):
    r = _sigmoid(_mm(p["W_r"], x) + _mm(p["R_r"], h_) + p["b_r"])
    z = _sigmoid(_mm(p["W_z"], x) + _mm(p["R_z"], h_) + p["b_z"])
    n = torch.tanh(_mm(p["W_h"], x) + p["b_h"]
                   + r * (_mm(p["R_h"], h_) + p["b_Rh"]))
    return (1.0 - z) * n + z * h_


def _gru_cho_step(p, x, h_):
    r = _sigmoid(_mm(p["W_r"], x) + _mm(p["R_r"], h_) + p["b_r"])
    z = _sigmoid(_mm(p["W_z"], x) + _mm(p["R_z"], h_) + p["b_z"])
    h_tilde = torch.tanh(_mm(p["W_h"], x) + _mm(p["R_h"], r * h_) + p["b_h"])
    return (1.0 - z) * h_ + z * h_tilde


def _rnn_step(p, x, h_):
    return torch.tanh(_mm(p["W"], x) + _mm(p["R"], h_) + p["b"])


def _mut1_step(p, x, h_, project):
    x_hat = _mm(p["P"], x) if project else x
    z = _sigmoid(_mm(p["W_xz"], x) + p["b_z"])
    r = _sigmoid(_mm(p["W_xr"], x) + _mm(p["W_hr"], h_) + p["b_r"])
    return (torch.tanh(_mm(p["W_hh"], r * h_) + torch.tanh(x_hat) + p["b_h"]) * z
            + h_ * (1.0 - z))


def _mut2_step(p, x, h_, project):
    x_hat = _mm(p["P"], x) if project else x
    z = _sigmoid(_mm(p["W_xz"], x) + _mm(p["W_hz"], h_) + p["b_z"])
    r = _sigmoid(x_hat + _mm(p["W_hr"], h_) + p["b_r"])
    return (torch.tanh(_mm(p["W_hh"], r * h_) + _mm(p["W_xh"], x) + p["b_h"]) * z
            + h_ * (1.0 - z))


def _mut3_step(p, x, h_):
    z = _sigmoid(_mm(p["W_xz"], x) + _mm(p["W_hz"], torch.tanh(h_)) + p["b_z"])
    r = _sigmoid(_mm(p["W_xr"], x) + _mm(p["W_hr"], h_) + p["b_r"])
    return (torch.tanh(_mm(p["W_hh"], r * h_) + _mm(p["W_xh"], x) + p["b_h"]) * z
            + h_ * (1.0 - z))


def _nas_step(p, x, m_, c_, use_bias):
    A = [_mm(p[f"W_{k}"], x) for k in range(8)]
    B = [_mm(p[f"U_{k}"], m_) for k in range(8)]
    if use_bias:
        B = [B[k] + p[f"b_{k}"] for k in range(8)]
    relu = torch.relu
    tanh = torch.tanh
    # first layer
    l1_0 = _sigmoid(A[0] + B[0])
    l1_1 = relu(A[1] + B[1])
    l1_2 = _sigmoid(A[2] + B[2])
    l1_3 = relu(A[3] * B[3])          # product, not sum
    l1_4 = tanh(A[4] + B[4])
    l1_5 = _sigmoid(A[5] + B[5])
    l1_6 = tanh(A[6] + B[6])
    l1_7 = _sigmoid(A[7] + B[7])
    # second layer
    l2_0 = tanh(l1_0 * l1_1)
    l2_1 = tanh(l1_2 + l1_3)
    l2_2 = tanh(l1_4 * l1_5)
    l2_3 = _sigmoid(l1_6 + l1_7)
    # inject the cell
    l2_0 = tanh(l2_0 + c_)
    # third layer
    c = l2_0 * l2_1
    l3_1 = tanh(l2_2 + l2_3)
    # final layer
    m = tanh(c * l3_1)
    return m, c


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
    opts = _options(name, options)
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
        raise ValueError(
            f"{name!r} params mismatch: missing {missing}, unexpected {extra}")
    p = {}
    for key, shape in shapes.items():
        t = params[key]
        if tuple(t.shape) != shape:
            raise ValueError(
                f"{name!r} param {key!r}: shape {tuple(t.shape)} != {shape}")
        p[key] = t.to(DTYPE)

    # state
    layout = state_layout(name)
    if state is None:
        st = [torch.zeros(B, N, dtype=DTYPE) for _ in layout]
    else:
        st = list(state)
        if len(st) != len(layout):
            raise ValueError(
                f"{name!r} state must have {len(layout)} tensors {layout}, "
                f"got {len(st)}")
        for k, s in zip(layout, st):
            if tuple(s.shape) != (B, N):
                raise ValueError(
                    f"{name!r} state {k!r}: shape {tuple(s.shape)} != {(B, N)}")
        st = [s.to(DTYPE) for s in st]

    ys = []
    for t in range(T):
        x_t = x[t]
        if name in LSTM_FAMILY:
            y_, c_ = st[0], st[1]
            if name == "fgr":
                i_, f_, o_ = st[2], st[3], st[4]
            else:
                i_ = f_ = o_ = None
            y, c, i, f, o = _lstm_step(name, p, x_t, y_, c_, i_, f_, o_)
            st = [y, c, i, f, o] if name == "fgr" else [y, c]
        elif name == "gru":
            st = [_gru_step(p, x_t, st[0])]
        elif name == "gru-cho":
            st = [_gru_cho_step(p, x_t, st[0])]
        elif name == "rnn":
            st = [_rnn_step(p, x_t, st[0])]
        elif name == "mut1":
            st = [_mut1_step(p, x_t, st[0],
                             _projects(M, N, opts["project_input"]))]
        elif name == "mut2":
            st = [_mut2_step(p, x_t, st[0],
                             _projects(M, N, opts["project_input"]))]
        elif name == "mut3":
            st = [_mut3_step(p, x_t, st[0])]
        elif name == "nas":
            m, c = _nas_step(p, x_t, st[0], st[1], opts["use_bias"])
            st = [m, c]
        else:
            raise AssertionError(name)
        ys.append(st[0])

    if ys:
        y = torch.stack(ys, dim=0)
    else:
        y = torch.zeros(0, B, N, dtype=DTYPE)
    return y, tuple(st)
