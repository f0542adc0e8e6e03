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

Decision rules. A comparison counts as evidence only when it was tested; the order is always
(1) any tested evidence against the claim -> "contradicted"; (2) a needed variant or task
absent, or a needed comparison untested -> "inconclusive", with the reason as statistic;
(3) otherwise "reproduced". "Not significantly worse" on a tested comparison (at least
``min_trials`` per side) is taken as "not worse", as in the papers.

 1. reproduced: none of Greff's eight variants present is significantly better than lstm on
    any task; contradicted: one is. (gru and lstm-b are Jozefowicz's, not part of it.)
 2. reproduced: cifg and np are not significantly worse on any task; contradicted: one is.
 3. reproduced: nfg and noaf are significantly worse on every task they were run on;
    contradicted: one of them is not significantly worse (or is better) somewhere.
 4. per task, on the median shares over variants: holds when lr's main effect exceeds every
    other by at least ``SHARE_TIE``, hidden_size's exceeds every other but lr's by
    ``SHARE_TIE``, and momentum's (when analysed) is below ``SMALL_SHARE``; fails when an
    order is reversed by more than ``SHARE_TIE`` or momentum reaches ``SMALL_SHARE``; a tie
    otherwise. Reproduced: holds on every analysed task; contradicted: fails on one.
 5. per task, likewise: holds when the pairs together explain at most ``INTERACTION_RATIO``
    of what the main effects explain and lr x hidden_size is the largest pair by
    ``SHARE_TIE``; fails when the pairs exceed that ratio or another pair beats
    lr x hidden_size by more than ``SHARE_TIE``. Verdict as in 4.
 6. reproduced: fgr is not significantly better than lstm on any task (tested on all of
    them); contradicted: it is better somewhere.
 7. for each of nig, nog, niaf: not significantly worse on music (a task whose name starts
    with "music") and significantly worse on at least one other task. Contradicted: one of
    them is worse on music, or is tested on every other task and worse on none.
 8. "how much worse" is g_worse against lstm, averaged over the tasks that are not language
    modelling (the paper excepts those for the forget gate) on which all three of nfg, nig,
    nog are tested. Reproduced: nfg > nig > nog with each gap above ``ORDER_MARGIN``
    (Cohen's "small" effect); contradicted: a gap below -``ORDER_MARGIN``; else a tie.
 9. reproduced: lstm-b is not significantly worse than lstm nor than gru on any task;
    contradicted: it is worse than one of them somewhere; gru absent -> inconclusive.
10. reproduced: gru is not significantly worse than lstm on any task that is not language
    modelling ("lm", "lm-*", "language*", "ptb*"); contradicted: it is worse on one. Language
    modelling rows are shown but not judged: the paper makes them the exception.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Iterable, Mapping

import numpy as np
import pandas as pd

from results.evidence import (  # noqa: F401 - the evidence's names, re-exported
    _GREFF_SCALES, MIN_FANOVA_TRIALS, MIN_TRIALS, REFERENCE, SHARE_COLUMNS, TEST_COLUMNS,
    Importance, analysis_scale, comparisons, importances, is_language_model, is_music,
    median_shares)

GREFF_VARIANTS = ("nig", "nfg", "nog", "niaf", "noaf", "np", "cifg", "fgr")
REPRODUCED, CONTRADICTED, INCONCLUSIVE = "reproduced", "contradicted", "inconclusive"
SMALL_SHARE = 0.05       # "explains little": under 5 % of the variance
SHARE_TIE = 0.01         # shares closer than this are not ordered (forest noise is ~1 %)
INTERACTION_RATIO = 0.5  # "small": all pairs together at most half of all main effects
ORDER_MARGIN = 0.2       # finding 8: gaps in g below Cohen's small effect are ties
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
    1: "contradicted if one of Greff's eight variants is significantly better than lstm on a "
       "task; reproduced if none is and every comparison was tested",
    2: "contradicted if cifg or np is significantly worse than lstm on a task; reproduced if "
       "neither is, both ran and every comparison was tested",
    3: "reproduced if nfg and noaf are significantly worse than lstm on every task they ran "
       "on; contradicted if one of them is not, somewhere",
    4: f"per task (median share over variants): lr's main effect first and hidden_size's "
       f"second, each by ≥ {SHARE_TIE}, momentum's < {SMALL_SHARE}; reproduced if so on every "
       f"task, contradicted if an order is reversed by > {SHARE_TIE} or momentum ≥ "
       f"{SMALL_SHARE} on one",
    5: f"per task: all pairs together ≤ {INTERACTION_RATIO} × all main effects and lr × "
       f"hidden_size the largest pair by ≥ {SHARE_TIE}; reproduced if so on every task, "
       f"contradicted if the ratio is exceeded or another pair leads by > {SHARE_TIE} on one",
    6: "contradicted if fgr is significantly better than lstm on a task; reproduced if not "
       "and every task was tested",
    7: "each of nig, nog, niaf not significantly worse on music and significantly worse on "
       "≥ 1 other task; contradicted if one is worse on music or never worse elsewhere",
    8: f"mean Hedges' g against lstm over the non-LM tasks: reproduced if nfg > nig > nog "
       f"with both gaps > {ORDER_MARGIN}, contradicted if a gap < -{ORDER_MARGIN}",
    9: "contradicted if lstm-b is significantly worse than lstm or than gru on a task; "
       "reproduced if neither, every comparison tested",
    10: "contradicted if gru is significantly worse than lstm on a task that is not language "
        "modelling; reproduced if not, every such task tested (LM shown, not judged)",
}
_DETAIL_COLUMNS = ["task", "variant", "reference", "n", "n_ref", "median", "ref_median",
                   "g_worse", "p_holm", "verdict", "note"]


def check(trials: pd.DataFrame, space: Mapping[str, tuple[float, float, bool]],
          alpha: float = 0.05, min_trials: int = MIN_TRIALS, *,
          min_fanova_trials: int = MIN_FANOVA_TRIALS, n_trees: int = 32,
          tests: pd.DataFrame | None = None,
          importance: Importance | None = None) -> list[Finding]:
    """The ten findings, in order (decision rules: module docstring). ``tests`` and
    ``importance`` may be passed when already computed by :func:`comparisons` and
    :func:`importances` with the same settings, so the report computes them once."""
    if len(trials):
        missing = {"task", "variant", "value", "lower_is_better"} - set(trials.columns)
        if missing:
            raise ValueError(f"trials lack the columns {sorted(missing)}")
    tests = comparisons(trials, alpha, min_trials) if tests is None else tests
    importance = (importances(trials, space, min_fanova_trials, n_trees) if importance is None
                  else importance)
    present = set(trials["variant"].astype(str)) if len(trials) else set()
    tasks = set(trials["task"].astype(str)) if len(trials) else set()
    lstm = tests[tests["reference"] == REFERENCE]
    return [_simple(1, lstm[lstm["variant"].isin(GREFF_VARIANTS)], "better", (), present,
                    GREFF_VARIANTS),
            _simple(2, lstm[lstm["variant"].isin(["cifg", "np"])], "worse", ("cifg", "np"),
                    present),
            _simple(3, lstm[lstm["variant"].isin(["nfg", "noaf"])], "not worse",
                    ("nfg", "noaf"), present),
            _hyperparameter_order(importance, tasks), _interactions(importance, tasks),
            _simple(6, lstm[lstm["variant"] == "fgr"], "better", ("fgr",), present),
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
    """"nfg on lm (Holm p = 0.31, g = +0.12)" for each row, the first ``limit`` of them."""
    parts = []
    for r in rows.head(limit).itertuples():
        versus = "" if r.reference == REFERENCE else f" vs {r.reference}"
        parts.append(f"{r.variant}{versus} on {r.task}: {r.note}" if r.verdict == "untested"
                     else f"{r.variant}{versus} on {r.task} (Holm p = {_p(r.p_holm)}, "
                          f"g = {r.g_worse:+.2f})")
    return "; ".join(parts) + ("; …" if len(rows) > limit else "")


def _closest(rows: pd.DataFrame, towards: str) -> str:
    """The tested comparison leaning most towards ``towards`` ("better"/"worse") by p."""
    sign = -1.0 if towards == "better" else 1.0
    lean = rows[sign * rows["g_worse"] > 0].sort_values("p_holm")
    return f"closest: {_where(lean, 1).removesuffix('; …')}" if len(lean) else \
        f"no {towards} mean"


def _n(rows: pd.DataFrame) -> int:
    """Trials behind the tested comparisons: each variant's, and each reference's once."""
    done = rows[rows["verdict"] != "untested"]
    return int(done["n"].sum() + done.drop_duplicates(["task", "reference"])["n_ref"].sum())


def _undecided(rows: pd.DataFrame, needed: Iterable[str], present: set[str],
               variants: Iterable[str] = ()) -> str:
    """Why the comparisons cannot confirm a claim ("" when they can)."""
    absent = [v for v in needed if v not in present]
    if absent:
        return f"absent: {', '.join(absent)}"
    if rows.empty:
        return f"none of {_names(variants or needed)} ran on a task with its reference"
    untested = rows[rows["verdict"] == "untested"]
    return f"untested: {_where(untested)}" if len(untested) else ""


def _simple(number: int, rows: pd.DataFrame, against: str, needed: Iterable[str],
            present: set[str], variants: Iterable[str] = ()) -> Finding:
    """Findings 1, 2, 3, 6: every comparison of ``rows`` must avoid the verdict ``against``
    ("not worse" stands for "not significant" or "better")."""
    bad_verdicts = ("not significant", "better") if against == "not worse" else (against,)
    bad = rows[rows["verdict"].isin(bad_verdicts)]
    details = rows[_DETAIL_COLUMNS]
    if len(bad):
        return _finding(number, CONTRADICTED, f"{against} than lstm: {_where(bad)}",
                        _n(rows), details)
    reason = _undecided(rows, needed, present, variants)
    if reason:
        return _finding(number, INCONCLUSIVE, reason, _n(rows), details)
    names, k, tasks = _names(rows["variant"].unique()), len(rows), rows["task"].nunique()
    if against == "not worse":
        text = (f"{names} worse than lstm in {k}/{k} comparisons on {tasks} task(s), "
                f"Holm p ≤ {_p(rows['p_holm'].max())}, g ≥ {rows['g_worse'].min():+.2f}")
    else:
        text = (f"none of {names} {against} than lstm in {k} comparisons on {tasks} "
                f"task(s); {_closest(rows, against)}")
    return _finding(number, REPRODUCED, text, _n(rows), details)


def _music(lstm: pd.DataFrame, present: set[str]) -> Finding:
    """Finding 7 (rule: module docstring)."""
    needed = ("nig", "nog", "niaf")
    rows = lstm[lstm["variant"].isin(needed)]
    rows = rows.assign(music=rows["task"].map(is_music).astype(bool))  # bool even when empty
    details = rows[[*_DETAIL_COLUMNS, "music"]]
    music, other = rows[rows["music"]], rows[~rows["music"]]
    worse_elsewhere = set(other.loc[other["verdict"] == "worse", "variant"])
    never = [v for v, g in other.groupby("variant")
             if (g["verdict"] != "untested").all() and v not in worse_elsewhere]
    bad = music[music["verdict"] == "worse"]
    if len(bad) or never:
        text = "; ".join([f"worse on music: {_where(bad)}"] * bool(len(bad))
                         + [f"never worse on the other tasks: {_names(never)}"] * bool(never))
        return _finding(7, CONTRADICTED, text, _n(rows), details)
    reason = _undecided(rows, needed, present)
    if not reason and (no_music := [v for v in needed if v not in set(music["variant"])]):
        reason = f"not run on a music task: {_names(no_music)}"
    if not reason and (unsure := [v for v in needed if v not in worse_elsewhere]):
        reason = f"not run on a task other than music: {_names(unsure)}"
    if reason:
        return _finding(7, INCONCLUSIVE, reason, _n(rows), details)
    counts = ", ".join(f"{v} {int((g['verdict'] == 'worse').sum())}/{len(g)}"
                       for v, g in other.groupby("variant"))
    text = (f"nig, nog, niaf not worse on music ({_closest(music, 'worse')}); worse on the "
            f"other tasks: {counts}")
    return _finding(7, REPRODUCED, text, _n(rows), details)


def _gate_order(lstm: pd.DataFrame, present: set[str]) -> Finding:
    """Finding 8: nfg, nig, nog ordered by mean g_worse over the non-LM tasks on which all
    three are tested."""
    order = ["nfg", "nig", "nog"]
    rows = lstm[lstm["variant"].isin(order)
                & ~lstm["task"].map(is_language_model).astype(bool)]
    table = (rows.pivot_table(index="variant", columns="task", values="g_worse")
             if len(rows) else pd.DataFrame())
    table = table.reindex(order).dropna(axis=1, how="any")
    used = rows[rows["task"].isin(table.columns)]
    absent = [v for v in order if v not in present]
    if absent or table.shape[1] == 0:
        reason = (f"absent: {', '.join(absent)}" if absent else "no task (other than "
                  "language modelling) on which nfg, nig and nog are all tested")
        return _finding(8, INCONCLUSIVE, reason, _n(used), rows[_DETAIL_COLUMNS])
    mean = table.mean(axis=1)
    details = table.assign(mean_g_worse=mean).reset_index()
    gaps = [mean["nfg"] - mean["nig"], mean["nig"] - mean["nog"]]
    ranked = " > ".join(f"{v} {mean[v]:+.2f}" for v in mean.sort_values(ascending=False).index)
    text = (f"mean g against lstm over {table.shape[1]} non-LM task(s): {ranked}; gaps "
            f"nfg−nig {gaps[0]:+.2f}, nig−nog {gaps[1]:+.2f} (margin {ORDER_MARGIN})")
    verdict = (CONTRADICTED if min(gaps) < -ORDER_MARGIN else
               REPRODUCED if min(gaps) > ORDER_MARGIN else INCONCLUSIVE)
    return _finding(8, verdict, text, _n(used), details)


def _forget_bias(tests: pd.DataFrame, present: set[str]) -> Finding:
    """Finding 9: lstm-b not worse than lstm, nor than gru."""
    rows = tests[tests["variant"] == "lstm-b"]
    details = rows[_DETAIL_COLUMNS]
    bad = rows[rows["verdict"] == "worse"]
    if len(bad):
        return _finding(9, CONTRADICTED, f"worse: {_where(bad)}", _n(rows), details)
    reason = _undecided(rows, ("lstm-b", "gru"), present)
    for ref in ("gru", REFERENCE):
        if not reason and not (rows["reference"] == ref).any():
            reason = f"lstm-b and {ref} never ran on the same task"
    if reason:
        return _finding(9, INCONCLUSIVE, reason, _n(rows), details)
    parts = [f"not worse than {ref} on {len(g)} task(s) ({_closest(g, 'worse')})"
             for ref, g in rows.groupby("reference", sort=False)]
    return _finding(9, REPRODUCED, "lstm-b " + "; ".join(parts), _n(rows), details)


def _gru(lstm: pd.DataFrame, present: set[str]) -> Finding:
    """Finding 10: gru not worse than lstm on the tasks that are not language modelling."""
    rows = lstm[lstm["variant"] == "gru"]
    rows = rows.assign(language_model=rows["task"].map(is_language_model).astype(bool))
    judged = rows[~rows["language_model"]]
    details = rows[[*_DETAIL_COLUMNS, "language_model"]]
    bad = judged[judged["verdict"] == "worse"]
    if len(bad):
        return _finding(10, CONTRADICTED, f"worse than lstm: {_where(bad)}", _n(judged),
                        details)
    reason = _undecided(judged, ("gru",), present)
    if reason:
        if judged.empty and len(rows):
            reason = "gru ran on language-modelling tasks only"
        return _finding(10, INCONCLUSIVE, reason, _n(judged), details)
    better = int((judged["verdict"] == "better").sum())
    text = (f"gru not worse than lstm on {len(judged)}/{len(judged)} non-LM task(s), better "
            f"on {better} ({_closest(judged, 'worse')})")
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
    """Rows as JSON-ready dicts: NaN becomes None, tuples lists, numpy scalars Python's."""
    def clean(v: object) -> object:
        if isinstance(v, (tuple, list, frozenset)):
            return [clean(x) for x in v]
        if isinstance(v, np.generic):
            v = v.item()
        return None if isinstance(v, float) and math.isnan(v) else v
    return [{str(k): clean(v) for k, v in row.items()} for row in frame.to_dict("records")]
