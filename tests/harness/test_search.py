"""Random search: reproducible draws, studies per task, resuming, and the protocol end to end
(``reproduce --profile ci``, as CI runs it)."""

from __future__ import annotations

import functools
import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
from optuna.distributions import FloatDistribution, IntDistribution

from harness.plans import search, spaces
from harness.plans.config import ConfigError
from harness.plans.profiles import REPRODUCE_VARIANTS, reproduce_spec
from harness.queue import finished, kept_models, storage_url, store
from tests.harness import commands
from tests.tasks.data import data_dir

# a search, or the protocol end to end, takes minutes more than a grid
harness = functools.partial(commands.harness, timeout=600)


def test_trial_k_depends_only_on_the_seed_and_k() -> None:
    greff = spaces.get("greff")
    assert greff.draw(7, 3) == greff.draw(7, 3)
    assert greff.draw(7, 3) != greff.draw(7, 4) and greff.draw(7, 3) != greff.draw(8, 3)
    # the same values whatever else was drawn before, in another order
    first = [greff.draw(0, k) for k in range(5)]
    assert [greff.draw(0, k) for k in reversed(range(5))] == first[::-1]


def test_greff_space_has_the_papers_distributions() -> None:
    greff = spaces.get("greff")
    draws = [greff.draw(0, k) for k in range(4000)]
    lr = np.log10([d["lr"] for d in draws])
    momentum = np.array([d["momentum"] for d in draws])
    noise = np.array([d["input_noise"] for d in draws])
    sizes = [d["hidden_size"] for d in draws]
    assert lr.min() >= -6 and lr.max() <= -2
    assert np.mean(lr < -4) == pytest.approx(0.5, abs=0.03)  # log-uniform: half below 1e-4
    # momentum = 1 - log-uniform[0.01, 1]: log10(1 - m) is uniform on [-2, 0]
    assert momentum.min() >= 0 and momentum.max() <= 0.99
    assert np.mean(np.log10(1 - momentum) < -1) == pytest.approx(0.5, abs=0.03)
    assert (
        noise.min() >= 0
        and noise.max() <= 1
        and np.mean(noise < 0.5) == pytest.approx(0.5, abs=0.03)
    )
    grid = spaces.get("greff").dimensions[0].grid()
    assert grid[0] == 20 and grid[-1] == 200 and len(grid) == 8
    assert set(sizes) == set(grid)
    # log-uniform over the sizes: each of the 6 inner sizes takes about 1/7 of the draws
    counts = {s: sizes.count(s) / len(sizes) for s in grid}
    assert all(c == pytest.approx(1 / 7, abs=0.03) for s, c in counts.items() if s not in (20, 200))
    assert greff.analysis() == {
        "hidden_size": (20, 200, True),
        "lr": (1e-6, 1e-2, True),
        "momentum": (0.0, 0.99, False),
        "input_noise": (0.0, 1.0, False),
    }


def test_every_variant_gets_trial_ks_values_in_stackable_order() -> None:
    spec = search.SearchSpec(("lstm", "gru"), ("parity",), 6, "greff", seed=3)
    runs = spec.runs("parity")
    assert len(runs) == 12 and {r.optimizer for r in runs} == {"sgd"}
    by = {(r.variant, r.seed): r for r in runs}
    for k in range(6):
        drawn = spaces.get("greff").draw(3, k)
        for variant in ("lstm", "gru"):
            r = by[(variant, k)]
            assert (r.lr, r.momentum, r.input_noise, r.hidden_size) == (
                drawn["lr"],
                drawn["momentum"],
                drawn["input_noise"],
                drawn["hidden_size"],
            )
    order = [(r.variant, r.hidden_size) for r in runs]
    assert order == sorted(order, key=lambda o: (["lstm", "gru"].index(o[0]), o[1]))


def test_bad_search_input_is_one_clear_error() -> None:
    with pytest.raises(ConfigError, match="unknown search space 'gref'"):
        search.SearchSpec(("lstm",), ("parity",), 3, "gref")
    with pytest.raises(LookupError, match="unknown variant 'lsmt'"):
        search.SearchSpec(("lsmt",), ("parity",), 3)
    with pytest.raises(ConfigError, match="unknown profile 'fast'"):
        reproduce_spec("fast")
    with pytest.raises(ConfigError, match="no settings for task"):
        reproduce_spec("ci", ["parity"])


def test_reproduce_profiles_follow_the_paper_on_music_and_slice_its_draws() -> None:
    quick, paper = reproduce_spec("quick"), reproduce_spec("paper")
    assert quick.tasks == paper.tasks == ("music",)  # reber and lm only when named
    assert (quick.space, paper.space, paper.trials) == ("greff", "greff", 200)
    assert paper.per_task["music"]["sequences"] == 150 * 229  # 150 epochs of online updates
    assert paper.per_task["music"]["eval_every"] == 229 and paper.run["patience"] == 15
    assert (
        quick.run["eval_every"] == 229
        and quick.run["patience"] < quick.per_task["music"]["sequences"] // 229
    )  # early stopping can fire
    whole = {(r.variant, r.seed): r for r in paper.runs("music")}
    part = reproduce_spec("paper", trials=40).runs("music")
    assert {r.seed for r in part} == set(range(40))  # the first 40 of the 200 draws
    assert all(whole[(r.variant, r.seed)] == r for r in part)
    assert reproduce_spec("quick", ["music", "reber"]).tasks == ("music", "reber")


def test_the_stand_ins_are_read_both_ways_at_the_paper_datasets_epochs() -> None:
    """TIMIT and IAM Online were read by bidirectional LSTMs; the stand-ins' paper budget is
    150 epochs of the real datasets' size (3,696 utterances, 5,364 lines), validated once
    an epoch, so that "epoch" means what it meant in the paper."""
    tasks = ["music", "speech", "handwriting"]
    quick, paper = reproduce_spec("quick", tasks), reproduce_spec("paper", tasks, trials=2)
    for spec in (quick, paper):
        runs = {r.task: r for r in spec.runs("speech") + spec.runs("handwriting")}
        assert runs["speech"].bidirectional and runs["handwriting"].bidirectional
        assert not spec.runs("music")[0].bidirectional
    assert paper.per_task["speech"]["sequences"] == 150 * 3696
    assert paper.per_task["handwriting"]["eval_every"] == 5364
    # quick validates often enough for its patience to stop a run before the budget ends
    for task in ("speech", "handwriting"):
        every = quick.per_task[task]["eval_every"]
        assert quick.run["patience"] < quick.per_task[task]["sequences"] // every


def test_search_resumes_and_widens_then_reports_findings(tmp_path: Path) -> None:
    journal = str(tmp_path / "s.journal")
    base = [
        "search",
        "--variants",
        "lstm,gru",
        "--tasks",
        "parity",
        "--storage",
        journal,
        "--set",
        "steps=6",
        "--set",
        "eval_every=3",
        "--set",
        "task.seq_len=10",
        "--set",
        "task.eval_size=32",
        "--set",
        "hidden_size=8",
        "--workers",
        "1",
    ]
    first = harness(*base, "--trials", "2", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "4 trials (2 variants × 1 tasks × 2 draws" in first.stderr
    study = store.open_study(storage_url.open_storage(journal), "search-parity", create=False)
    before = {t.user_attrs["key"]: t.user_attrs["result"] for t in finished.completed(study)}
    assert len(before) == 4
    wider = harness(*base, "--trials", "3", cwd=tmp_path)
    assert wider.returncode == 0, wider.stderr
    assert "6 trials" in wider.stderr and "4 done, 2 to run (2 newly queued" in wider.stderr
    after = {t.user_attrs["key"]: t.user_attrs["result"] for t in finished.completed(study)}
    assert len(after) == 6 and all(after[k] == v for k, v in before.items())
    for trial in finished.completed(study):  # the drawn point as params, over the space's ranges
        config = trial.user_attrs["config"]
        assert trial.params == {
            k: config[k]
            for k in ("variant", "seed", "hidden_size", "lr", "momentum", "input_noise")
        }
        assert trial.distributions["lr"] == FloatDistribution(1e-6, 1e-2, log=True)
        assert trial.distributions["hidden_size"] == IntDistribution(20, 200, log=True)
        assert kept_models.path_of(study, trial).is_file()  # a search's trials keep models too
    report = harness("report", "--findings", "--storage", journal, "--out", "f", cwd=tmp_path)
    assert report.returncode == 0, report.stderr
    verdicts = json.loads((tmp_path / "f" / "findings.json").read_text())
    rows = verdicts["findings"] if isinstance(verdicts, dict) else verdicts
    assert [r["number"] for r in rows] == list(range(1, 11))
    assert {r["verdict"] for r in rows} == {"inconclusive"}  # 3 trials a variant: too few
    missing = harness(
        "report", "--findings", "--study", "nothing", "--storage", journal, cwd=tmp_path
    )
    assert missing.returncode == 2 and "no study named 'nothing'" in missing.stderr
    assert "Traceback" not in missing.stderr


def test_reproduce_ci_runs_the_whole_protocol(tmp_path: Path) -> None:
    """What CI runs: Greff's search for every variant on the three tasks, then findings."""
    data_dir()  # music: skips locally without HARNESS_DATA, fails on CI
    journal = str(tmp_path / "r.journal")
    result = harness(
        "reproduce", "--profile", "ci", "--storage", journal, "--workers", "2", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    n = len(REPRODUCE_VARIANTS) * 3 * 3
    assert f"{n} trials ({len(REPRODUCE_VARIANTS)} variants × 3 tasks × 3 draws" in result.stderr
    folder = tmp_path / "r.reports" / "reproduce-ci"
    markdown = (folder / "findings.md").read_text()
    first_table = markdown[markdown.index("|") :].split("\n\n")[0]
    verdicts = markdown.split("## Verdicts\n\n")[1].split("\n\n")[0]
    assert first_table.startswith("| data | variant | draws | top |")
    assert first_table.count("| JSB Chorales |") == len(REPRODUCE_VARIANTS)  # and lstm-b vs gru
    assert "| reber |" not in first_table and "| lm |" not in first_table  # extensions
    assert verdicts.count("\n") == 11  # header, rule, ten findings
    assert "## Beyond the paper" in markdown
    assert "findings report:" in result.stdout
    assert "protocol: reproduce-ci: 3 draws a variant from 'greff'" in result.stdout
    assert re.search(
        r"^ 3\. inconclusive +Forget gate and output activation are critical "
        r"\(on JSB Chorales\): ",
        result.stdout,
        re.M,
    ), result.stdout
    # the wall time, and where the workers' time went over every stored trial
    assert re.search(
        rf"reproduce reproduce-ci finished in \d+ (min \d+ )?s \({n} trials "
        r"stored\); the workers' time, .* over \d+ runs: data \d+%, forward \d+%",
        result.stdout,
    ), result.stdout[-2000:]
    for task in ("music", "reber", "lm"):
        study = store.open_study(
            storage_url.open_storage(journal), f"reproduce-ci-{task}", create=False
        )
        done = finished.completed(study)
        assert len(done) == len(REPRODUCE_VARIANTS) * 3
        values = [t.value for t in done]
        assert all(math.isfinite(v) for v in values)  # diverged trials at chance, not NaN
        config = done[0].user_attrs["config"]  # Greff's loss, update and online batches
        assert (config["loss_reduction"], config["momentum_scaled_lr"], config["batch_size"]) == (
            "sum",
            True,
            1,
        )
    assert "search seed 0" in markdown
    again = harness("reproduce", "--profile", "ci", "--storage", journal, cwd=tmp_path)
    assert again.returncode == 0 and f"{n} done, 0 to run" in again.stderr
    # another seed: an independent replicate in studies of its own, other draws
    other = harness(
        "reproduce",
        "--profile",
        "ci",
        "--seed",
        "1",
        "--tasks",
        "reber",
        "--variants",
        "lstm,gru",
        "--storage",
        journal,
        cwd=tmp_path,
    )
    assert other.returncode == 0, other.stderr
    assert "search reproduce-ci-seed1: 6 trials" in other.stderr
    assert (
        "search seed 1"
        in (tmp_path / "r.reports" / "reproduce-ci-seed1" / "findings.md").read_text()
    )
    seed0, seed1 = (
        store.named_studies(storage_url.open_storage(journal), name)
        for name in ("reproduce-ci", "reproduce-ci-seed1")
    )
    assert [s.study_name for s in seed0] == [f"reproduce-ci-{t}" for t in ("lm", "music", "reber")]
    assert [s.study_name for s in seed1] == ["reproduce-ci-seed1-reber"]
    lrs = {
        t.user_attrs["config"]["lr"]
        for s in (seed0[2], seed1[0])
        for t in finished.completed(s)
        if t.user_attrs["config"]["variant"] == "lstm"
    }
    assert len(lrs) == 6  # three draws each, none shared
