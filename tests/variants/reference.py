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

DTYPE = torch.float64

# The reference's equations by the cell's class: a registered variant (ours, a preset added in
# one line, a user's subclass of one of these) is computed from its class and its options,
# never from its name, so a new preset needs no entry here.
_KINDS = {"LSTMCell": "lstm", "GRUCell": "gru", "GRUChoCell": "gru-cho", "ElmanCell": "rnn",
          "MUT1Cell": "mut1", "MUT2Cell": "mut2", "MUT3Cell": "mut3", "NASCell": "nas"}
# LSTM options that change the equations (forget_bias and backend do not)
_LSTM_FLAGS = {"input_gate": True, "forget_gate": True, "output_gate": True,
               "peepholes": True, "coupled": False, "input_activation": "tanh",
               "output_activation": "tanh", "gate_recurrence": False}


def describe(name, **options):
    """(kind, options) of variant ``name``: its equations' family, from its class, and its
    preset with ``options`` applied (for the LSTM, its flags)."""
    import variants

    entry = variants.info(name)
    kind = next((_KINDS[c.__name__] for c in entry.builder.__mro__ if c.__name__ in _KINDS),
                None)
    if kind is None:
        raise ValueError(f"no reference for {name!r} (class {entry.builder.__name__})")
    merged = {**entry.preset, **options}
    return kind, _options(kind, merged)


NAMES = tuple(sorted(_KINDS.values()))


# --------------------------------------------------------------------------- #
# small helpers
# --------------------------------------------------------------------------- #
def _options(kind, options):
    """Validate the keyword options for ``kind`` and fill in their defaults."""
    allowed = {"backend"}
    if kind == "lstm":
        allowed |= set(_LSTM_FLAGS) | {"forget_bias"}   # forget_bias: initialisation only
    elif kind in ("mut1", "mut2"):
        allowed |= {"project_input"}
    elif kind == "nas":
        allowed |= {"use_bias"}
    unknown = set(options) - allowed
    if unknown:
        raise TypeError(f"unsupported option(s) for {kind!r}: {sorted(unknown)}")
    opts = {k: v for k, v in options.items() if k not in ("backend", "forget_bias")}
    if kind == "lstm":
        opts = {**_LSTM_FLAGS, **opts}
    if kind in ("mut1", "mut2"):
        opts.setdefault("project_input", None)
    if kind == "nas":
        opts["use_bias"] = bool(opts.get("use_bias", False))
    return opts


def _own_gates(opts):
    """The LSTM gates with their own parameters: i, f (unless coupled to i), o."""
    return ([g for g, on in (("i", opts["input_gate"]),
                             ("f", opts["forget_gate"] and not opts["coupled"]),
                             ("o", opts["output_gate"])) if on])


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
def state_layout(name, **options):
    kind, opts = describe(name, **options)
    if kind == "lstm" and opts["gate_recurrence"]:
        return ("y", "c", "i", "f", "o")
    if kind == "lstm":
        return ("y", "c")
    if kind == "nas":
        return ("m", "c")
    return ("h",)


def _shapes(name, M, N, **options):
    """Map paper parameter name -> expected shape."""
    kind, opts = describe(name, **options)
    inp = (N, M)   # input matrix
    rec = (N, N)   # recurrent matrix
    vec = (N,)     # vector
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
        s.update(W_xz=inp, b_z=vec, W_xr=inp, W_hr=rec, b_r=vec,
                 W_hh=rec, b_h=vec)
        if _projects(M, N, opts["project_input"]):
            s["P"] = inp
    elif kind == "mut2":
        s.update(W_xz=inp, W_hz=rec, b_z=vec, W_hr=rec, b_r=vec,
                 W_hh=rec, W_xh=inp, b_h=vec)
        if _projects(M, N, opts["project_input"]):
            s["P"] = inp
    elif kind == "mut3":
        s.update(W_xz=inp, W_hz=rec, b_z=vec, W_xr=inp, W_hr=rec, b_r=vec,
                 W_hh=rec, W_xh=inp, b_h=vec)
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
        return ((1 + own) * block + (own * N if opts["peepholes"] else 0)
                + (9 * NN if opts["gate_recurrence"] else 0))
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
# single steps, straight from the equations
# --------------------------------------------------------------------------- #
def _lstm_step(opts, p, x, y_, c_, i_, f_, o_):
    """One LSTM-family step.  Trailing underscore = value at t-1."""
    g = _identity if opts["input_activation"] == "identity" else torch.tanh
    h = _identity if opts["output_activation"] == "identity" else torch.tanh
    peep = opts["peepholes"]
    fgr = opts["gate_recurrence"]
    one = torch.ones_like(c_)

    # block input
    z = g(_mm(p["W_z"], x) + _mm(p["R_z"], y_) + p["b_z"])

    # input gate
    if not opts["input_gate"]:
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
    if opts["coupled"]:
        f = 1.0 - i
    elif not opts["forget_gate"]:
        f = one
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
    if not opts["output_gate"]:
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
    kind, opts = describe(name, **options)
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
    layout = state_layout(name, **options)
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
        if kind == "lstm":
            y_, c_ = st[0], st[1]
            recurrent = opts["gate_recurrence"]
            i_, f_, o_ = (st[2], st[3], st[4]) if recurrent else (None, None, None)
            y, c, i, f, o = _lstm_step(opts, p, x_t, y_, c_, i_, f_, o_)
            st = [y, c, i, f, o] if recurrent else [y, c]
        elif kind == "gru":
            st = [_gru_step(p, x_t, st[0])]
        elif kind == "gru-cho":
            st = [_gru_cho_step(p, x_t, st[0])]
        elif kind == "rnn":
            st = [_rnn_step(p, x_t, st[0])]
        elif kind == "mut1":
            st = [_mut1_step(p, x_t, st[0],
                             _projects(M, N, opts["project_input"]))]
        elif kind == "mut2":
            st = [_mut2_step(p, x_t, st[0],
                             _projects(M, N, opts["project_input"]))]
        elif kind == "mut3":
            st = [_mut3_step(p, x_t, st[0])]
        elif kind == "nas":
            m, c = _nas_step(p, x_t, st[0], st[1], opts["use_bias"])
            st = [m, c]
        else:
            raise AssertionError(kind)
        ys.append(st[0])

    if ys:
        y = torch.stack(ys, dim=0)
    else:
        y = torch.zeros(0, B, N, dtype=DTYPE)
    return y, tuple(st)
