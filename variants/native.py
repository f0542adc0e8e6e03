"""The C kernels in ``variants/kernels``: compiled once per machine, loaded with ctypes.

A recurrent step does one matrix product and a dozen elementwise operations on small
tensors, each of which costs torch several microseconds of dispatch whatever its size. A
kernel runs a cell's whole time loop in one call, forward or backward through time: each
step's product through torch's own BLAS (``gemm``, called from C), then the step's gate
arithmetic in one loop the compiler vectorises (glibc's libmvec gives vector exp and tanh
in double; float has its own, ``kernels/common.h``). Rows and trials never meet, so a call
shares them among OpenMP threads (``FOR_UNITS`` in ``common.h``).

The library is built with the system C compiler (``$CC``, else ``cc``/``gcc``) into a cache
folder (``$HARNESS_CACHE``, else the per-user cache, ``~/.cache/rnn-harness`` on Linux)
under a name that hashes the sources, flags, the compiler's name and version and the CPU,
so each machine compiles once (a few seconds) and later processes load the file. Nothing is
compiled when a cell is built (``harness list`` never runs the compiler): the first kernel
call does it. Where no compiler works, or no BLAS is found, the cells use their
step-by-step torch loops; ``status()`` says why.

Before a kernel is first bound (``kernel``), the library's own description of each struct it
takes (field names, offsets, size, from the same list that declares the struct in
``kernels/cells.c``) is compared with the ctypes side; a mismatch is an error that names
the field, never a silent misread of memory.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import hashlib
import logging
import os
import platform
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from functools import cache, lru_cache
from pathlib import Path

import platformdirs
import torch

log = logging.getLogger(__name__)

SOURCES = Path(__file__).parent / "kernels"
BASE_FLAGS = ("-O3", "-std=c99", "-fPIC", "-shared", "-fno-math-errno", "-fno-trapping-math")
_state: dict[str, object] = {"error": None, "seconds": 0.0, "path": None}


def cache_dir() -> Path:
    """``$HARNESS_CACHE``, else the per-user cache folder platformdirs gives (it honours
    ``XDG_CACHE_HOME``; ``~/.cache/rnn-harness`` on Linux)."""
    root = os.environ.get("HARNESS_CACHE")
    return Path(root) if root else Path(platformdirs.user_cache_dir("rnn-harness", appauthor=False))


def _compiler() -> str | None:
    for name in (os.environ.get("CC"), "cc", "gcc", "clang"):
        if name and shutil.which(name):
            return name
    return None


def _flag_sets() -> list[tuple[str, ...]]:
    """The flags to try, best first: this CPU's own instruction set (the file is per machine:
    its name hashes the CPU's description, so a shared cache folder never hands it to
    another CPU) and OpenMP (a sequence's rows and trials shared among torch's threads);
    then without ``-march=native``, which some compilers lack; then without OpenMP, which
    some lack too (Apple's clang): slower, never wrong."""
    vector = ("-march=native",)
    fallback = _avx2_flags()
    return [
        (*BASE_FLAGS, *vector, "-fopenmp"),
        (*BASE_FLAGS, *fallback, "-fopenmp"),
        (*BASE_FLAGS, *fallback),
    ]


def _cpu_description() -> str:
    """What distinguishes this CPU's instruction set (its model and feature flags)."""
    try:
        info = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor()
    lines = info.splitlines()
    return "".join(
        next((line for line in lines if line.startswith(key)), "")
        for key in ("model name", "flags")
    )


def _avx2_flags() -> tuple[str, ...]:
    """AVX2 and FMA where this x86 CPU has them."""
    if platform.machine() not in ("x86_64", "AMD64"):
        return ()
    words = set(_cpu_description().split())
    return ("-mavx2", "-mfma") if {"avx2", "fma"} <= words else ()


def _sources() -> list[Path]:
    return sorted(p for p in SOURCES.iterdir() if p.suffix in (".c", ".h"))


def possible() -> bool:
    """Whether the kernels can be used here without trying: not disabled and a compiler on
    the PATH. (Cells built where this holds pick the native backend; the first call
    compiles, and falls back to the torch loop should that fail.)"""
    return os.environ.get("HARNESS_NATIVE", "1") != "0" and _compiler() is not None


@cache
def _compiler_version(compiler: str) -> str:
    """The first line of ``COMPILER --version``: a new compiler builds a new library."""
    try:
        out = subprocess.run([compiler, "--version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    text = (out.stdout or out.stderr).strip()
    return text.splitlines()[0] if text else "unknown"


@lru_cache(maxsize=1)
def library() -> ctypes.CDLL | None:
    """The kernels, compiled if this machine has not done so yet; ``None`` if impossible."""
    if os.environ.get("HARNESS_NATIVE", "1") == "0":
        _state["error"] = "disabled by HARNESS_NATIVE=0"
        return None
    compiler = _compiler()
    if compiler is None:
        _state["error"] = "no C compiler found (set CC)"
        log.warning("native kernels unavailable: %s; cells use torch loops", _state["error"])
        return None
    flag_sets = _flag_sets()
    digest = hashlib.sha256()
    for path in _sources():
        digest.update(path.name.encode() + path.read_bytes())
    digest.update(
        " ".join(
            (
                compiler,
                _compiler_version(compiler),
                *flag_sets[0],
                platform.machine(),
                _cpu_description(),
            )
        ).encode()
    )
    target = cache_dir() / f"kernels-{digest.hexdigest()[:16]}.so"
    try:
        if not target.exists():
            _compile(compiler, flag_sets, target)
        lib = ctypes.CDLL(str(target))
    except (OSError, subprocess.CalledProcessError) as error:
        detail = getattr(error, "stderr", None) or str(error)
        _state["error"] = f"compiling the kernels failed: {str(detail).strip()[:300]}"
        log.warning("native kernels unavailable: %s; cells use torch loops", _state["error"])
        return None
    _state["path"] = str(target)
    return lib


def _compile(compiler: str, flag_sets: list[tuple[str, ...]], target: Path) -> None:
    """Compile with the first set of flags that works into a temporary file, then rename:
    processes racing here all succeed. The last failure is raised."""
    begin = time.perf_counter()
    target.parent.mkdir(parents=True, exist_ok=True)
    sources = [str(p) for p in _sources() if p.suffix == ".c"]
    handle, temporary = tempfile.mkstemp(suffix=".so", dir=target.parent)
    os.close(handle)
    try:
        for attempt, flags in enumerate(flag_sets):
            try:
                subprocess.run(
                    [compiler, *flags, "-o", temporary, *sources, "-lm"],
                    check=True,
                    capture_output=True,
                    text=True,
                    timeout=120,
                )
                break
            except subprocess.CalledProcessError:
                if attempt == len(flag_sets) - 1:
                    raise
        os.replace(temporary, target)
        _state["flags"] = " ".join(flags)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    _state["seconds"] = time.perf_counter() - begin
    log.info(
        "compiled the native kernels in %.1f s with %s into %s",
        _state["seconds"],
        _state["flags"],
        target,
    )


@cache
def gemm(dtype: torch.dtype) -> int | None:
    """Address of the BLAS ``sgemm_``/``dgemm_`` the kernels' time loops call: torch's own
    (MKL in the x86 wheels, OpenBLAS or Accelerate elsewhere export it too), else a system
    BLAS; None where none is found (the cells then run their torch loops)."""
    symbol = "sgemm_" if dtype == torch.float32 else "dgemm_"
    for path in _blas_candidates():
        try:
            return ctypes.cast(getattr(ctypes.CDLL(path), symbol), ctypes.c_void_p).value
        except (OSError, AttributeError):
            continue
    _state["error"] = f"no BLAS {symbol} found in torch's libraries or the system's"
    return None


def _blas_candidates() -> list[str]:
    torch_lib = Path(torch.__file__).parent / "lib"
    ours = sorted(str(p) for p in torch_lib.glob("libtorch_cpu*"))
    system = [ctypes.util.find_library(name) for name in ("openblas", "blas")]
    return ours + [p for p in system if p]


def available() -> bool:
    """The kernels are compiled and a BLAS is there for their time loops."""
    return library() is not None and gemm(torch.float32) is not None


def usable(x: torch.Tensor) -> bool:
    """The kernels take float32 and float64 tensors in the CPU's memory."""
    return x.device.type == "cpu" and x.dtype in (torch.float32, torch.float64) and available()


def status() -> str:
    """One line: where the kernels come from, or why there are none."""
    if not available():
        return f"native kernels unavailable ({_state['error']})"
    built = f", compiled here in {_state['seconds']:.1f} s" if _state["seconds"] else ""
    return f"native kernels from {_state['path']}{built}"


# --- binding kernels, after checking the structs they take ----------------------------


class LayoutError(RuntimeError):
    """The ctypes side of a struct does not match the C side (the message says where)."""


def check_layout(lib: ctypes.CDLL, struct: type[ctypes.Structure], name: str) -> None:
    """Compare ``struct`` with the library's table of ``struct NAME`` (names, offsets, size)."""
    start = ctypes.addressof(ctypes.c_char.in_dll(lib, f"{name}_names"))
    c_names = (ctypes.cast(start, ctypes.c_char_p).value or b"").decode().split()
    ours = [field[0] for field in struct._fields_]
    if c_names != ours:
        raise LayoutError(f"struct {name}: fields {c_names} in C, {ours} in ctypes")
    offsets = (ctypes.c_long * len(ours)).in_dll(lib, f"{name}_offsets")
    for field, offset in zip(ours, offsets):
        if getattr(struct, field).offset != offset:
            raise LayoutError(
                f"struct {name}: field {field} at byte {offset} in C, "
                f"{getattr(struct, field).offset} in ctypes"
            )
    size = ctypes.c_long.in_dll(lib, f"{name}_size").value
    if ctypes.sizeof(struct) != size:
        raise LayoutError(f"struct {name}: {size} bytes in C, {ctypes.sizeof(struct)} in ctypes")


def check_constants(name: str, ours: tuple[int, ...]) -> None:
    """Compare constants (flag values) with the library's ``const int NAME[]``."""
    lib = library()
    theirs = tuple((ctypes.c_int * len(ours)).in_dll(lib, name))
    if theirs != ours:
        raise LayoutError(f"{name}: {theirs} in C, {ours} in Python")


_checked: set[str] = set()


@cache
def kernel(
    name: str,
    dtype: torch.dtype,
    struct: type[ctypes.Structure],
    struct_name: str,
    pointers: int,
    steps: bool = False,
) -> Callable[..., None]:
    """The kernel ``NAME_f32``/``NAME_f64`` taking a ``struct_name`` (then, with ``steps``,
    the number of time steps) and ``pointers`` data pointers, its struct checked against
    the library's first."""
    lib = library()
    if struct_name not in _checked:
        check_layout(lib, struct, struct_name)
        _checked.add(struct_name)
    function = getattr(lib, f"{name}_{'f32' if dtype == torch.float32 else 'f64'}")
    function.argtypes = (
        [ctypes.POINTER(struct)] + [ctypes.c_int] * steps + [ctypes.c_void_p] * pointers
    )
    function.restype = None
    return function


def compile_seconds() -> float:
    """Seconds this process spent compiling (0 when the cached library was loaded)."""
    library()
    return float(_state["seconds"])  # type: ignore[arg-type]


def run_sequence(
    function: Callable[..., None], step: object, steps: int, dtype: torch.dtype, *buffers: object
) -> None:
    """Call a native sequence kernel (``kernel``) the way they all take their arguments:
    the step's description, the number of steps, the BLAS GEMM for ``dtype`` (``gemm``)
    and each buffer's address, in the kernel's order (None for a buffer that is absent)."""
    function(
        ctypes.byref(step),
        steps,
        gemm(dtype),
        *(None if b is None else b.data_ptr() for b in buffers),  # type: ignore[attr-defined]
    )
