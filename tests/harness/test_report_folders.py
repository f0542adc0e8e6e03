"""Reports never overwrite each other: each storage has its own default report folder, and a
folder holding another storage's report is left alone with one line."""

from __future__ import annotations

from pathlib import Path

from harness.queue import storage_url
from tests.harness.commands import harness, smoke_grid

TINY_GRID = smoke_grid("rnn", "parity", seeds=1, workers=1)


def test_the_default_folder_follows_the_storage() -> None:
    assert storage_url.report_folder(None, "grid-x") == Path("outputs/grid-x")
    assert storage_url.report_folder("outputs/harness.journal", "g") == Path("outputs/g")
    assert storage_url.report_folder("/data/p.journal", "g") == Path("/data/p.reports/g")
    assert storage_url.report_folder("postgresql://u:secret@db.lab:5432/runs", "g") == Path(
        "outputs/g@db.lab-runs"
    )


def test_two_storages_with_one_study_name_leave_two_reports(tmp_path: Path) -> None:
    for name in ("smoke", "p"):
        result = harness(*TINY_GRID, "--storage", f"{name}.journal", cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert f"report: {name}.reports/grid-smoke/report.md" in result.stdout
    for name in ("smoke", "p"):
        folder = tmp_path / f"{name}.reports" / "grid-smoke"
        assert (folder / "report.md").is_file()
        assert (folder / ".storage").read_text() == f"{name}.journal\n"
    # the same study name on the default journal: its own folder too
    default = harness(*TINY_GRID, cwd=tmp_path)
    assert default.returncode == 0 and (tmp_path / "outputs/grid-smoke/report.md").is_file()
    # pointing one storage's report at the other's folder: refused, the folder untouched
    before = (tmp_path / "p.reports/grid-smoke/report.md").read_text()
    clash = harness(
        "report",
        "--study",
        "grid-smoke",
        "--storage",
        "smoke.journal",
        "--out",
        "p.reports/grid-smoke",
        cwd=tmp_path,
    )
    assert clash.returncode == 2 and "Traceback" not in clash.stderr
    assert (
        clash.stderr.strip()
        .splitlines()[-1]
        .endswith(
            "p.reports/grid-smoke holds the report of another storage (p.journal); this one is "
            "of smoke.journal: it was left as it is; choose another folder with --out"
        )
    )
    assert (tmp_path / "p.reports/grid-smoke/report.md").read_text() == before
