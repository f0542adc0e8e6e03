"""Tables of what trained cells do inside (Karpathy, Johnson & Fei-Fei 2015): how often each
unit's gates saturate, and how gates, cell state and output behave over time.

A gate is left-saturated at a step when below 0.1 (it blocks) and right-saturated when above
0.9 (it passes), Karpathy et al.'s thresholds: a unit whose forget gate is right-saturated
most of the time keeps its cell for long (an integrator), one left-saturated most of the time
resets it every step.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from results.tables.inside import Inside, LayerTrace

LEFT, RIGHT = 0.1, 0.9
# statistics over time: (column, what is averaged) in figure order
OVER_TIME = (("forget gate", "mean f_t"), ("abs c", "mean |c_t|"), ("abs h", "mean |h_t|"))


def saturation_fractions(gate: np.ndarray, valid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per unit, the fraction of valid steps (all rows) where ``gate`` ``[T, B, N]`` is below
    ``LEFT`` and where it is above ``RIGHT``; ``valid`` ``[T, B]``."""
    counted = gate[valid]  # [steps, N]
    if counted.shape[0] == 0:
        raise ValueError("no valid step to count saturation over")
    return (counted < LEFT).mean(0), (counted > RIGHT).mean(0)


def saturation_frame(inside: Inside) -> pd.DataFrame:
    """One row per layer, gate and unit (left, right); a gate the cell lacks is one row
    without unit saying so (``note``), a cell without gates one row ``no gates``."""
    rows = []
    head = {"task": inside.task, "variant": inside.variant, "run": inside.run}
    for layer, trace in enumerate(inside.layers):
        for gate in _in_order(trace):
            if gate in trace.missing:
                rows.append(
                    {
                        **head,
                        "layer": layer,
                        "gate": gate,
                        "unit": None,
                        "left": np.nan,
                        "right": np.nan,
                        "note": f"no {trace.names.get(gate, gate)}",
                    }
                )
                continue
            left, right = saturation_fractions(trace.values[gate], inside.valid)
            rows += [
                {
                    **head,
                    "layer": layer,
                    "gate": gate,
                    "unit": unit,
                    "left": low,
                    "right": high,
                    "note": "",
                }
                for unit, (low, high) in enumerate(zip(left, right))
            ]
        if not trace.gates and not trace.missing:
            rows.append(
                {
                    **head,
                    "layer": layer,
                    "gate": "",
                    "unit": None,
                    "left": np.nan,
                    "right": np.nan,
                    "note": "no gates",
                }
            )
    frame = pd.DataFrame(rows)
    frame["unit"] = frame["unit"].astype("Int64")
    return frame


def _in_order(trace: LayerTrace) -> list[str]:
    """The gates present and missing in the order of ``trace.names`` (i, f, o for every
    LSTM, so that a missing gate keeps its column in a figure), others after them."""
    gates = set(trace.gates) | set(trace.missing)
    return [g for g in trace.names if g in gates] + sorted(gates - set(trace.names))


def over_time_frame(inside: Inside) -> pd.DataFrame:
    """Per layer and step, the mean over units and valid rows of f_t, |c_t| and |h_t| (a
    statistic the cell has not, e.g. the forget gate of a GRU, is left out)."""
    rows = []
    weight = inside.valid.astype(float)  # [T, B]
    count = np.maximum(weight.sum(1), 1.0)
    for layer, trace in enumerate(inside.layers):
        sources = {
            "forget gate": trace.values.get("f") if "f" in trace.gates else None,
            "abs c": _abs(trace.values.get("c")),
            "abs h": _abs(trace.values["h"]),
        }
        for statistic, values in sources.items():
            if values is None:
                continue
            per_step = (values.mean(-1) * weight).sum(1) / count
            rows += [
                {
                    "task": inside.task,
                    "variant": inside.variant,
                    "run": inside.run,
                    "layer": layer,
                    "statistic": statistic,
                    "step": t,
                    "value": v,
                }
                for t, v in enumerate(per_step)
                if weight[t].any()
            ]
    return pd.DataFrame(rows)


def _abs(values: np.ndarray | None) -> np.ndarray | None:
    return None if values is None else np.abs(values)


def saturation_summary(saturation: pd.DataFrame) -> pd.DataFrame:
    """Per task, variant and gate: units, mean left and right fractions, and the units
    saturated more than half the time on either side (a note where the gate is missing)."""
    gated = saturation.dropna(subset=["left"])
    summary = (
        gated.groupby(["task", "variant", "gate"], sort=False)
        .agg(
            units=("unit", "size"),
            left=("left", "mean"),
            right=("right", "mean"),
            mostly_left=("left", lambda s: int((s > 0.5).sum())),
            mostly_right=("right", lambda s: int((s > 0.5).sum())),
        )
        .reset_index()
    )
    summary["note"] = ""
    notes = saturation[saturation["left"].isna()][["task", "variant", "gate", "note"]]
    keys = ["task", "variant", "gate"]
    first = {
        key: k
        for k, key in enumerate(dict.fromkeys(saturation[keys].itertuples(index=False, name=None)))
    }  # the gates' own order
    table = pd.concat([summary, notes.drop_duplicates()], ignore_index=True)
    order = table[keys].apply(tuple, axis=1).map(first)
    return table.iloc[order.argsort(kind="stable")].reset_index(drop=True)
