"""The native kernels (C, with a hand-written backward through time) against the torch loop
of the same equations, on longer sequences than the gradcheck uses, final state included."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import torch

import variants
from tests.variants.helpers import NATIVE, make, random_state, randomize
from variants import native


def test_the_kernels_compile_on_this_machine() -> None:
    # Without them every cell silently falls back to its torch loop, several times slower:
    # on a machine with a C compiler that is a performance bug, not a fallback.
    assert native.available(), native.status()
    assert all(variants.build(n, 3, 4).backend in ("native", "fused") for n in NATIVE)


@pytest.mark.parametrize("name", NATIVE)
def test_native_matches_the_torch_loop_in_values_and_every_gradient(name: str) -> None:
    slow = make(name, "generic", 3, 5).double()
    randomize(slow)
    fast = copy.deepcopy(slow)
    fast.backend = "native"
    x = torch.randn(9, 4, 3, dtype=torch.float64, requires_grad=True)
    state = tuple(s.requires_grad_() for s in random_state(slow, 4, torch.float64))
    weights = torch.randn(5, dtype=torch.float64)
    results = []
    for cell in (slow, fast):
        y, final = cell(x, state)
        # a loss on every output and on every part of the final state
        loss = (y * weights).sum() + sum((s**2).sum() * (k + 1) for k, s in enumerate(final))
        grads = torch.autograd.grad(loss, [x, *state, *cell.parameters()])
        results.append([y, *final, *grads])
    for a, b in zip(*results):
        torch.testing.assert_close(b, a, rtol=1e-10, atol=1e-12)


def test_native_keeps_the_weight_gradients_exact_in_float32_training() -> None:
    torch.manual_seed(1)
    slow = variants.build("lstm", 8, 16, backend="generic")
    fast = copy.deepcopy(slow)
    fast.backend = "native"
    x = torch.randn(40, 6, 8)
    for cell in (slow, fast):
        y, _ = cell(x)
        y.pow(2).mean().backward()
    for (name, a), b in zip(slow.named_parameters(), fast.parameters()):
        torch.testing.assert_close(b.grad, a.grad, rtol=1e-4, atol=1e-6, msg=name)


def test_without_a_compiler_cells_fall_back_to_the_torch_loop(tmp_path, monkeypatch) -> None:
    # A fresh process with no compiler on PATH and an empty cache: the cell still builds,
    # says it runs the torch loop, and computes the same numbers.
    import subprocess
    import sys

    env = {
        "PATH": str(tmp_path),
        "HARNESS_CACHE": str(tmp_path / "cache"),
        "CC": "",
        "HOME": str(tmp_path),
    }
    code = (
        "import torch, variants; from variants import native; "
        "c = variants.build('lstm', 3, 4); print(c.backend, native.available()); "
        "print(native.status())"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert out[0] == "generic False"
    assert "no C compiler" in out[1]


def test_without_a_blas_the_cells_run_their_torch_loops(monkeypatch) -> None:
    # The time loops call a BLAS gemm found at run time; where none is found the kernels
    # are not used, and a cell computes the same numbers on its torch loop.
    torch.manual_seed(0)
    cell = variants.build("lstm", 3, 4)
    x = torch.randn(6, 2, 3)
    expected, _ = cell(x)
    assert cell.runs_on(x) == "native"
    monkeypatch.setattr(native, "gemm", lambda dtype: None)
    assert not native.available()
    assert cell.runs_on(x) == "generic"
    torch.testing.assert_close(cell(x)[0], expected, rtol=1e-5, atol=1e-6)


def test_the_blas_is_torch_own() -> None:
    # torch's wheels export the Fortran gemm (MKL on x86, OpenBLAS on ARM): no system BLAS is
    # needed, and the kernels multiply with the library torch itself uses
    assert native.gemm(torch.float32) and native.gemm(torch.float64)
    assert "libtorch_cpu" in native._blas_candidates()[0]


def test_the_structs_are_checked_against_the_library() -> None:
    import ctypes

    from variants import gru_native, lstm_native

    lib = native.library()
    native.check_layout(lib, lstm_native._Step, "lstm_step")  # as they are: they match
    native.check_layout(lib, gru_native._Step, "gru_step")

    class Swapped(ctypes.Structure):  # two fields in the wrong order
        _fields_ = [
            (n, t) for n, t in lstm_native._Step._fields_[:2][::-1]
        ] + lstm_native._Step._fields_[2:]

    class Wide(ctypes.Structure):  # the right names, one of the wrong width
        _fields_ = [
            (n, ctypes.c_long if n == "flags" else t) for n, t in lstm_native._Step._fields_
        ]

    with pytest.raises(native.LayoutError, match=r"struct lstm_step: fields \['k', 'b'"):
        native.check_layout(lib, Swapped, "lstm_step")
    with pytest.raises(native.LayoutError, match="field flags at byte 28 in C, 32 in ctypes"):
        native.check_layout(lib, Wide, "lstm_step")
    with pytest.raises(native.LayoutError, match=r"lstm_flags: \(1, 2, 4, 8\) in C"):
        native.check_constants("lstm_flags", (1, 2, 8, 4))


def test_the_compiler_runs_at_the_first_kernel_call_and_its_version_keys_the_cache(
    tmp_path,
) -> None:
    """A compiler that logs its calls: building cells (and ``harness list``) runs it not at
    all; the first kernel call compiles once; another compiler version builds anew."""
    import os
    import shutil
    import subprocess
    import sys

    real = shutil.which("cc") or shutil.which("gcc")
    log = tmp_path / "calls.log"
    wrapper = tmp_path / "bin" / "cc"
    wrapper.parent.mkdir()
    wrapper.write_text(
        f'#!/bin/sh\necho "$@" >> {log}\n'
        f'if [ "$1" = --version ]; then echo "logging-cc $CC_VERSION"; exit 0; '
        f'fi\nexec {real} "$@"\n'
    )
    wrapper.chmod(0o755)
    env = {
        **os.environ,
        "PATH": f"{wrapper.parent}{os.pathsep}{os.environ['PATH']}",
        "CC": str(wrapper),
        "HARNESS_CACHE": str(tmp_path / "cache"),
        "PYTHONPATH": str(Path(__file__).parents[2]),
        "CC_VERSION": "1",
    }
    build = (
        "import variants; cells = [variants.build(n, 3, 4) for n in variants.names()]; "
        "print(sorted({c.backend for c in cells}))"
    )
    built = subprocess.run(
        [sys.executable, "-c", build], env=env, capture_output=True, text=True, check=True
    )
    assert "native" in built.stdout
    subprocess.run(
        [sys.executable, "-m", "harness", "list"], env=env, capture_output=True, check=True
    )
    assert not log.exists()  # nothing compiled, not even asked its version
    call = (
        "import torch, variants; variants.build('lstm', 3, 4)(torch.randn(2, 1, 3)); "
        "variants.build('gru', 3, 4)(torch.randn(2, 1, 3))"
    )
    subprocess.run([sys.executable, "-c", call], env=env, check=True)
    compiles = [line for line in log.read_text().splitlines() if "-shared" in line]
    assert len(compiles) == 1 and len(list((tmp_path / "cache").glob("kernels-*.so"))) == 1
    subprocess.run([sys.executable, "-c", call], env={**env, "CC_VERSION": "2"}, check=True)
    assert len(list((tmp_path / "cache").glob("kernels-*.so"))) == 2
