"""Which units of a language model track simple features of the text (Karpathy, Johnson &
Fei-Fei 2015 found cells for quotes, brackets and the position in a line).

Each feature is computed from the input tokens alone (a small reader of the text, not a
parser: a passage that starts inside a string or a bracket is read as if outside); the unit
whose activation (cell state ``c`` where the cell has one, output ``h``) correlates most with
it over every step and column of the batch is named for it, with its Pearson r.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from results.tables.inside import Inside

NEWLINES = ("\n", "<eos>")  # a line ends at a newline character, or at a word corpus's <eos>
OPENING, CLOSING, QUOTES = "([{", ")]}", "\"'"
PASSAGE = 240  # tokens of the passage a heat map shows
FEATURES = ("inside quotes", "inside brackets", "inside a comment", "position in line")


def _read(tokens: list[str]) -> dict[str, np.ndarray]:
    """Per token, after reading it: inside quotes (a one-quote string ends at its line, a
    triple-quoted one does not), inside brackets, inside a comment, and the position in the
    line (tokens since the last line end)."""
    quote, depth, comment, position, skip = "", 0, False, 0, 0
    out = {name: np.zeros(len(tokens)) for name in FEATURES}
    for t, token in enumerate(tokens):
        triple = tokens[t : t + 3] == [token] * 3
        if token in NEWLINES:
            comment, position = False, 0
            quote = quote if len(quote) == 3 else ""
        else:
            position += 1
            if skip:  # the rest of a triple quote
                skip -= 1
            elif quote:
                if token == quote[0] and (len(quote) == 1 or triple):
                    quote, skip = "", len(quote) - 1
            elif comment:
                pass
            elif token in QUOTES:
                quote, skip = (token * 3, 2) if triple else (token, 0)
            elif token == "#":
                comment = True
            elif token in OPENING:
                depth += 1
            elif token in CLOSING:
                depth = max(depth - 1, 0)
        out["inside quotes"][t] = bool(quote)
        out["inside brackets"][t] = depth > 0
        out["inside a comment"][t] = comment
        out["position in line"][t] = position
    return out


def features(tokens: list[list[str]]) -> dict[str, np.ndarray]:
    """Every feature ``[T, B]`` of the columns ``tokens[b][t]``."""
    per_column = [_read(column) for column in tokens]
    return {name: np.stack([c[name] for c in per_column], 1) for name in FEATURES}


def signals(inside: Inside) -> list[tuple[int, str, np.ndarray]]:
    """(layer, name, values ``[T, B, N]``) of what a unit shows: c where there is one, h."""
    return [
        (layer, name, trace.values[name])
        for layer, trace in enumerate(inside.layers)
        for name in ("c", "h")
        if name in trace.values
    ]


def correlations(feature: np.ndarray, values: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Pearson r of ``feature`` ``[T, B]`` with each unit of ``values`` ``[T, B, N]`` over the
    valid steps (NaN for a unit or feature that does not vary)."""
    f, v = feature[valid], values[valid]
    f, v = f - f.mean(), v - v.mean(0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (f @ v) / (np.sqrt((f**2).sum()) * np.sqrt((v**2).sum(0)))


def text_units(inside: Inside) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per feature, the most correlated unit (``units``) and its activation over the passage
    read by the first column (``passages``: token, value per step). Empty without tokens."""
    if inside.tokens is None:
        return pd.DataFrame(), pd.DataFrame()
    head = {"task": inside.task, "variant": inside.variant, "run": inside.run}
    units, passages = [], []
    for name, feature in features(inside.tokens).items():
        best = None
        for layer, signal, values in signals(inside):
            r = correlations(feature, values, inside.valid)
            if np.isfinite(r).any():
                unit = int(np.nanargmax(np.abs(r)))
                if best is None or abs(r[unit]) > abs(best[3]):
                    best = (layer, signal, unit, float(r[unit]), values[:, 0, unit])
        if best is None:  # the feature never changes in this batch
            units.append(
                {**head, "feature": name, "layer": None, "signal": "", "unit": None, "r": np.nan}
            )
            continue
        layer, signal, unit, r, trace = best
        units.append(
            {**head, "feature": name, "layer": layer, "signal": signal, "unit": unit, "r": r}
        )
        steps = min(PASSAGE, len(trace))
        passages += [
            {
                **head,
                "feature": name,
                "step": t,
                "token": inside.tokens[0][t],
                "value": float(trace[t]),
                "feature_value": float(feature[t, 0]),
            }
            for t in range(steps)
            if inside.valid[t, 0]
        ]
    units_frame = pd.DataFrame(units)
    for column in ("layer", "unit"):
        units_frame[column] = units_frame[column].astype("Int64")
    return units_frame, pd.DataFrame(passages)
