"""Naive, step-by-step float64 reference ("oracle") for the recurrent cells.

The equations are written directly from the papers, with one explicit matmul per paper
parameter, and each cell class declares them (``Cell.paper``: ``variants/paper.py``; the
built-in families' steps are in ``variants/equations.py``); the probe ``variants.probe`` runs
the same steps to show a trained cell's gates, so the equations exist once. Nothing is
stacked, fused or vectorised over time: every time step is computed on its own in a Python
loop, so each line can be checked against the equations by eye. It is slow on purpose. This
module adds what only the tests need: the expected parameter names, shapes and counts, as
the cell's class declares them, and the strict check of the parameters handed to
``reference``.

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

Only ``torch``, the standard library, ``variants.paper`` and ``variants.probe`` are used.
"""

import torch

from variants import probe
from variants.paper import paper_of

__all__ = [
    "reference",
    "state_layout",
    "expected_param_count",
    "expected_param_names",
]

DTYPE = torch.float64


# --------------------------------------------------------------------------- #
# public: layouts, names and counts, as the cell's class declares them
# --------------------------------------------------------------------------- #
def state_layout(name, M=3, N=4, **options):
    return paper_of(name, M, N, **options).state


def _shapes(name, M, N, **options):
    """Map paper parameter name -> expected shape."""
    return dict(paper_of(name, M, N, **options).shapes)


def expected_param_names(name, M, N, **options):
    return set(_shapes(name, M, N, **options))


def expected_param_count(name, M, N, **options):
    """The trainable scalars of the declared paper parameters (the built-in families'
    closed-form counts are checked by hand in ``test_counts.py``)."""
    return paper_of(name, M, N, **options).count()


# --------------------------------------------------------------------------- #
# public: the reference
# --------------------------------------------------------------------------- #
def _infer_N(name, params):
    """N, from any parameter: every paper parameter has N rows."""
    if not params:
        raise ValueError(f"no paper parameters given for {name!r}")
    return int(next(iter(params.values())).shape[0])


def reference(name, params, x, state=None, **options):
    """Run cell ``name`` over ``x`` [T, B, M]; return (y [T, B, N], state)."""
    if x.dim() != 3:
        raise ValueError(f"x must be [T, B, M], got shape {tuple(x.shape)}")
    x = x.to(DTYPE)
    T, B, M = x.shape
    N = _infer_N(name, params)

    # parameters: exact names, exact shapes, float64
    shapes = _shapes(name, M, N, **options)  # an unknown class or option fails here
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
    layout = state_layout(name, M, N, **options)
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
