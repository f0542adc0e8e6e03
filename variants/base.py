"""The contract every recurrent cell keeps, and the pieces cells share.

A cell maps a whole sequence at once: ``y, state = cell(x, state)`` with ``x`` of shape
``[T, B, M]`` and ``y`` of shape ``[T, B, N]``. The state is a tuple of ``[B, N]`` tensors whose
first element is always the output of the last step, so running ``x[:k]`` and then ``x[k:]``
with the returned state equals running ``x`` at once.

Cells keep their weights stacked (one matrix for the input projections of all gates, one for
the recurrent ones) because that is what makes them fast; ``paper_parameters()`` gives the
paper's names for the pieces as views into those stacks.
"""

from __future__ import annotations

import math
from typing import ClassVar

import torch
from torch import Tensor, nn

from variants import native

State = tuple[Tensor, ...]
# paper name -> (attribute holding the nn.Parameter, index selecting the view)
Layout = dict[str, tuple[str, tuple[slice, ...]]]

BACKENDS = ("auto", "generic", "native", "fused")


def rows(attribute: str, names: list[str], size: int) -> Layout:
    """Layout of a parameter stacked from equal blocks of ``size`` rows, one per name."""
    return {n: (attribute, (slice(k * size, (k + 1) * size),)) for k, n in enumerate(names)}


def premultiply(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """Input projections of all T steps as one matmul: ``[T, B, M] -> [T, B, rows]``.

    Hoisting ``W x`` out of the time loop leaves only ``R h`` and the gate arithmetic per step.
    """
    steps, batch, _ = x.shape
    flat = x.reshape(steps * batch, -1)
    out = torch.addmm(bias, flat, weight.t()) if bias is not None else flat @ weight.t()
    return out.view(steps, batch, -1)


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
        if x.dim() != 3 or x.shape[-1] != self.input_size:
            raise ValueError(
                f"{type(self).__name__} expects input of shape [T, B, {self.input_size}], "
                f"got {list(x.shape)}"
            )
        batch = x.shape[1]
        if state is None:
            state = self.init_state(batch, device=x.device, dtype=x.dtype)
        else:
            self._check_state(state, batch)
        if x.shape[0] == 0:
            return x.new_zeros(0, batch, self.hidden_size), tuple(state)
        return self._forward(x, tuple(state))

    def init_state(
        self, batch_size: int, *, device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> State:
        """The all-zero initial state (every element ``[batch_size, hidden_size]``)."""
        if device is None or dtype is None:
            ref = next(self.parameters())
            device = ref.device if device is None else device
            dtype = ref.dtype if dtype is None else dtype
        return tuple(
            torch.zeros(batch_size, self.hidden_size, device=device, dtype=dtype)
            for _ in self.state_names
        )

    def paper_parameters(self) -> dict[str, Tensor]:
        """The paper's parameter names mapped to views into this cell's own parameters.

        Writing into a view (under ``torch.no_grad()``) changes the cell; together the views
        cover every trainable parameter exactly once.
        """
        return {
            name: getattr(self, attribute)[index]
            for name, (attribute, index) in self._paper_layout().items()
        }

    def paper_gradients(self) -> dict[str, Tensor | None]:
        """The gradients of ``paper_parameters()``, as views (``None`` before a backward)."""
        grads = {}
        for name, (attribute, index) in self._paper_layout().items():
            grad = getattr(self, attribute).grad
            grads[name] = None if grad is None else grad[index]
        return grads

    def reset_parameters(self) -> None:
        """Every weight, bias and peephole ~ U(-1/sqrt(N), 1/sqrt(N)), as torch's RNNs do."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        with torch.no_grad():
            for p in self.parameters():
                p.uniform_(-bound, bound)

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}, backend={self.backend!r}"

    # --- for subclasses -----------------------------------------------------------------
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
            raise ValueError(f"{type(self).__name__} has no native kernel; use backend="
                             "'generic' or 'auto'")
        if requested in ("auto", "fused") and fused_exact:
            return "fused"
        if requested in ("auto", "native") and self.has_native_kernel and native.available():
            return "native"
        return "generic"

    def _check_state(self, state: State, batch: int) -> None:
        expected = (batch, self.hidden_size)
        if len(state) != len(self.state_names) or any(
            tuple(s.shape) != expected for s in state
        ):
            raise ValueError(
                f"{type(self).__name__} expects a state of {len(self.state_names)} tensors "
                f"({', '.join(self.state_names)}) of shape {list(expected)}, got "
                f"{[list(s.shape) for s in state]}"
            )
