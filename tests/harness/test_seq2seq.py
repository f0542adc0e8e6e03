"""The encoder-decoder (``harness.training.seq2seq``): its loss against a plain loop over the
decoder steps, greedy decoding at evaluation, population training, the refusals, and a tiny
run from the command line to a kept model that rescores to its stored test metric."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

import tasks
from harness.plans.config import _LATER_SETTINGS, ConfigError, RunConfig
from harness.queue import finished, kept_models, storage_url, store
from harness.training import seq2seq, train
from harness.training.evaluate import stack_batches
from tests.harness.commands import harness, settings

SETTINGS = {"digits": 2, "eval_size": 32, "batch_size": 6}


def config(**changes: object) -> RunConfig:
    base = RunConfig(
        variant="lstm",
        task="addition",
        architecture="encoder-decoder",
        hidden_size=7,
        device="cpu",
        task_settings=SETTINGS,
    )
    return dataclasses.replace(base, **changes)


def model_and_batch(attention: bool, variant: str = "lstm", seed: int = 0, layers: int = 1):
    c = config(attention=attention, variant=variant, seed=seed, layers=layers)
    task = train.build_task(c)
    return train.build_model(c, task, torch.device("cpu")), task, next(task.batches("train", 3))


def reference_outputs(
    m: seq2seq.EncoderDecoder, x: torch.Tensor, source: int, feed: torch.Tensor
) -> torch.Tensor:
    """The model written out: every cell run one step at a time, the decoder fed ``feed``
    ([U, B] symbols), attention as in Bahdanau et al. 2015 (masked over blanks)."""
    emb = m.embedding.weight
    steps, batch = x.shape
    states = [None] * len(m.encoder)
    tops = []
    for t in range(source):
        h = emb[x[t]]
        for k, cell in enumerate(m.encoder):
            out, states[k] = cell(h.unsqueeze(0), states[k])
            h = out[0]
        tops.append(h)
    encoded = torch.stack(tops)  # [S, B, N]
    outputs = [torch.zeros(batch, emb.shape[0])] * source
    for u in range(steps - source):
        given = emb[feed[u]]
        if m.attention:
            s_prev = states[-1][0]
            energy = torch.stack(
                [
                    (
                        torch.tanh(
                            s_prev @ m.attend_state.weight.T
                            + encoded[j] @ m.attend_source.weight.T
                            + m.attend_source.bias
                        )
                        @ m.attend_score.weight.T
                    )[:, 0]
                    for j in range(source)
                ]
            )  # [S, B]
            energy = energy.masked_fill(x[:source] == tasks.build("addition").blank, float("-inf"))
            weights = torch.softmax(energy, 0)
            context = sum(weights[j].unsqueeze(-1) * encoded[j] for j in range(source))
            given = torch.cat([given, context], -1)
        h = given
        for k, cell in enumerate(m.decoder):
            out, states[k] = cell(h.unsqueeze(0), states[k])
            h = out[0]
        features = torch.cat([h, context], -1) if m.attention else h
        outputs.append(features @ m.head.weight.T + m.head.bias)
    return torch.stack(outputs)


@pytest.mark.parametrize("attention", [False, True])
def test_the_loss_is_that_of_a_plain_loop_over_the_decoder_steps(attention: bool) -> None:
    # two trials of one population (each its own seed), two layers, teacher forcing
    models, tasks_, batches = zip(*(model_and_batch(attention, seed=s, layers=2) for s in (0, 1)))
    task, batch = tasks_[0], batches[0]
    stack = seq2seq.stack_models(list(models), [0, 1])
    stack.train()
    two = stack_batches([batch, batch])
    outputs, _ = stack(two.x)
    losses = task.losses(outputs, two)
    source = task.source_steps
    for k, m in enumerate(models):
        expected = reference_outputs(m, batch.x, source, batch.x[source:])
        mask = batch.mask
        loss = F.cross_entropy(expected[mask], batch.y[mask])
        assert losses[k].item() == pytest.approx(loss.item(), rel=1e-5)
        torch.testing.assert_close(outputs[:, k], expected, rtol=1e-5, atol=1e-6)
    assert losses[0].item() != pytest.approx(losses[1].item(), rel=1e-3)  # two models


@pytest.mark.parametrize("attention", [False, True])
def test_evaluation_decodes_greedily_from_its_own_answers(attention: bool) -> None:
    m, task, batch = model_and_batch(attention)
    source = task.source_steps
    m.eval()
    with torch.no_grad():
        greedy, _ = m(batch.x)
        own = greedy[source:].argmax(-1)  # what it answered at each step
        feed = torch.cat([batch.x[source : source + 1], own[:-1]])
        # the plain loop fed its own previous answers gives the same outputs...
        torch.testing.assert_close(
            greedy, reference_outputs(m, batch.x, source, feed), rtol=1e-5, atol=1e-6
        )
        # ...and one fed the given symbols (teacher forcing) does not
        forced = reference_outputs(m, batch.x, source, batch.x[source:])
        assert not torch.allclose(greedy[source:], forced[source:], atol=1e-4)
        # the given answer symbols in x are not read at evaluation
        scrambled = batch.x.clone()
        scrambled[source + 1 :] = (scrambled[source + 1 :] + 3) % 10
        torch.testing.assert_close(m(scrambled)[0], greedy)
    m.train()
    with torch.no_grad():
        assert not torch.allclose(m(scrambled)[0][source:], m(batch.x)[0][source:])


def test_a_population_trains_each_run_as_alone() -> None:
    """Input noise too (on the source only): each trial draws its own, alone or together."""
    runs = [config(attention=True, seed=s, steps=4, eval_every=2, input_noise=0.3) for s in (0, 1)]
    together = train.train_population(runs)
    alone = train.train(runs[1])
    assert together[1].test == pytest.approx(alone.test)

    def losses(result) -> list[float]:
        return [v for _, n, v in result.curves if n == "train_loss"]

    assert losses(together[1]) == pytest.approx(losses(alone), rel=1e-5)
    clean = train.train(dataclasses.replace(runs[1], input_noise=0.0))
    assert losses(clean) != pytest.approx(losses(alone), rel=1e-4)  # the noise is there


def test_bad_architectures_are_refused_in_one_line() -> None:
    cases = {
        "architecture must be one of stack, encoder-decoder": {"architecture": "seq2seq"},
        "attention=true needs architecture=encoder-decoder": {
            "architecture": "stack",
            "attention": True,
        },
        "needs a sequence-to-sequence task": {"task": "parity", "task_settings": {}},
        "takes no bidirectional=true": {"bidirectional": True},
    }
    for message, changes in cases.items():
        with pytest.raises(ConfigError, match=message) as error:
            config(**changes)
        assert "\n" not in str(error.value)
    with pytest.raises(ConfigError, match="--set architecture=encoder-decoder"):
        train.check_data([config(architecture="stack")])
    # the run keys of runs stored before these settings existed stay as they were
    defaults = dataclasses.asdict(RunConfig())
    assert {k: _LATER_SETTINGS[k] for k in ("architecture", "attention")} == {
        k: defaults[k] for k in ("architecture", "attention")
    }
    assert config().key != config(attention=True).key


def test_the_command_line_trains_a_run_that_keeps_its_model(tmp_path: Path) -> None:
    result = harness(
        "run",
        "--task",
        "addition",
        "--device",
        "cpu",
        "--storage",
        "s.journal",
        *settings(
            "architecture=encoder-decoder",
            "attention=true",
            "steps=4",
            "eval_every=2",
            "hidden_size=6",
            "task.digits=2",
            "task.eval_size=16",
        ),
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "lstm on addition (seed 0): test exact" in result.stdout
    study = store.named_studies(storage_url.open_storage(str(tmp_path / "s.journal")), "runs")[0]
    trial = finished.completed(study)[0]
    assert trial.user_attrs["config"]["architecture"] == "encoder-decoder"
    kept = kept_models.load(kept_models.path_of(study, trial))
    assert isinstance(kept.model, seq2seq.EncoderDecoder) and kept.model.attention
    assert kept_models.rescore(kept) == trial.user_attrs["result"]["test"]
    # the stored run's model, trial 0 of study runs-addition, answering
    sample = ["sample", "--trial", "0", "--study", "runs-addition", "--storage", "s.journal"]
    sampled = harness(*sample, "--examples", "3", cwd=tmp_path)
    assert sampled.returncode == 0, sampled.stderr
    rows = [line.split() for line in sampled.stdout.splitlines()[-3:]]
    for row in rows:  # example, "a+b", target "sum.", the greedy answer, agreement
        a, b = map(int, row[1].split("+"))
        assert row[2] == f"{a + b}."
    # --input: the model's greedy answer to a typed source, as evaluation decodes it
    from harness.training.answers import held_out_answers
    from harness.training.train import build_task

    first = held_out_answers(kept.model, build_task(kept.config), 1)[0]
    decoded = harness(*sample, "--input", first.input, cwd=tmp_path)
    assert decoded.returncode == 0, decoded.stderr
    said = decoded.stdout.splitlines()[-1]
    assert said.startswith(f"{first.input} = "), said
    answer = said[len(f"{first.input} = ") :]
    if "." in first.answer:  # it ended within the target's length: the same answer
        assert answer == first.answer.split(".")[0]
    else:
        assert answer.startswith(first.answer)
    wrong = harness(*sample, "--input", "12x3", cwd=tmp_path)
    assert wrong.returncode == 2 and wrong.stderr.strip().splitlines() == [
        "harness: error: an input of task 'addition' is two numbers of 1 to 2 digits joined "
        "by '+', e.g. '123+45'; got '12x3'"
    ], wrong.stderr
    refused = harness("run", "--task", "addition", "--storage", "s.journal", cwd=tmp_path)
    assert refused.returncode == 2
    assert (
        refused.stderr.strip()
        .splitlines()[-1]
        .endswith("is sequence to sequence: run it with --set architecture=encoder-decoder")
    )
