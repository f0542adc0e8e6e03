"""Kept models: every run's best-validation weights, and what rebuilds and re-scores it.

A kept model is one file (``torch.save`` of a plain dict, loadable with
``weights_only=True``): the run's configuration (variant, sizes, task and its settings),
the weights of its ``SequenceModel``, the task's vocabulary where it has one, and how it was
scored (the population it trained in: a model trained among K trials is re-scored in a stack
of K copies of itself, so it runs on the same kernels and reproduces its test metric bit for
bit on the CPU; it is read from its own slot of the stack). Files go to Optuna's artifact
store (``optuna.artifacts``), by default a folder beside the journal, and the trial records
the artifact id in its result (``model``); optuna-dashboard lists them too.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna
import torch
from optuna.artifacts import FileSystemArtifactStore, download_artifact, upload_artifact

from harness.plans.config import RunConfig
from harness.queue import storage_url as urls
from harness.training import snapshot
from harness.training.model import SequenceModel
from harness.training.seq2seq import stack_models
from results.tables import record

MODELS_ATTR = "models"  # study user attribute: where its runs keep their models, or None


# --- where models go --------------------------------------------------------------------


def default_folder(storage_url: str | None) -> Path:
    """Beside the journal or SQLite file (``harness.journal`` -> ``harness.models/``); for a
    database server, ``outputs/models`` here (pass ``--models DIR`` for a folder every
    worker shares)."""
    url = storage_url or urls.default_journal()
    if "://" not in url or url.startswith("journal:"):
        path = Path(url.removeprefix("journal:")).expanduser()
    elif url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
    else:
        return (Path(urls.OUTPUT) / "models").resolve()
    return path.resolve().with_suffix(".models")


def chosen_folder(models: str | None, keep: bool, storage_url: str | None) -> Path | None:
    """Where runs keep their models: ``models`` (``--models DIR``), none unless ``keep``
    (``--no-models``), else beside the storage (``default_folder``)."""
    if not keep:
        return None
    return Path(models) if models else default_folder(storage_url)


def note(study: optuna.Study, models: str | None, keep: bool, storage_url: str | None) -> None:
    """Note on the study where its runs keep their models (``chosen_folder``; they keep
    none unless ``keep``)."""
    folder = chosen_folder(models, keep, storage_url)
    wanted = str(folder.resolve()) if folder is not None else None
    if study.user_attrs.get(MODELS_ATTR, "unset") != wanted:
        study.set_user_attr(MODELS_ATTR, wanted)


def artifact_store(
    study: optuna.Study | optuna.study.StudySummary,
) -> FileSystemArtifactStore | None:
    folder = study.user_attrs.get(MODELS_ATTR)
    if not folder:
        return None
    Path(folder).mkdir(parents=True, exist_ok=True)
    return FileSystemArtifactStore(folder)


def keep(study: optuna.Study, trial: optuna.Trial, data: bytes) -> dict[str, Any] | None:
    """Upload a run's model to the study's artifact store; what the record notes of it."""
    store = artifact_store(study)
    if store is None:
        return None
    config = trial.user_attrs.get(record.CONFIG, {})
    name = f"{config.get('variant', 'run')}-{config.get('task', '')}-{trial.number}.pt"
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        artifact = upload_artifact(
            artifact_store=store,
            file_path=str(path),
            study_or_trial=trial,
            mimetype="application/x-pytorch",
        )
    return {"artifact": artifact, "folder": study.user_attrs[MODELS_ATTR], "bytes": len(data)}


# --- reading them back ------------------------------------------------------------------


@dataclass
class Kept:
    """A kept model, rebuilt: the model, its run's configuration and task, and the file."""

    config: RunConfig
    model: SequenceModel
    population: int
    slot: int  # its place in the population (the place can change the last bit on the CPU)
    vocabulary: list[str] | None
    test: dict[str, float]
    path: Path


def load(path: str | Path, device: str = "cpu") -> Kept:
    """Rebuild a kept model from its file."""
    from harness.training.train import build_model, build_task

    saved = torch.load(path, map_location=device, weights_only=True)
    if saved.get("format") != snapshot.FORMAT:
        raise ValueError(
            f"{path} is not a kept model of this version (format "
            f"{saved.get('format')!r}, expected {snapshot.FORMAT})"
        )
    config = RunConfig(**{**saved["config"], "device": device})
    model = build_model(config, build_task(config), torch.device(device))
    model.load_state_dict(saved["weights"])
    return Kept(
        config,
        model,
        int(saved["population"]),
        int(saved["slot"]),
        saved["vocabulary"],
        dict(saved["test"]),
        Path(path),
    )


def path_of(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> Path:
    """The file of a trial's kept model (fetched from the artifact store)."""
    result = trial.user_attrs.get(record.RESULT) or {}
    local, store = record.model_file(result), artifact_store(study)
    if local is None or store is None:
        raise LookupError(f"trial {trial.number} of {study.study_name} kept no model")
    if Path(local).is_file():
        return Path(local)
    model = result["model"]
    target = Path(tempfile.mkdtemp()) / f"{model['artifact']}.pt"
    download_artifact(artifact_store=store, file_path=str(target), artifact_id=model["artifact"])
    return target


def rescore(kept: Kept, split: str = "test") -> dict[str, float]:
    """The kept model's metrics on ``split``, scored as its run scored it: in a stack of
    ``population`` copies (the same kernels), read from its own slot (a batched kernel can
    round a slot's sums differently from another's), on the same held-out batches."""
    from harness.training.evaluate import held_out
    from harness.training.train import build_scorer, build_task, precision, subnormals_flushed

    device = next(kept.model.parameters()).device
    task = build_task(kept.config)
    stack = stack_models([kept.model] * kept.population, [kept.config.seed] * kept.population)
    with subnormals_flushed():  # as the run was scored
        return held_out(build_scorer(kept.config, task), stack, split, device, precision(device))[
            kept.slot
        ]
