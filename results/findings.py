"""The ten published findings of Greff et al. (2017) and Jozefowicz et al. (2015) as checks
on a table of finished trials, each with a verdict: reproduced, contradicted or inconclusive.

Input: ``trials``, one row per finished trial with ``task``, ``variant``, ``metric``,
``value`` (a diverged trial carries its task's chance level), ``lower_is_better``,
``chance``, ``diverged`` and the hyperparameter columns; ``space`` maps each searched
hyperparameter to ``(low, high, log)`` in its original units, exactly as the search drew it.

The evidence (the t-tests against lstm and the fANOVA shares) is computed by
results/evidence.py, once, and shared with the figures and the report.

The claims are short quotes or paraphrases after the project's notes on the papers
(/work/shared/REFERENCES.md, sections 1.7-1.9 and 2.1; several come from secondary sources).

Decision rules, fixed before the runs they judge (the evidence: results/evidence.py). Each
comparison is a paired one on the draws both cells trained on (lr >= 1e-4), in units of the
reference's gain over chance, with three answers: significantly worse or better (paired
t-test, Holm per task), ``not_worse`` (upper 95 % bound of the mean difference below the
margin, ``MARGIN`` = 0.2) and ``not_better`` (lower bound above -``MARGIN``). A claim that
something does not differ ("not worse", "no gain") is judged on practical equivalence: the
interval inside the margin reproduces it; a significant difference whose estimate exceeds
the margin ("relevantly" worse or better) contradicts it; anything else, absence of
significance included, is "inconclusive", with n and the difference the test could detect.
(With paired draws a tiny difference can be significant: within the margin it does not
contradict a claim of no difference.)

 1. contradicted: one of Greff's eight variants is relevantly better than lstm on a task;
    reproduced: every one is tested on every task and not better (lower bound > -margin).
    (gru and lstm-b are Jozefowicz's, not part of it.)
 2. contradicted: cifg or np is relevantly worse on a task; reproduced: both are tested on
    every task and not worse (upper bound < margin).
 3. reproduced: nfg and noaf are significantly worse on every task they were tested on;
    contradicted: one of them is significantly better, or not worse (upper bound < margin)
    without being significantly worse, somewhere.
 4. per task, on the median shares over variants: holds when lr's main effect exceeds every
    other by at least ``SHARE_TIE``, hidden_size's exceeds every other but lr's by
    ``SHARE_TIE``, and momentum's (when analysed) is below ``SMALL_SHARE``; fails when an
    order is reversed by more than ``SHARE_TIE`` or momentum reaches ``SMALL_SHARE``; a tie
    otherwise. Reproduced: holds on every analysed task; contradicted: fails on one.
 5. per task, likewise: holds when the pairs together explain at most ``INTERACTION_RATIO``
    of what the main effects explain and lr x hidden_size is the largest pair by
    ``SHARE_TIE``; fails when the pairs exceed that ratio or another pair beats
    lr x hidden_size by more than ``SHARE_TIE``. Verdict as in 4.
 6. contradicted: fgr is relevantly better than lstm on a task; reproduced: tested on every
    task and not better there.
 7. for each of nig, nog, niaf: not worse on music (a task whose name starts with "music";
    upper bound < margin) and significantly worse on at least one other task. Contradicted:
    one of them is relevantly worse on music, or on every other task not worse without
    being significantly worse.
 8. "how much worse" is the mean paired difference against lstm (``diff``), averaged over
    the tasks that are not language modelling (the paper excepts those for the forget gate)
    on which all three of nfg, nig, nog are tested. Reproduced: nfg > nig > nog with each
    gap above ``MARGIN``; contradicted: a gap below -``MARGIN``; else inconclusive.
 9. contradicted: lstm-b is relevantly worse than lstm or than gru on a task; reproduced:
    not worse than either on every task; gru absent -> inconclusive.
10. contradicted: gru is relevantly worse than lstm on a task that is not language
    modelling ("lm", "lm-*", "language*", "ptb*"); reproduced: not worse on every such task.
    Language modelling rows are shown but not judged: the paper makes them the exception.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Iterable, Mapping

import numpy as np
import pandas as pd

from results.evidence import (  # noqa: F401 - the evidence's names, re-exported
    _GREFF_SCALES, COMPARE_MIN_LR, MARGIN, MIN_FANOVA_TRIALS, MIN_TRIALS, REFERENCE,
    SHARE_COLUMNS, TEST_COLUMNS, TRAINED, Importance, analysis_scale, comparisons, compared,
    importances, is_language_model, is_music, median_shares, trained)

GREFF_VARIANTS = ("nig", "nfg", "nog", "niaf", "noaf", "np", "cifg", "fgr")
REPRODUCED, CONTRADICTED, INCONCLUSIVE = "reproduced", "contradicted", "inconclusive"
SMALL_SHARE = 0.05       # "explains little": under 5 % of the variance
SHARE_TIE = 0.01         # shares closer than this are not ordered (forest noise is ~1 %)
INTERACTION_RATIO = 0.5  # "small": all pairs together at most half of all main effects
GREFF, JOZEFOWICZ = "Greff et al. 2017", "Jozefowicz et al. 2015"


@dataclass(frozen=True, eq=False)  # eq=False: comparing DataFrames has no single truth value
class Finding:
    """One published claim and what the trials say about it."""

    number: int
    title: str
    claim: str       # the paper's words, short
    source: str      # "Greff et al. 2017" or "Jozefowicz et al. 2015"
    verdict: str     # reproduced | contradicted | inconclusive
    statistic: str   # one line: the numbers behind the verdict, or why there is none
    n: int           # trials that entered the evidence
    details: pd.DataFrame = field(default_factory=pd.DataFrame)

    def summary(self) -> dict[str, object]:
        """Everything but ``details``, JSON-ready."""
        return {"number": self.number, "title": self.title, "claim": self.claim,
                "source": self.source, "verdict": self.verdict, "statistic": self.statistic,
                "n": int(self.n)}


# ---------------------------------------------------------------- the checks

_CLAIMS: dict[int, tuple[str, str, str]] = {
    1: ("No variant beats vanilla LSTM", "None of the eight modifications significantly "
        "improves performance over vanilla LSTM.", GREFF),
    2: ("CIFG and NP cost nothing", "Coupling the input and forget gates (CIFG) or removing "
        "peephole connections (NP) simplifies LSTMs without significantly hurting "
        "performance.", GREFF),
    3: ("Forget gate and output activation are critical", "Removing the forget gate (NFG) "
        "or the output activation function (NOAF) significantly hurts on every dataset.",
        GREFF),
    4: ("Learning rate, then network size; momentum unimportant", "The learning rate is by "
        "far the most important hyperparameter, followed by network size; momentum matters "
        "little.", GREFF),
    5: ("Hyperparameters are nearly independent", "Interactions between hyperparameters are "
        "small; the largest is learning rate × network size.", GREFF),
    6: ("Full gate recurrence brings no gain", "FGR does not improve performance, despite "
        "its many extra weights.", GREFF),
    7: ("NIG, NOG, NIAF hurt, but not on music", "Removing the input gate, the output gate "
        "or the input activation function hurts on speech and handwriting, but not "
        "significantly on music modelling.", GREFF),
    8: ("Forget > input > output gate", "The forget gate is extremely significant (except "
        "in language modelling), the input gate important, the output gate unimportant.",
        JOZEFOWICZ),
    9: ("Forget-gate bias 1 closes the gap to GRU", "Adding a bias of 1 to the LSTM's "
        "forget gate closes the gap between the LSTM and the GRU.", JOZEFOWICZ),
    10: ("GRU at least as good as LSTM, except language modelling", "The GRU outperformed "
         "the LSTM on all tasks with the exception of language modelling.", JOZEFOWICZ),
}
# the decision rules of the module docstring, one line each, for the report
RULES: dict[int, str] = {
    1: "contradicted if one of Greff's eight variants is relevantly better than lstm on a "
       "task (significant, estimate beyond the margin); reproduced if each is tested on every "
       "task and not better (lower bound > -margin)",
    2: "contradicted if cifg or np is relevantly worse than lstm on a task (significant, "
       "estimate beyond the margin); reproduced if both are tested on every task and not "
       "worse (upper bound < margin)",
    3: "reproduced if nfg and noaf are significantly worse than lstm on every task they were "
       "tested on; contradicted if one of them is significantly better, or not worse (upper "
       "bound < margin) without being significantly worse, on a task",
    4: f"per task (median share over variants): lr's main effect first and hidden_size's "
       f"second, each by ≥ {SHARE_TIE}, momentum's < {SMALL_SHARE}; reproduced if so on every "
       f"task, contradicted if an order is reversed by > {SHARE_TIE} or momentum ≥ "
       f"{SMALL_SHARE} on one",
    5: f"per task: all pairs together ≤ {INTERACTION_RATIO} × all main effects and lr × "
       f"hidden_size the largest pair by ≥ {SHARE_TIE}; reproduced if so on every task, "
       f"contradicted if the ratio is exceeded or another pair leads by > {SHARE_TIE} on one",
    6: "contradicted if fgr is relevantly better than lstm on a task; reproduced if it is "
       "tested on every task and not better (lower bound > -margin)",
    7: "each of nig, nog, niaf not worse on music (upper bound < margin) and significantly "
       "worse on ≥ 1 other task; contradicted if one is relevantly worse on music, or on "
       "every other task not worse without being significantly worse",
    8: "mean paired difference against lstm over the non-LM tasks: reproduced if nfg > nig > "
       "nog with both gaps > margin, contradicted if a gap < -margin",
    9: "contradicted if lstm-b is relevantly worse than lstm or than gru on a task; "
       "reproduced if it is not worse (upper bound < margin) than either on every task",
    10: "contradicted if gru is relevantly worse than lstm on a task that is not language "
        "modelling; reproduced if not worse (upper bound < margin) on every such task (LM "
        "shown, not judged)",
}
_DETAIL_COLUMNS = ["task", "variant", "reference", "n", "median", "ref_median", "diff",
                   "low", "high", "detectable", "needed", "p_holm", "verdict", "not_worse",
                   "not_better", "note"]


def check(trials: pd.DataFrame, space: Mapping[str, tuple[float, float, bool]],
          alpha: float = 0.05, min_trials: int = MIN_TRIALS, *,
          min_fanova_trials: int = MIN_FANOVA_TRIALS, n_trees: int = 32,
          tests: pd.DataFrame | None = None,
          importance: Importance | None = None) -> list[Finding]:
    """The ten findings, in order (decision rules: module docstring). ``tests`` and
    ``importance`` may be passed when already computed by :func:`comparisons` and
    :func:`importances` with the same settings, so the report computes them once."""
    if len(trials):
        missing = {"task", "variant", "value", "lower_is_better", "chance",
                   "trial"} - set(trials.columns)
        if missing:
            raise ValueError(f"trials lack the columns {sorted(missing)}")
    tests = comparisons(trials, alpha, min_trials) if tests is None else tests
    importance = (importances(trials, space, min_fanova_trials, n_trees) if importance is None
                  else importance)
    present = set(trials["variant"].astype(str)) if len(trials) else set()
    tasks = set(trials["task"].astype(str)) if len(trials) else set()
    lstm = tests[tests["reference"] == REFERENCE]
    return [_no_difference(1, lstm[lstm["variant"].isin(GREFF_VARIANTS)], "better", (),
                           present, GREFF_VARIANTS),
            _no_difference(2, lstm[lstm["variant"].isin(["cifg", "np"])], "worse",
                           ("cifg", "np"), present),
            _worse(lstm[lstm["variant"].isin(["nfg", "noaf"])], present),
            _hyperparameter_order(importance, tasks), _interactions(importance, tasks),
            _no_difference(6, lstm[lstm["variant"] == "fgr"], "better", ("fgr",), present),
            _music(lstm, present), _gate_order(lstm, present), _forget_bias(tests, present),
            _gru(lstm, present)]


def _finding(number: int, verdict: str, statistic: str, n: int,
             details: pd.DataFrame) -> Finding:
    title, claim, source = _CLAIMS[number]
    return Finding(number, title, claim, source, verdict, statistic, int(n),
                   details.reset_index(drop=True))


def _p(p: float) -> str:
    return f"{p:.2g}"


def _where(rows: pd.DataFrame, limit: int = 4) -> str:
    """"nfg on lm (n = 18, diff +0.31 [+0.12, +0.50], Holm p = 0.01)" for each row, the first
    ``limit`` of them: the mean paired difference with its 90 % interval, in units of the
    reference's gain over chance, and for an undecided one what the test could detect."""
    parts = []
    for r in rows.head(limit).itertuples():
        versus = "" if r.reference == REFERENCE else f" vs {r.reference}"
        if r.verdict == "untested":
            parts.append(f"{r.variant}{versus} on {r.task}: {r.note}")
            continue
        text = (f"{r.variant}{versus} on {r.task} (n = {r.n}, diff {r.diff:+.2f} "
                f"[{r.low:+.2f}, {r.high:+.2f}], Holm p = {_p(r.p_holm)}")
        if r.verdict == "not significant" and not (r.not_worse and r.not_better):
            text += f", detectable {r.detectable:.2f}, {_needs(r.needed)}"
        parts.append(text + ")")
    return "; ".join(parts) + ("; …" if len(rows) > limit else "")


def _needs(needed: float) -> str:
    """What more draws would do for an undecided comparison."""
    if not math.isfinite(needed):
        return "beyond the margin at any n"
    return f"inside the margin with ~{int(needed)} draws"


def _n(rows: pd.DataFrame) -> int:
    """Trials behind the tested comparisons: each pair counts both of its trials."""
    done = rows[rows["verdict"] != "untested"]
    return int(2 * done["n"].sum())


def _undecided(rows: pd.DataFrame, needed: Iterable[str], present: set[str],
               variants: Iterable[str] = ()) -> str:
    """Why the comparisons cannot decide a claim yet ("" when nothing is missing)."""
    absent = [v for v in needed if v not in present]
    if absent:
        return f"absent: {', '.join(absent)}"
    if rows.empty:
        return f"none of {_names(variants or needed)} ran on a task with its reference"
    untested = rows[rows["verdict"] == "untested"]
    return f"untested: {_where(untested)}" if len(untested) else ""


def _relevant(rows: pd.DataFrame, direction: str) -> pd.DataFrame:
    """Rows significantly ``direction`` (worse/better) with an estimate beyond the margin."""
    beyond = rows["diff"] > MARGIN if direction == "worse" else rows["diff"] < -MARGIN
    return rows[(rows["verdict"] == direction) & beyond]


def _shown_not_worse(rows: pd.DataFrame) -> pd.Series:
    """Not worse by the interval, and not significantly worse either."""
    return rows["not_worse"].astype(bool) & (rows["verdict"] != "worse")


def _bounded(rows: pd.DataFrame, direction: str) -> pd.Series:
    """Rows whose interval shows the variant not ``direction`` (worse/better) than the
    reference by the margin."""
    return rows["not_worse" if direction == "worse" else "not_better"].astype(bool)


def _no_difference(number: int, rows: pd.DataFrame, against: str, needed: Iterable[str],
                   present: set[str], variants: Iterable[str] = ()) -> Finding:
    """Findings 1, 2, 6: no comparison of ``rows`` may be significantly ``against`` (worse or
    better), and every one must show by its interval that it is not."""
    details = rows[_DETAIL_COLUMNS]
    bad = _relevant(rows, against)
    if len(bad):
        return _finding(number, CONTRADICTED, f"relevantly {against} than lstm: {_where(bad)}",
                        _n(rows), details)
    reason = _undecided(rows, needed, present, variants)
    open_rows = rows[~_bounded(rows, against)]
    if not reason and len(open_rows):
        reason = (f"not shown not {against} (interval beyond the margin {MARGIN}): "
                  f"{_where(open_rows)}")
    if reason:
        return _finding(number, INCONCLUSIVE, reason, _n(rows), details)
    side = "low" if against == "better" else "high"
    edge = rows[side].min() if against == "better" else rows[side].max()
    text = (f"none of {_names(rows['variant'].unique())} {against} than lstm in {len(rows)} "
            f"comparisons on {rows['task'].nunique()} task(s); every interval inside the "
            f"margin ({'lowest lower' if against == 'better' else 'highest upper'} bound "
            f"{edge:+.2f}, margin {MARGIN})")
    return _finding(number, REPRODUCED, text, _n(rows), details)


def _worse(rows: pd.DataFrame, present: set[str]) -> Finding:
    """Finding 3: nfg and noaf significantly worse on every task they were tested on."""
    details = rows[_DETAIL_COLUMNS]
    bad = rows[(rows["verdict"] == "better") | _shown_not_worse(rows)]
    if len(bad):
        return _finding(3, CONTRADICTED, f"better or not worse than lstm: {_where(bad)}",
                        _n(rows), details)
    reason = _undecided(rows, ("nfg", "noaf"), present)
    unsure = rows[rows["verdict"] != "worse"]
    if not reason and len(unsure):
        reason = f"not significantly worse: {_where(unsure)}"
    if reason:
        return _finding(3, INCONCLUSIVE, reason, _n(rows), details)
    text = (f"nfg, noaf worse than lstm in {len(rows)}/{len(rows)} comparisons on "
            f"{rows['task'].nunique()} task(s), Holm p ≤ {_p(rows['p_holm'].max())}, diff ≥ "
            f"{rows['diff'].min():+.2f}")
    return _finding(3, REPRODUCED, text, _n(rows), details)


def _music(lstm: pd.DataFrame, present: set[str]) -> Finding:
    """Finding 7 (rule: module docstring)."""
    needed = ("nig", "nog", "niaf")
    rows = lstm[lstm["variant"].isin(needed)]
    rows = rows.assign(music=rows["task"].map(is_music).astype(bool))  # bool even when empty
    details = rows[[*_DETAIL_COLUMNS, "music"]]
    music, other = rows[rows["music"]], rows[~rows["music"]]
    worse_elsewhere = set(other.loc[other["verdict"] == "worse", "variant"])
    never = [v for v, g in other.groupby("variant") if _shown_not_worse(g).all()]
    bad = _relevant(music, "worse")
    if len(bad) or never:
        text = "; ".join([f"relevantly worse on music: {_where(bad)}"] * bool(len(bad))
                         + [f"not worse on any other task: {_names(never)}"] * bool(never))
        return _finding(7, CONTRADICTED, text, _n(rows), details)
    reason = _undecided(rows, needed, present)
    if not reason and (no_music := [v for v in needed if v not in set(music["variant"])]):
        reason = f"not run on a music task: {_names(no_music)}"
    if not reason and len(open_rows := music[~music["not_worse"].astype(bool)]):
        reason = (f"not shown not worse on music (interval beyond the margin {MARGIN}): "
                  f"{_where(open_rows)}")
    if not reason and (unsure := [v for v in needed if v not in worse_elsewhere]):
        reason = (f"not significantly worse on any other task: "
                  f"{_where(other[other['variant'].isin(unsure)])}")
    if reason:
        return _finding(7, INCONCLUSIVE, reason, _n(rows), details)
    counts = ", ".join(f"{v} {int((g['verdict'] == 'worse').sum())}/{len(g)}"
                       for v, g in other.groupby("variant"))
    text = (f"nig, nog, niaf not worse on music (highest upper bound "
            f"{music['high'].max():+.2f}, margin {MARGIN}); worse on the other tasks: {counts}")
    return _finding(7, REPRODUCED, text, _n(rows), details)


def _gate_order(lstm: pd.DataFrame, present: set[str]) -> Finding:
    """Finding 8: nfg, nig, nog ordered by their mean paired difference against lstm over
    the non-LM tasks on which all three are tested."""
    order = ["nfg", "nig", "nog"]
    rows = lstm[lstm["variant"].isin(order)
                & ~lstm["task"].map(is_language_model).astype(bool)]
    tested = rows[rows["verdict"] != "untested"]
    table = (tested.pivot_table(index="variant", columns="task", values="diff")
             if len(tested) else pd.DataFrame())
    table = table.reindex(order).dropna(axis=1, how="any")
    used = tested[tested["task"].isin(table.columns)]
    absent = [v for v in order if v not in present]
    if absent or table.shape[1] == 0:
        reason = (f"absent: {', '.join(absent)}" if absent else "no task (other than "
                  "language modelling) on which nfg, nig and nog are all tested")
        return _finding(8, INCONCLUSIVE, reason, _n(used), rows[_DETAIL_COLUMNS])
    mean = table.mean(axis=1)
    details = table.assign(mean_diff=mean).reset_index()
    gaps = [mean["nfg"] - mean["nig"], mean["nig"] - mean["nog"]]
    ranked = " > ".join(f"{v} {mean[v]:+.2f}" for v in mean.sort_values(ascending=False).index)
    text = (f"mean paired difference against lstm over {table.shape[1]} non-LM task(s) "
            f"(n = {int(used['n'].min())}-{int(used['n'].max())} draws each): {ranked}; gaps "
            f"nfg−nig {gaps[0]:+.2f}, nig−nog {gaps[1]:+.2f} (margin {MARGIN})")
    verdict = (CONTRADICTED if min(gaps) < -MARGIN else
               REPRODUCED if min(gaps) > MARGIN else INCONCLUSIVE)
    return _finding(8, verdict, text, _n(used), details)


def _forget_bias(tests: pd.DataFrame, present: set[str]) -> Finding:
    """Finding 9: lstm-b not worse than lstm, nor than gru."""
    rows = tests[tests["variant"] == "lstm-b"]
    details = rows[_DETAIL_COLUMNS]
    bad = _relevant(rows, "worse")
    if len(bad):
        return _finding(9, CONTRADICTED, f"relevantly worse: {_where(bad)}", _n(rows),
                        details)
    reason = _undecided(rows, ("lstm-b", "gru"), present)
    for ref in ("gru", REFERENCE):
        if not reason and not (rows["reference"] == ref).any():
            reason = f"lstm-b and {ref} never ran on the same task"
    if not reason and len(open_rows := rows[~rows["not_worse"].astype(bool)]):
        reason = (f"not shown not worse (interval beyond the margin {MARGIN}): "
                  f"{_where(open_rows)}")
    if reason:
        return _finding(9, INCONCLUSIVE, reason, _n(rows), details)
    parts = [f"not worse than {ref} on {len(g)} task(s) (highest upper bound "
             f"{g['high'].max():+.2f})" for ref, g in rows.groupby("reference", sort=False)]
    return _finding(9, REPRODUCED, "lstm-b " + "; ".join(parts) + f", margin {MARGIN}",
                    _n(rows), details)


def _gru(lstm: pd.DataFrame, present: set[str]) -> Finding:
    """Finding 10: gru not worse than lstm on the tasks that are not language modelling."""
    rows = lstm[lstm["variant"] == "gru"]
    rows = rows.assign(language_model=rows["task"].map(is_language_model).astype(bool))
    judged = rows[~rows["language_model"]]
    details = rows[[*_DETAIL_COLUMNS, "language_model"]]
    bad = _relevant(judged, "worse")
    if len(bad):
        return _finding(10, CONTRADICTED, f"relevantly worse than lstm: {_where(bad)}",
                        _n(judged), details)
    reason = _undecided(judged, ("gru",), present)
    if reason and judged.empty and len(rows):
        reason = "gru ran on language-modelling tasks only"
    if not reason and len(open_rows := judged[~judged["not_worse"].astype(bool)]):
        reason = (f"not shown not worse (interval beyond the margin {MARGIN}): "
                  f"{_where(open_rows)}")
    if reason:
        return _finding(10, INCONCLUSIVE, reason, _n(judged), details)
    better = int((judged["verdict"] == "better").sum())
    text = (f"gru not worse than lstm on {len(judged)}/{len(judged)} non-LM task(s) (highest "
            f"upper bound {judged['high'].max():+.2f}, margin {MARGIN}), better on {better}")
    return _finding(10, REPRODUCED, text, _n(judged), details)


# ---------------------------------------------------------------- fANOVA findings (4, 5)

Judge = Callable[[pd.DataFrame], tuple[str, str, dict[str, object]]]


def _per_task(importance: Importance, tasks: set[str], number: int, judge: Judge,
              summary: Callable[[pd.DataFrame], str]) -> Finding:
    """``judge`` each task's median shares ("holds", "fails", "tie" or "n/a", a short text,
    the evidence row). Reproduced when it holds on every task of the trials, contradicted
    when it fails on one; ``summary`` of the details table is the reproduced statistic."""
    analysed = importance.shares.drop_duplicates(["task", "variant"])
    n = int(analysed["n"].sum())
    rows = []
    for task, frame in median_shares(importance.shares).groupby("task", sort=True):
        status, text, evidence = judge(frame)
        rows.append({"task": str(task), "variants": int(frame["variants"].max()), **evidence,
                     "status": status, "why": text})
    details = (pd.DataFrame(rows) if rows
               else pd.DataFrame(columns=["task", "variants", "status", "why"]))
    fails = details[details["status"] == "fails"]
    if len(fails):
        return _finding(number, CONTRADICTED, "; ".join(f"{r.task}: {r.why}" for r in
                                                        fails.itertuples()), n, details)
    unsure = [f"{r.task}: {r.status}, {r.why}" for r in details.itertuples()
              if r.status != "holds"]
    missing = sorted(tasks - set(details["task"]))
    if missing or unsure or details.empty:
        skipped = importance.skipped
        why = ([r.reason for r in skipped.itertuples() if r.task == ""] + unsure
               + [f"not analysed: {', '.join(missing)}"] * bool(missing)
               + [f"{r.task}/{r.variant} {r.reason}" for r in skipped.itertuples()
                  if r.task in missing])
        return _finding(number, INCONCLUSIVE, "; ".join(why[:4]) + "; …" * (len(why) > 4)
                        or "no task could be analysed", n, details)
    return _finding(number, REPRODUCED, summary(details), n, details)


def _hyperparameter_order(importance: Importance, tasks: set[str]) -> Finding:
    def judge(frame: pd.DataFrame) -> tuple[str, str, dict[str, object]]:
        greff_first = {k: i for i, k in enumerate(_GREFF_SCALES)}  # columns in a fixed order
        mains = dict(sorted(zip(frame.loc[frame["order"] == 1, "term"],
                                frame.loc[frame["order"] == 1, "share"]),
                            key=lambda kv: (greff_first.get(kv[0], len(greff_first)), kv[0])))
        ranked = sorted(mains, key=mains.__getitem__, reverse=True)
        shown = ", ".join(f"{k} {mains[k]:.2f}" for k in ranked)
        if "lr" not in mains or "hidden_size" not in mains:
            return "n/a", "lr or hidden_size not analysed", mains
        rest = [v for k, v in mains.items() if k not in ("lr", "hidden_size")]
        rival_lr = max([mains["hidden_size"], *rest])
        rival_hidden = max(rest, default=-math.inf)
        fails = (rival_lr > mains["lr"] + SHARE_TIE
                 or rival_hidden > mains["hidden_size"] + SHARE_TIE
                 or mains.get("momentum", 0.0) >= SMALL_SHARE)
        holds = (mains["lr"] >= rival_lr + SHARE_TIE
                 and mains["hidden_size"] >= rival_hidden + SHARE_TIE)
        return ("fails" if fails else "holds" if holds else "tie"), shown, mains

    def summary(d: pd.DataFrame) -> str:
        text = (f"lr first ({_range(d['lr'])}), hidden_size second "
                f"({_range(d['hidden_size'])})")
        text += (f", momentum ≤ {d['momentum'].max():.2g}" if "momentum" in d
                 else ", momentum not analysed")
        return text + f" on {len(d)}/{len(d)} task(s) (median main-effect share over variants)"
    return _per_task(importance, tasks, 4, judge, summary)


def _interactions(importance: Importance, tasks: set[str]) -> Finding:
    key = frozenset(("lr", "hidden_size"))

    def judge(frame: pd.DataFrame) -> tuple[str, str, dict[str, object]]:
        mains = float(frame.loc[frame["order"] == 1, "share"].sum())
        pairs = frame[frame["order"] == 2].sort_values("share", ascending=False)
        total = float(pairs["share"].sum())
        is_key = pairs["variables"].map(frozenset) == key
        evidence: dict[str, object] = {
            "main_effects": mains, "pairs": total, "ratio": total / mains if mains else math.nan,
            "largest_pair": pairs["term"].iloc[0] if len(pairs) else "",
            "lr_x_hidden": float(pairs.loc[is_key, "share"].sum()) if is_key.any() else math.nan}
        if not is_key.any():
            return "n/a", "lr × hidden_size not analysed", evidence
        lr_hidden = float(pairs.loc[is_key, "share"].iloc[0])
        rival = float(pairs.loc[~is_key, "share"].max()) if (~is_key).any() else -math.inf
        shown = (f"pairs/main effects {total:.2f}/{mains:.2f}; largest pair "
                 f"{evidence['largest_pair']} {pairs['share'].iloc[0]:.3f}")
        fails = total > INTERACTION_RATIO * mains or rival > lr_hidden + SHARE_TIE
        holds = lr_hidden >= rival + SHARE_TIE
        return ("fails" if fails else "holds" if holds else "tie"), shown, evidence

    def summary(d: pd.DataFrame) -> str:
        return (f"pairs explain {_range(d['ratio'])} × what main effects do (limit "
                f"{INTERACTION_RATIO}); largest pair lr × hidden_size ({_range(d['lr_x_hidden'])}"
                f") on {len(d)}/{len(d)} task(s) (median share over variants)")
    return _per_task(importance, tasks, 5, judge, summary)


def _range(values: pd.Series, fmt: str = "{:.2g}") -> str:
    lo, hi = float(values.min()), float(values.max())
    return fmt.format(lo) if fmt.format(lo) == fmt.format(hi) else \
        f"{fmt.format(lo)}–{fmt.format(hi)}"


def _names(values: Iterable[str]) -> str:
    return ", ".join(sorted(map(str, values)))


def as_records(frame: pd.DataFrame) -> list[dict[str, object]]:
    """Rows as JSON-ready dicts: NaN and infinities become None (JSON has neither), tuples
    lists, numpy scalars Python's."""
    def clean(v: object) -> object:
        if isinstance(v, (tuple, list, frozenset)):
            return [clean(x) for x in v]
        if isinstance(v, np.generic):
            v = v.item()
        return None if isinstance(v, float) and not math.isfinite(v) else v
    return [{str(k): clean(v) for k, v in row.items()} for row in frame.to_dict("records")]
