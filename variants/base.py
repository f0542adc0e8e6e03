"""The contract every recurrent cell keeps, and the pieces cells share.

A cell maps a whole sequence at once: ``y, state = cell(x, state)`` with ``x`` of shape
``[T, B, M]`` and ``y`` of shape ``[T, B, N]``. The state is a tuple of ``[B, N]`` tensors whose
first element is always the output of the last step, so running ``x[:k]`` and then ``x[k:]``
with the returned state equals running ``x`` at once.

Cells keep their weights stacked (one matrix for the input projections of all gates, one for
the recurrent ones) because that is what makes them fast; ``paper_parameters()`` gives the
paper's names for the pieces as views into those stacks.

Trials: ``stack(cells)`` turns K cells of one configuration into one cell whose parameters
have a leading trial dimension K; it maps ``[T, K, B, M]`` to ``[T, K, B, N]`` with states of
``[K, B, N]``, trial k computing exactly what cell k computes. Population training uses it to
run K small trials as one model.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from dataclasses import is_dataclass
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from variants import native
from variants.paper import Paper

State = tuple[Tensor, ...]
# paper name -> (attribute holding the nn.Parameter, index selecting the view)
Layout = dict[str, tuple[str, tuple[slice, ...]]]

BACKENDS = ("auto", "generic", "native", "fused")


def rows(attribute: str, names: list[str], size: int) -> Layout:
    """Layout of a parameter stacked from equal blocks of ``size`` rows, one per name."""
    return {n: (attribute, (slice(k * size, (k + 1) * size),)) for k, n in enumerate(names)}


def premultiply(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """Input projections of all T steps as one product: ``[T, K, B, M] -> [T, K, B, rows]``
    with ``weight`` ``[K, rows, M]`` and ``bias`` ``[K, rows]`` (K trials; K = 1 for a cell).

    Hoisting ``W x`` out of the time loop leaves only ``R h`` and the gate arithmetic per step.
    """
    steps, trials, batch, m = x.shape
    if trials == 1:  # one plain product
        flat = x.reshape(steps * batch, m)
        out = (
            torch.addmm(bias[0], flat, weight[0].t()) if bias is not None else flat @ weight[0].t()
        )
        return out.view(steps, 1, batch, -1)
    out = torch.matmul(x, weight.transpose(1, 2))
    return out + bias.unsqueeze(1) if bias is not None else out


class RecurrentCell(nn.Module):
    """Base class of all registered cells.

    Subclasses set ``state_names``, implement ``_forward(x, state)`` and ``_paper_layout()``,
    and create their parameters in ``__init__`` before calling ``reset_parameters()``.
    """

    state_names: tuple[str, ...] = ("h",)
    #: True for cells that can run on one of torch's fused kernels (nn.LSTM/GRU/RNN).
    has_fused_kernel: ClassVar[bool] = False
    #: True for cells with a ``native`` backend: C kernels for the elementwise step and a
    #: hand-written backward through time (``generic`` is the step-by-step torch loop).
    has_native_kernel: ClassVar[bool] = False
    #: On the CPU, whether ``auto`` takes the native kernels even where torch's fused kernel
    #: is exact (it does where they are faster: torch's GRU and RNN are not fused on the CPU)
    prefer_native: ClassVar[bool] = True
    #: True for cells whose ``_forward`` takes a leading trial dimension (``x`` ``[T, K, B,
    #: M]``, states ``[K, B, N]``, parameters through ``param()``), so that ``stack`` works;
    #: ``_forward`` of other cells gets ``[T, B, M]`` and ``[B, N]``.
    supports_trials: ClassVar[bool] = False
    #: K for a stack of K trials (``stack``), None for a single cell
    trials: int | None = None

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__()
        for label, value in (("input_size", input_size), ("hidden_size", hidden_size)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{label} must be a positive integer, got {value!r}")
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.backend = "generic"

    # --- the contract -----------------------------------------------------------------
    def forward(self, x: Tensor, state: State | None = None) -> tuple[Tensor, State]:
        lead = self._lead()
        if (
            x.dim() != 3 + len(lead)
            or x.shape[-1] != self.input_size
            or tuple(x.shape[1 : 1 + len(lead)]) != lead
        ):
            shape = ", ".join(["T", *map(str, lead), "B", str(self.input_size)])
            raise ValueError(
                f"{type(self).__name__} expects input of shape [{shape}], got {list(x.shape)}"
            )
        batch = x.shape[-2]
        if state is None:
            state = self.init_state(batch, device=x.device, dtype=x.dtype)
        else:
            self._check_state(state, batch)
        if x.shape[0] == 0:
            return x.new_zeros(0, *lead, batch, self.hidden_size), tuple(state)
        if lead and not self.supports_trials:  # a stack of one cell without trial support
            return self._as_single(x, tuple(state))
        if not self.supports_trials or lead:
            return self._forward(x, tuple(state))
        y, new = self._forward(x.unsqueeze(1), tuple(s.unsqueeze(0) for s in state))
        return y.squeeze(1), tuple(s.squeeze(0) for s in new)

    def _as_single(self, x: Tensor, state: State) -> tuple[Tensor, State]:
        """Run a stack of one as the cell it was: its own ``_forward`` on trial 0's views."""
        self.trials = None
        try:
            params = {n: p[0] for n, p in self.named_parameters()}
            y, new = torch.func.functional_call(self, params, (x[:, 0], tuple(s[0] for s in state)))
        finally:
            self.trials = 1
        return y.unsqueeze(1), tuple(s.unsqueeze(0) for s in new)

    def param(self, name: str) -> Tensor:
        """Parameter ``name`` with a leading trial dimension (a view of size 1 for a cell)."""
        p = getattr(self, name)
        return p if self.trials is not None else p.unsqueeze(0)

    def init_state(
        self,
        batch_size: int,
        *,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> State:
        """The all-zero initial state (every element ``[batch_size, hidden_size]``)."""
        if device is None or dtype is None:
            ref = next(self.parameters())
            device = ref.device if device is None else device
            dtype = ref.dtype if dtype is None else dtype
        return tuple(
            torch.zeros(*self._lead(), batch_size, self.hidden_size, device=device, dtype=dtype)
            for _ in self.state_names
        )

    def paper_parameters(self) -> dict[str, Tensor]:
        """The paper's parameter names mapped to views into this cell's own parameters.

        Writing into a view (under ``torch.no_grad()``) changes the cell; together the views
        cover every trainable parameter exactly once.
        """
        lead = (slice(None),) * len(self._lead())
        return {
            name: getattr(self, attribute)[lead + index]
            for name, (attribute, index) in self._paper_layout().items()
        }

    def paper_gradients(self) -> dict[str, Tensor | None]:
        """The gradients of ``paper_parameters()``, as views (``None`` before a backward)."""
        grads = {}
        lead = (slice(None),) * len(self._lead())
        for name, (attribute, index) in self._paper_layout().items():
            grad = getattr(self, attribute).grad
            grads[name] = None if grad is None else grad[lead + index]
        return grads

    def reset_parameters(self) -> None:
        """Every weight, bias and peephole ~ U(-1/sqrt(N), 1/sqrt(N)), as torch's RNNs do."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        with torch.no_grad():
            for p in self.parameters():
                p.uniform_(-bound, bound)

    def extra_repr(self) -> str:
        trials = f", trials={self.trials}" if self.trials is not None else ""
        return f"{self.input_size}, {self.hidden_size}, backend={self.backend!r}{trials}"

    def _lead(self) -> tuple[int, ...]:
        return () if self.trials is None else (self.trials,)

    # --- for subclasses -----------------------------------------------------------------
    @classmethod
    def paper(cls, input_size: int, hidden_size: int, **options: Any) -> Paper:
        """The family's paper equations, gates, state and parameter shapes for these sizes
        and options (``variants.paper.Paper``): what the float64 oracle, the probe and the
        registry-wide tests check the cell against. ``backend`` and options that only
        initialise (an LSTM's ``forget_bias``) come in too, and change nothing here."""
        raise NotImplementedError(f"{cls.__name__} declares no paper equations (classmethod paper)")

    def _forward(self, x: Tensor, state: State) -> tuple[Tensor, State]:
        raise NotImplementedError

    def _paper_layout(self) -> Layout:
        raise NotImplementedError

    def _choose_backend(self, requested: str, fused_exact: bool) -> str:
        """Resolve ``backend``: ``auto`` takes torch's fused kernel exactly where it is exact."""
        if requested not in BACKENDS:
            raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got {requested!r}")
        if requested == "fused" and not fused_exact:
            raise ValueError(
                f"backend='fused' is not exact for this {type(self).__name__} configuration "
                "(torch's fused kernels have no peepholes, coupling, missing gates, "
                "gate recurrence or other activations); use backend='generic' or 'auto'"
            )
        if requested == "native" and not self.has_native_kernel:
            raise ValueError(
                f"{type(self).__name__} has no native kernel; use backend='generic' or 'auto'"
            )
        self._fused_exact = fused_exact
        kernels = self.has_native_kernel and native.possible()  # compiled at the first call
        if requested == "auto":
            if kernels and (self.prefer_native or not fused_exact):
                return "native"
            return "fused" if fused_exact else "generic"
        if requested == "native" and not kernels:  # no compiler: the next best
            return "fused" if fused_exact else "generic"
        return requested

    def runs_on(self, x: Tensor) -> str:
        """What a call on ``x`` runs: the backend, except that the native kernels take only
        float32/float64 on the CPU; elsewhere (a GPU, bfloat16) the cell runs torch's fused
        kernel where it is exact (cuDNN on a GPU), else its torch loop."""
        if self.backend == "native" and not native.usable(x):
            return (
                "fused"
                if getattr(self, "_fused_exact", False) and self.trials in (None, 1)
                else "generic"
            )
        return self.backend

    def _check_state(self, state: State, batch: int) -> None:
        expected = (*self._lead(), batch, self.hidden_size)
        if len(state) != len(self.state_names) or any(tuple(s.shape) != expected for s in state):
            raise ValueError(
                f"{type(self).__name__} expects a state of {len(self.state_names)} tensors "
                f"({', '.join(self.state_names)}) of shape {list(expected)}, got "
                f"{[list(s.shape) for s in state]}"
            )


class ProductCell(RecurrentCell):
    """A cell whose ``gates`` blocks of N rows read the input through one product W x + b
    and the state through one product R h' (the Elman and GRU families): ``weight_x``
    (gates·N × M), ``weight_h`` (gates·N × N), ``bias`` (gates·N), and whatever
    ``_more_parameters`` adds. The native kernels run them; ``auto`` takes torch's fused
    kernel only where ``has_fused_kernel`` says it computes the same equations."""

    gates: ClassVar[int] = 1
    has_native_kernel = True
    supports_trials = True

    def __init__(self, input_size: int, hidden_size: int, *, backend: str = "auto") -> None:
        super().__init__(input_size, hidden_size)
        self.backend = self._choose_backend(backend, self.has_fused_kernel)
        rows = self.gates * hidden_size
        self.weight_x = nn.Parameter(torch.empty(rows, input_size))
        self.weight_h = nn.Parameter(torch.empty(rows, hidden_size))
        self.bias = nn.Parameter(torch.empty(rows))
        self._more_parameters()
        self.reset_parameters()

    def _more_parameters(self) -> None:
        """Parameters beyond W, R and b (none here)."""


def stack(cells: Sequence[RecurrentCell]) -> RecurrentCell:
    """One cell computing K trials at once: trial k has cell k's parameters (copied, stacked
    along a new leading dimension). The cells must be one variant with one configuration.
    Stacks of several run on the native kernels where there are, else on the torch loop
    (torch's fused kernels take one set of weights); a stack of one runs as its cell (also a
    cell without ``supports_trials``)."""
    first = cells[0]
    if not first.supports_trials and len(cells) > 1:
        raise ValueError(
            f"{type(first).__name__} cannot stack trials (supports_trials is "
            "False); train its trials one at a time"
        )
    if any(c.trials is not None for c in cells):
        raise ValueError("stack() takes single cells, not stacks")
    names = [n for n, _ in first.named_parameters()]
    for other in cells[1:]:
        if type(other) is not type(first) or _configuration(other) != _configuration(first):
            raise ValueError("stack() needs cells of one variant, size and configuration")
    out = copy.deepcopy(first)
    with torch.no_grad():
        for name in names:
            owner, _, attribute = name.rpartition(".")
            module = out.get_submodule(owner) if owner else out
            setattr(
                module,
                attribute,
                nn.Parameter(torch.stack([c.get_parameter(name).detach() for c in cells])),
            )
    out.trials = len(cells)
    if out.backend == "fused" and len(cells) > 1:
        out.backend = "native" if out.has_native_kernel and native.possible() else "generic"
    return out


def _configuration(cell: RecurrentCell) -> tuple:
    """What must agree between stacked cells: parameter shapes and the plain settings."""
    plain = (int, float, str, bool, tuple, type(None))
    settings = {
        k: v
        for k, v in vars(cell).items()
        if not k.startswith("_") and (isinstance(v, plain) or is_dataclass(v))
    }
    return tuple((n, p.shape) for n, p in cell.named_parameters()), sorted(
        settings.items(), key=str
    )
