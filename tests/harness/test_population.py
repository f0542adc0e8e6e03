"""Population training: K runs trained as one stacked model give each run what it gives
alone (float64, so that only the order of floating-point sums could differ)."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch

from harness.plans.config import RunConfig
from harness.queue.progress import Progress
from harness.training.train import stack_key, train, train_population
from tests.harness.configs import tiny_config


def _assert_same(alone, together) -> None:
    assert together.status == alone.status and together.best_step == alone.best_step
    assert together.steps == alone.steps
    assert [(s, n) for s, n, _ in together.curves] == [(s, n) for s, n, _ in alone.curves]
    for (_, name, a), (_, _, b) in zip(alone.curves, together.curves):
        assert b == pytest.approx(a, rel=1e-9, abs=1e-12), name
    for split in ("valid", "test"):
        for metric, a in getattr(alone, split).items():
            assert getattr(together, split)[metric] == pytest.approx(a, rel=1e-9, abs=1e-12)
    for which, profile in alone.gradient_through_time.items():
        assert together.gradient_through_time[which] == pytest.approx(profile, rel=1e-9)


@pytest.mark.parametrize(
    "variant,task,settings",
    [
        ("lstm", "memory-add", {"seq_len": 12, "eval_size": 64}),  # features, regression
        ("gru", "lm", {"seq_len": 12, "eval_tokens": 600}),  # tokens, carried state
        ("nas", "parity", {"seq_len": 10, "eval_size": 64}),  # its own kernel
    ],
)
def test_a_population_gives_every_trial_its_own_run(float64, variant, task, settings) -> None:
    sgd = dict(optimizer="sgd", steps=24, eval_every=8, log_every=4)
    base = tiny_config(variant=variant, task=task, task_settings=settings, **sgd)
    configs = [
        dataclasses.replace(base, seed=0, lr=0.3, momentum=0.9),
        dataclasses.replace(base, seed=1, lr=0.1, momentum=0.0, input_noise=0.3),
        dataclasses.replace(base, seed=2, lr=0.5, momentum=0.5, clip=0.05),
        dataclasses.replace(base, seed=3, lr=0.2, momentum=0.9, steps=16, patience=1),
    ]
    together = train_population(configs)
    for config, result in zip(configs, together):
        assert result.telemetry["population"] == 4
        _assert_same(train(config), result)


def test_adam_populations_match_too(float64) -> None:
    base = tiny_config(variant="cifg")
    configs = [dataclasses.replace(base, seed=s, lr=lr) for s, lr in ((0, 1e-2), (1, 3e-3))]
    for config, result in zip(configs, train_population(configs)):
        _assert_same(train(config), result)


def test_a_diverging_trial_is_masked_and_the_others_go_on(float64) -> None:
    base = tiny_config(task="memory-add", optimizer="sgd", momentum=0.0)
    configs = [
        dataclasses.replace(base, seed=0, lr=0.1),
        dataclasses.replace(base, seed=1, lr=90.0),  # explodes within a few steps
        dataclasses.replace(base, seed=2, lr=0.05),
    ]
    results = train_population(configs)
    assert [r.status for r in results] == ["complete", "diverged", "complete"]
    assert results[1].test == results[1].chance and results[1].steps < 20
    for k in (0, 2):
        _assert_same(train(configs[k]), results[k])


def test_only_runs_that_share_shapes_and_settings_stack() -> None:
    base = RunConfig(variant="lstm", task="parity")
    assert stack_key(base) == stack_key(dataclasses.replace(base, seed=3, lr=0.1, clip=1.0))
    for change in (
        {"hidden_size": 65},
        {"variant": "gru"},
        {"optimizer": "sgd"},
        {"task_settings": {"seq_len": 3}},
    ):
        assert stack_key(base) != stack_key(dataclasses.replace(base, **change))
    with pytest.raises(ValueError, match="differ only in"):
        train_population([base, dataclasses.replace(base, hidden_size=65)])


def test_a_population_records_its_cost_apart_from_each_trials() -> None:
    """Each of K runs keeps its own rate and its share of the wall time; the population's
    seconds and rate are named as the population's (relations only, no timing)."""
    base = tiny_config()  # lstm on parity
    results = train_population([dataclasses.replace(base, seed=s) for s in range(3)])
    for result in results:
        t = result.telemetry
        assert t["population"] == 3
        assert "steps_per_second" not in t and "wall_seconds" not in t
        assert t["population_seconds"] > 0 and t["steps×batch/s"] > 0
        assert t["trial_seconds"] == pytest.approx(t["population_seconds"] / 3, rel=1e-12)
        assert t["population_steps×batch/s"] == pytest.approx(3 * t["steps×batch/s"], rel=1e-12)
        line = result.summary()
        assert f"{t['steps×batch/s']:,.0f} steps×batch/s (population of 3: " in line
        assert f"{t['population_steps×batch/s']:,.0f} steps×batch/s in " in line
        assert line.endswith(f"; {t['trial_seconds']:.1f} s per trial)")
    assert len({r.telemetry["population_seconds"] for r in results}) == 1


@pytest.mark.parametrize("kind", ["adam", "sgd"])
def test_the_trial_optimizer_is_torchs_for_one_trial(float64, kind: str) -> None:
    from harness.training.optim import TrialOptimizer

    torch.manual_seed(0)
    reference = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2))
    mine = [torch.nn.Parameter(p.detach().clone().unsqueeze(0)) for p in reference.parameters()]
    torch_opt = (
        torch.optim.Adam(reference.parameters(), lr=0.05)
        if kind == "adam"
        else torch.optim.SGD(reference.parameters(), lr=0.05, momentum=0.9, nesterov=True)
    )
    ours = TrialOptimizer(
        mine, kind, torch.tensor([0.05]), torch.tensor([0.9]), torch.tensor([0.5])
    )
    for _ in range(6):
        x = torch.randn(5, 3)
        torch_opt.zero_grad()
        reference(x).pow(2).sum().backward()
        norm = torch.nn.utils.clip_grad_norm_(reference.parameters(), 0.5)
        torch_opt.step()
        w1, b1, w2, b2 = (p[0] for p in mine)
        out = torch.tanh(x @ w1.t() + b1) @ w2.t() + b2
        for p in mine:
            p.grad = None
        out.pow(2).sum().backward()
        ours_norm = ours.step(torch.tensor([True]))
        assert float(ours_norm[0]) == pytest.approx(float(norm), rel=1e-12)
        for a, b in zip(reference.parameters(), mine):
            torch.testing.assert_close(b[0], a, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("kind", ["adam", "sgd"])
def test_a_trial_that_stops_keeps_its_parameters_and_its_neighbour_trains_as_alone(
    kind: str,
) -> None:
    """Trial 1 stops after 3 steps (early stopping, divergence): from then on the update
    leaves its parameters and moments as they were, whatever its gradients (NaN here), and
    trial 0 goes on exactly as a population of one would."""
    from harness.training.optim import TrialOptimizer

    torch.manual_seed(0)
    shapes = [(5, 3), (5,), (2, 5)]
    pair = [torch.randn(2, *s) for s in shapes]
    alone = [p[:1].clone() for p in pair]

    def optimizer(params: list[torch.Tensor], k: int) -> TrialOptimizer:
        return TrialOptimizer(
            params,
            kind,
            torch.tensor([0.05, 0.01][:k]),
            torch.tensor([0.9, 0.5][:k]),
            torch.tensor([math.inf] * k),
        )

    both, one = optimizer(pair, 2), optimizer(alone, 1)
    for step in range(8):
        grads = [torch.randn(2, *s) for s in shapes]
        if step >= 3:
            for g in grads:
                g[1] = float("nan")
        for p, a, g in zip(pair, alone, grads):
            p.grad, a.grad = g, g[:1].clone()
        if step == 3:
            kept = [p[1].clone() for p in pair]
            moments = {k: v[1].clone() for k, v in both.state.items() if v.dim() == 2}
        both.step(torch.tensor([True, step < 3]))
        one.step(torch.tensor([True]))
        for p, a in zip(pair, alone):
            assert torch.equal(p[:1], a)  # bit for bit
    for p, before in zip(pair, kept):
        assert torch.equal(p[1], before)
    for name, before in moments.items():
        assert torch.equal(both.state[name][1], before), name


def test_a_cell_without_trial_support_still_trains_alone_and_in_grids(tmp_path) -> None:
    """The README's one-file cell (no supports_trials): a run trains it as a stack of one,
    and a grid worker takes its runs one at a time."""
    import variants
    from harness.plans import grid
    from harness.queue import entries, storage_url, store, worker
    from tests.variants.helpers import ReadmeCell

    variants.register("test-minimal", ReadmeCell, family="custom", paper="-", description="-")
    try:
        # on the device a run takes by default, as a user's first run of their cell
        result = train(tiny_config(variant="test-minimal", task="memory-add", device="auto"))
        assert result.status == "complete" and result.test["mse"] < 1.0
        assert any(name.startswith("grad.L0.W") for _, name, _ in result.curves)
        storage = storage_url.open_storage(str(tmp_path / "m.journal"))
        study = store.open_study(storage, "g")
        entries.enqueue(
            storage, study, grid.resolve("smoke", ["test-minimal"], ["parity"], 3).runs()
        )
        sizes: list[str] = []
        assert worker.work(study, population=8, progress=_Starts(sizes)) == 3
        assert len(sizes) == 3  # one population per run
    finally:
        variants.unregister("test-minimal")


class _Starts(Progress):
    """Notes the variant of every population the worker starts."""

    def __init__(self, sizes: list[str]) -> None:
        self.sizes = sizes

    def started(self, config) -> None:  # noqa: ANN001
        self.sizes.append(config.variant)
