"""The boundaries ARCHITECTURE.md draws, checked on every import of the code (those inside
functions too): a leaf package never reaches into the harness or another leaf, and inside
``results`` and ``harness`` a room imports only the rooms its place in the flow allows."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# the two stdlib-only modules of harness that the leaves share: one registry, one coercer
SHARED = {"harness.registry", "harness.values"}
RESULTS_ROOMS = ["tables", "analysis", "figures", "rendering"]
HARNESS_ROOMS = ["command", "plans", "evolution", "queue", "training", "gates"]
# what every harness room may read of an earlier one: a plan's RunConfig and ConfigError,
# and the plugins a study records (ARCHITECTURE.md); the gates plan and train their own runs
HARNESS_DATA_CARRIERS = {"harness.plans.config", "harness.plans.plugins"}


def _name(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts)


def _imports(path: Path, module: str | None = None) -> list[str]:
    """Every project module the file imports (``from a.b import c``: ``a.b.c`` where that
    is a module, else ``a.b``); ``module`` is its dotted name (default: from its path)."""
    module = module or _name(path)
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against this module's package
                base = ".".join(module.split(".")[: -node.level] + ([base] if base else []))
            for alias in node.names:
                full = f"{base}.{alias.name}"
                is_module = (ROOT / Path(*full.split("."))).with_suffix(".py").exists() or (
                    ROOT / Path(*full.split("."))
                ).is_dir()
                out.append(full if is_module else base)
    return [m for m in out if m.split(".")[0] in ("harness", "variants", "tasks", "results")]


def _modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def _room(module: str, rooms: list[str]) -> int | None:
    parts = module.split(".")
    return rooms.index(parts[1]) if len(parts) > 2 and parts[1] in rooms else None


def _leaf_crossings(leaf: str, files: dict[str, Path]) -> list[tuple[str, str]]:
    return [
        (name, m)
        for name, path in files.items()
        for m in _imports(path, name)
        if m.split(".")[0] != leaf and m not in SHARED
    ]


@pytest.mark.parametrize("leaf", ["variants", "tasks"])
def test_cells_and_tasks_import_only_themselves_and_the_shared_registry(leaf: str) -> None:
    files = {_name(p): p for p in _modules(leaf)}
    assert not _leaf_crossings(leaf, files)


def test_the_shared_modules_import_nothing_of_the_project() -> None:
    for name in SHARED:
        assert _imports(ROOT / (name.replace(".", "/") + ".py")) == [], name


def test_results_rooms_import_only_earlier_rooms_and_nothing_else() -> None:
    crossing = []
    for p in _modules("results"):
        me = _name(p)
        mine = _room(me, RESULTS_ROOMS)
        for m in _imports(p):
            if m.split(".")[0] != "results":
                crossing.append((me, m))
            elif mine is not None and (_room(m, RESULTS_ROOMS) or 0) > mine:
                crossing.append((me, m))
    assert not crossing, crossing


def test_harness_rooms_import_later_rooms_and_only_data_from_earlier_ones() -> None:
    crossing = []
    for p in _modules("harness"):
        me = _name(p)
        mine = _room(me, HARNESS_ROOMS)
        if mine is None:
            continue
        for m in _imports(p):
            theirs = _room(m, HARNESS_ROOMS)
            if theirs is None or theirs >= mine or m in HARNESS_DATA_CARRIERS:
                continue
            if HARNESS_ROOMS[mine] == "gates" and HARNESS_ROOMS[theirs] in ("plans", "training"):
                continue  # the gates plan and train their own reference runs
            crossing.append((me, m))
    assert not crossing, crossing


def test_a_crossing_is_caught(tmp_path: Path) -> None:
    # the check itself can fail: a cell file that imports the harness's training is named
    bad = tmp_path / "probe.py"
    bad.write_text("from harness.training import train\nfrom harness.registry import Registry\n")
    crossings = _leaf_crossings("variants", {"variants.probe_cell": bad})
    assert crossings == [("variants.probe_cell", "harness.training.train")]


def test_the_rest_of_the_harness_uses_only_the_queue_s_public_face() -> None:
    from harness.queue import FACE

    face = {f"harness.queue.{m}" for m in FACE} | {"harness.queue"}
    crossing = [
        (_name(p), m)
        for p in _modules("harness")
        if not _name(p).startswith("harness.queue.")
        for m in _imports(p)
        if m.startswith("harness.queue") and ".".join(m.split(".")[:3]) not in face
    ]
    assert not crossing, crossing
