"""Settings of the pytest-benchmark suite (``tests/benchmarks``).

The suite is not part of the plain ``python -m pytest`` run (``norecursedirs`` in
pyproject.toml); name the folder to run it, serially:

    python -m pytest tests/benchmarks -p no:randomly --benchmark-sort=name
"""

from __future__ import annotations

import torch

from variants import native


def pytest_benchmark_update_machine_info(config, machine_info) -> None:
    """What changes a cell's speed besides the CPU: torch's version, threads and kernels."""
    machine_info["torch"] = torch.__version__
    machine_info["torch_threads"] = torch.get_num_threads()
    machine_info["torch_interop_threads"] = torch.get_num_interop_threads()
    machine_info["mkldnn"] = torch.backends.mkldnn.is_available()
    machine_info["cuda"] = torch.version.cuda
    machine_info["native_kernels"] = native.status()
