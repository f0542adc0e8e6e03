"""The ten published findings of Greff et al. (2017) and Jozefowicz et al. (2015) as checks
on a table of finished trials, each with a verdict: reproduced, contradicted or inconclusive.

Input: ``trials``, one row per finished trial with ``task``, ``variant``, ``value`` (the test
metric; a diverged trial carries its task's chance level), ``valid`` (its best validation
metric), ``lower_is_better``, ``chance``, ``diverged``, ``trial`` (the draw k), ``study``
and the hyperparameter columns; ``best``, the paper's analysis of them
(``top_trials.primary``), and ``shares``, the fANOVA shares of the Greff datasets with their
bootstrap intervals (``importance.share_intervals``), both computed once by the caller.

A finding is judged by the paper's own analysis (results/analysis/top_trials.py: each variant's best
10 % of trials by validation against vanilla LSTM's, Welch's t-test, in the metric's units)
on the paper's own data or a declared stand-in (results/analysis/scope.py): findings 1-7 on Greff's
datasets, 8-10 on Jozefowicz's kinds of task. Every other task is an extension, shown in the
report's "beyond the paper" section and deciding nothing. Each verdict applies Holm's
correction over all the tests it spans, and names its data, protocol and trials.

The claims are short quotes or paraphrases after the project's notes on the papers
(/work/shared/REFERENCES.md, sections 1.7-1.9 and 2.1; several come from secondary sources).
The decision rules are ``RULES`` below, one line each, written before the runs they judge
(docs/reproduction.md prints them and a test holds the two together).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from results.analysis import scope
from results.analysis.importance import MIN_FANOVA_TRIALS, RATIO_TERM, stats_bootstrap
from results.analysis.top_trials import REFERENCE, best_by_validation, holm_within

GREFF_VARIANTS = ("nig", "nfg", "nog", "niaf", "noaf", "np", "cifg", "fgr")
REPRODUCED, CONTRADICTED, INCONCLUSIVE = "reproduced", "contradicted", "inconclusive"
SMALL_SHARE = 0.05  # "matters little": under 5 % of the variance
INTERACTION_RATIO = 0.5  # "small": all pairs together at most half of all main effects
GAP_RESAMPLES = 2000  # bootstrap resamples of finding 8's gaps
GREFF, JOZEFOWICZ = "Greff et al. 2017", "Jozefowicz et al. 2015"


@dataclass(frozen=True, eq=False)  # eq=False: comparing DataFrames has no single truth value
class Finding:
    """One published claim and what the trials say about it."""

    number: int
    title: str
    claim: str  # the paper's words, short
    source: str  # "Greff et al. 2017" or "Jozefowicz et al. 2015"
    verdict: str  # reproduced | contradicted | inconclusive
    statistic: str  # one line: the numbers behind the verdict, or why there is none
    n: int  # trials that entered the evidence (all draws the best ones came from)
    data: str = ""  # the datasets it was judged on
    rests_on: str = ""  # the trials: study, variant and draws
    details: pd.DataFrame = field(default_factory=pd.DataFrame)

    def summary(self) -> dict[str, object]:
        """Everything but ``details``, JSON-ready."""
        return {
            "number": self.number,
            "title": self.title,
            "claim": self.claim,
            "source": self.source,
            "verdict": self.verdict,
            "statistic": self.statistic,
            "n": int(self.n),
            "data": self.data,
            "rests_on": self.rests_on,
        }


# ---------------------------------------------------------------- the claims and rules

_CLAIMS: dict[int, tuple[str, str, str]] = {
    1: (
        "No variant beats vanilla LSTM",
        "None of the eight modifications significantly improves performance over vanilla LSTM.",
        GREFF,
    ),
    2: (
        "CIFG and NP cost nothing",
        "Coupling the input and forget gates (CIFG) or removing "
        "peephole connections (NP) simplifies LSTMs without significantly hurting "
        "performance.",
        GREFF,
    ),
    3: (
        "Forget gate and output activation are critical",
        "Removing the forget gate (NFG) "
        "or the output activation function (NOAF) significantly hurts on every dataset.",
        GREFF,
    ),
    4: (
        "Learning rate, then network size; momentum unimportant",
        "The learning rate is by "
        "far the most important hyperparameter, followed by network size; momentum matters "
        "little.",
        GREFF,
    ),
    5: (
        "Hyperparameters are nearly independent",
        "Interactions between hyperparameters are "
        "small; the largest is learning rate × network size.",
        GREFF,
    ),
    6: (
        "Full gate recurrence brings no gain",
        "FGR does not improve performance, despite its many extra weights.",
        GREFF,
    ),
    7: (
        "NIG, NOG, NIAF hurt, but not on music",
        "Removing the input gate, the output gate "
        "or the input activation function hurts on speech and handwriting, but not "
        "significantly on music modelling.",
        GREFF,
    ),
    8: (
        "Forget > input > output gate",
        "The forget gate is extremely significant (except "
        "in language modelling), the input gate important, the output gate unimportant.",
        JOZEFOWICZ,
    ),
    9: (
        "Forget-gate bias 1 closes the gap to GRU",
        "Adding a bias of 1 to the LSTM's forget gate closes the gap between the LSTM and the GRU.",
        JOZEFOWICZ,
    ),
    10: (
        "GRU better than LSTM, except language modelling",
        "The GRU outperformed the LSTM on all tasks with the exception of language modelling.",
        JOZEFOWICZ,
    ),
}
RULES: dict[int, str] = {
    1: "contradicted if one of Greff's eight variants is significantly better than lstm "
    "(Holm over the tests the verdict spans) by more than the margin on a Greff dataset; "
    "reproduced if each is tested on every Greff dataset and its interval excludes a gain "
    "as large as the margin",
    2: "contradicted if cifg or np is significantly worse than lstm by more than the margin "
    "on a Greff dataset; reproduced if both are tested on every Greff dataset and their "
    "intervals exclude a loss as large as the margin",
    3: "reproduced if nfg and noaf are each significantly worse than lstm on every Greff "
    "dataset; contradicted if one is significantly better, or its interval excludes a loss "
    "as large as the margin, on one",
    4: f"per Greff dataset, on fANOVA main-effect shares (median over variants, 95 % bootstrap "
    f"intervals over trials): holds if lr's interval lies above every other's, "
    f"hidden_size's estimate is second and momentum's interval ends below {SMALL_SHARE}; "
    f"fails if another's interval lies above lr's, momentum's starts at {SMALL_SHARE} or "
    f"above, or hidden_size's lies below another's that is not lr; reproduced if it holds "
    f"on every dataset, contradicted if it fails on one",
    5: f"per Greff dataset: holds if the pairwise shares together are at most "
    f"{INTERACTION_RATIO} of the main effects (the ratio's 95 % bootstrap interval ends at "
    f"or below {INTERACTION_RATIO}); fails if the interval starts above "
    f"{INTERACTION_RATIO}; the largest pair is shown, not judged; reproduced if it holds "
    f"on every dataset, contradicted if it fails on one",
    6: "contradicted if fgr is significantly better than lstm by more than the margin on a "
    "Greff dataset; reproduced if it is tested on every Greff dataset and its interval "
    "excludes a gain as large as the margin",
    7: "music half: nig, nog and niaf not worse than lstm on JSB Chorales (intervals exclude "
    "a loss as large as the margin; contradicted by a significant loss beyond it); speech "
    "and handwriting half: each significantly worse on the TIMIT and IAM Online stand-ins "
    "(contradicted if shown not worse); the verdict is the tested halves', and says which "
    "half it rests on",
    8: "on each of Jozefowicz's kinds of data other than language modelling, the mean test "
    "metric of the best 10 % of nfg, nig and nog minus lstm's (the loss of removing each "
    "gate), with 95 % bootstrap intervals of the gaps nfg−nig and nig−nog: reproduced if "
    "both gaps' intervals lie above 0 on every dataset, contradicted if one lies below 0 "
    "on one",
    9: "contradicted if lstm-b's best trials are significantly worse than gru's by more than "
    "the margin on one of Jozefowicz's kinds of data; reproduced if on every such dataset "
    "the interval excludes a loss to gru as large as the margin",
    10: "reproduced if gru's best trials are significantly better than lstm's on every one "
    "of Jozefowicz's kinds of data other than language modelling; contradicted if gru is "
    "significantly worse, or equivalent (interval inside the margin), on one",
}


def check(
    trials: pd.DataFrame, best: pd.DataFrame, shares: pd.DataFrame, alpha: float = 0.05
) -> list[Finding]:
    """The ten findings, in order (rules: ``RULES``), from the paper's analysis ``best``
    (``top_trials.primary``) and the fANOVA ``shares`` of the Greff datasets with their
    intervals (``importance.share_intervals``), both computed once by the caller."""
    if len(trials):
        missing = {"task", "variant", "value", "valid", "lower_is_better", "chance", "trial"} - set(
            trials.columns
        )
        if missing:
            raise ValueError(f"trials lack the columns {sorted(missing)}")
    tasks = set(trials["task"].astype(str)) if len(trials) else set()
    greff, joz = scope.greff_tasks(tasks), scope.jozefowicz_tasks(tasks, language_model=False)
    ctx = _Context(trials, best, alpha, {str(v) for v in trials.get("variant", [])})
    return [
        ctx.no_difference(1, GREFF_VARIANTS, greff, "better"),
        ctx.no_difference(2, ("cifg", "np"), greff, "worse"),
        ctx.harm(3, ("nfg", "noaf"), greff),
        _hyperparameter_order(shares, greff, ctx),
        _interactions(shares, greff, ctx),
        ctx.no_difference(6, ("fgr",), greff, "better"),
        ctx.music(),
        _gate_order(ctx, joz),
        ctx.no_difference(9, ("lstm-b",), scope.jozefowicz_tasks(tasks), "worse", reference="gru"),
        ctx.outperforms(10, "gru", joz),
    ]


def verdict_table(results: list[Finding]) -> pd.DataFrame:
    """One row per finding: its verdict, the data it was judged on and the numbers."""
    return pd.DataFrame(
        [
            {
                "#": f.number,
                "finding": f.title,
                "source": f.source,
                "verdict": f.verdict,
                "data": f.data,
                "statistic": f.statistic,
                "n": f.n,
            }
            for f in results
        ]
    )


def _finding(
    number: int,
    verdict: str,
    statistic: str,
    n: int,
    data: str,
    rests_on: str,
    details: pd.DataFrame,
) -> Finding:
    title, claim, source = _CLAIMS[number]
    return Finding(
        number,
        title,
        claim,
        source,
        verdict,
        statistic,
        int(n),
        data,
        rests_on,
        details.reset_index(drop=True),
    )


@dataclass
class _Context:
    """What the Welch-based findings share: the trials, the primary table, alpha."""

    trials: pd.DataFrame
    best: pd.DataFrame
    alpha: float
    present: set[str]

    def rows(
        self, variants: Iterable[str], tasks: list[str], reference: str = REFERENCE
    ) -> pd.DataFrame:
        """The primary rows of ``variants`` on ``tasks``, Holm-adjusted over them alone,
        with what each shows: ``significant`` worse/better, ``beyond`` the margin, the
        interval's ``not_worse``/``not_better``."""
        b = self.best
        rows = b[
            b["variant"].isin(list(variants))
            & b["task"].isin(tasks)
            & (b["reference"] == reference)
        ].copy()
        rows["p_holm"] = holm_within(rows)
        tested = rows["note"] == ""
        significant = tested & (rows["p_holm"] < self.alpha)
        rows["verdict"] = np.where(
            ~tested,
            "untested",
            np.where(significant, np.where(rows["diff"] > 0, "worse", "better"), "not significant"),
        )
        rows["not_worse"] = tested & (rows["high"] < rows["margin"])
        rows["not_better"] = tested & (rows["low"] > -rows["margin"])
        rows["beyond"] = rows["diff"].abs() > rows["margin"]
        return rows

    def n(self, variants: Iterable[str], tasks: list[str], reference: str = REFERENCE) -> int:
        t = self.trials
        if t.empty:
            return 0
        return int((t["task"].isin(tasks) & t["variant"].isin([*variants, reference])).sum())

    def rests_on(self, rows: pd.DataFrame) -> str:
        """ "reproduce-quick-music: lstm 3, 17; nfg 4, 9" from the rows' best trials."""
        studies = (
            self.trials.groupby("task")["study"].first().to_dict()
            if "study" in self.trials and len(self.trials)
            else {}
        )
        parts: dict[str, dict[str, list[int]]] = {}
        for r in rows.itertuples():
            where = parts.setdefault(str(studies.get(r.task, r.task)), {})
            where.setdefault(r.reference, list(r.ref_trials))
            where.setdefault(r.variant, list(r.trials))
        return "; ".join(
            f"{study}: " + ", ".join(f"{v} {' '.join(map(str, ks))}" for v, ks in found.items())
            for study, found in parts.items()
        )

    def missing(
        self, variants: Iterable[str], tasks: list[str], what: str, reference: str = REFERENCE
    ) -> str:
        """Why nothing can be judged yet ("" when the variants and data are all there)."""
        absent = [v for v in [reference, *variants] if v not in self.present]
        if absent:
            return f"absent: {', '.join(absent)}"
        if not tasks:
            return f"no {what} among the tasks run"
        return ""

    def scope(self, tasks: list[str], rows: pd.DataFrame) -> str:
        tops = rows[rows["note"] == ""]
        if tops.empty:
            return scope.names(tasks)
        return (
            f"{scope.names(tasks)}; best {_span(tops['top'])} of {_span(tops['n'])} "
            f"trials a variant; Holm over {len(tops)} test(s)"
        )

    def finding(
        self,
        number: int,
        verdict: str,
        text: str,
        variants: Iterable[str],
        tasks: list[str],
        rows: pd.DataFrame,
        reference: str = REFERENCE,
    ) -> Finding:
        return _finding(
            number,
            verdict,
            f"{text} [{self.scope(tasks, rows)}]",
            self.n(variants, tasks, reference),
            scope.names(tasks),
            self.rests_on(rows),
            rows[_DETAILS],
        )

    # -------------------------------------------------- claims of no difference (1, 2, 6, 9)
    def no_difference(
        self,
        number: int,
        variants: tuple[str, ...],
        tasks: list[str],
        against: str,
        reference: str = REFERENCE,
    ) -> Finding:
        rows = self.rows(variants, tasks, reference)
        versus = f"than {reference}"
        bad = rows[(rows["verdict"] == against) & rows["beyond"]]
        if len(bad):
            return self.finding(
                number,
                CONTRADICTED,
                f"significantly {against} {versus} by more than the margin: {_where(bad)}",
                variants,
                tasks,
                rows,
                reference,
            )
        reason = self.missing(variants, tasks, "paper data", reference) or self.untested(
            rows, variants, tasks
        )
        side = "not_worse" if against == "worse" else "not_better"
        if not reason and len(open_rows := rows[~rows[side]]):
            reason = f"interval reaches beyond the margin: {_where(open_rows)}"
        if reason:
            return self.finding(number, INCONCLUSIVE, reason, variants, tasks, rows, reference)
        edge = rows["high"].max() if against == "worse" else rows["low"].min()
        return self.finding(
            number,
            REPRODUCED,
            f"none of {_names(variants)} {against} "
            f"{versus} in {len(rows)} test(s) "
            f"({'highest upper' if against == 'worse' else 'lowest lower'} "
            f"bound {edge:+.3g}, margin {_margins(rows)})",
            variants,
            tasks,
            rows,
            reference,
        )

    def untested(self, rows: pd.DataFrame, variants: Iterable[str], tasks: list[str]) -> str:
        """The comparisons that are missing or could not be done."""
        have = {(r.task, r.variant) for r in rows.itertuples()}
        lacking = [f"{v} on {t}" for t in tasks for v in variants if (t, v) not in have]
        undone = rows[rows["note"] != ""]
        parts = ([f"not run: {', '.join(lacking)}"] if lacking else []) + [
            f"{_names(group['variant'])} on {task}: {note}"
            for (task, note), group in undone.groupby(["task", "note"], sort=True)
        ]
        return "; ".join(parts)

    # -------------------------------------------------- claims of harm (3)
    def harm(self, number: int, variants: tuple[str, ...], tasks: list[str]) -> Finding:
        rows = self.rows(variants, tasks)
        bad = rows[
            (rows["verdict"] == "better") | (rows["not_worse"] & (rows["verdict"] != "worse"))
        ]
        if len(bad):
            return self.finding(
                number,
                CONTRADICTED,
                f"better, or shown not worse: {_where(bad)}",
                variants,
                tasks,
                rows,
            )
        reason = self.missing(variants, tasks, "Greff data") or self.untested(rows, variants, tasks)
        if not reason and len(unsure := rows[rows["verdict"] != "worse"]):
            reason = f"not significantly worse: {_where(unsure)}"
        if reason:
            return self.finding(number, INCONCLUSIVE, reason, variants, tasks, rows)
        return self.finding(
            number,
            REPRODUCED,
            f"{_names(variants)} worse than lstm in "
            f"{len(rows)}/{len(rows)} test(s), Holm p ≤ "
            f"{_p(rows['p_holm'].max())}, diff ≥ {rows['diff'].min():+.3g}",
            variants,
            tasks,
            rows,
        )

    # -------------------------------------------------- finding 7, by halves
    def music(self) -> Finding:
        variants = ("nig", "nog", "niaf")
        tasks = set(self.trials["task"].astype(str)) if len(self.trials) else set()
        music = [t for t in scope.greff_tasks(tasks) if scope.DATASETS[t].part == "music"]
        other = [t for t in scope.greff_tasks(tasks) if scope.DATASETS[t].part == "other"]
        halves = []
        if music:
            halves.append(("music", self.no_difference(7, variants, music, "worse")))
        if other:
            halves.append(("speech and handwriting", self.harm(7, variants, other)))
        if not halves:
            return self.no_difference(7, variants, [], "worse")
        verdicts = [f.verdict for _, f in halves]
        verdict = (
            CONTRADICTED
            if CONTRADICTED in verdicts
            else REPRODUCED
            if set(verdicts) == {REPRODUCED}
            else INCONCLUSIVE
        )
        untested = (
            []
            if other
            else [
                "speech and handwriting half untested (no TIMIT or IAM "
                "Online stand-in among the tasks)"
            ]
        )
        text = "; ".join(
            [f"{name} half {f.verdict}: {f.statistic}" for name, f in halves] + untested
        )
        rows = pd.concat([f.details for _, f in halves], ignore_index=True)
        return _finding(
            7,
            verdict,
            text,
            sum(f.n for _, f in halves),
            scope.names(music + other),
            "; ".join(f.rests_on for _, f in halves),
            rows,
        )

    # -------------------------------------------------- finding 10: a claim of superiority
    def outperforms(self, number: int, variant: str, tasks: list[str]) -> Finding:
        rows = self.rows((variant,), tasks)
        equivalent = rows["not_worse"] & rows["not_better"] & (rows["verdict"] != "better")
        bad = rows[(rows["verdict"] == "worse") | equivalent]
        if len(bad):
            return self.finding(
                number,
                CONTRADICTED,
                f"worse than lstm, or equivalent: {_where(bad)}",
                (variant,),
                tasks,
                rows,
            )
        reason = self.missing(
            (variant,), tasks, "non-LM data of Jozefowicz's kinds"
        ) or self.untested(rows, (variant,), tasks)
        if not reason and len(unsure := rows[rows["verdict"] != "better"]):
            reason = f"not significantly better: {_where(unsure)}"
        if reason:
            return self.finding(number, INCONCLUSIVE, reason, (variant,), tasks, rows)
        return self.finding(
            number,
            REPRODUCED,
            f"{variant} better than lstm in "
            f"{len(rows)}/{len(rows)} test(s), Holm p ≤ "
            f"{_p(rows['p_holm'].max())}, diff ≤ {rows['diff'].max():+.3g}",
            (variant,),
            tasks,
            rows,
        )


_DETAILS = [
    "task",
    "data",
    "variant",
    "reference",
    "n",
    "top",
    "mean",
    "ref_mean",
    "diff",
    "low",
    "high",
    "margin",
    "detectable",
    "draws_needed",
    "p",
    "p_holm",
    "verdict",
    "not_worse",
    "not_better",
    "note",
]


def _span(values: pd.Series) -> str:
    low, high = int(values.min()), int(values.max())
    return str(low) if low == high else f"{low}-{high}"


def _p(p: float) -> str:
    return f"{p:.2g}"


def _margins(rows: pd.DataFrame) -> str:
    return ", ".join(sorted({f"{m:.3g}" for m in rows["margin"]}))


def _where(rows: pd.DataFrame, limit: int = 4) -> str:
    """ "nfg on music (best 4 vs 4, diff +0.31 [+0.12, +0.50], Holm p = 0.01)" for each row,
    the first ``limit`` of them; for an undecided one what the test could detect and the
    draws it would need."""
    parts = []
    for r in rows.head(limit).itertuples():
        versus = "" if r.reference == REFERENCE else f" vs {r.reference}"
        if r.note:
            parts.append(f"{r.variant}{versus} on {r.task}: {r.note}")
            continue
        text = (
            f"{r.variant}{versus} on {r.task} (best {r.top} vs {r.top_ref}, diff "
            f"{r.diff:+.3g} [{r.low:+.3g}, {r.high:+.3g}], Holm p = {_p(r.p_holm)}"
        )
        if r.verdict == "not significant" and not (r.not_worse and r.not_better):
            text += f", detectable {r.detectable:.3g}, {_needs(r.draws_needed)}"
        parts.append(text + ")")
    return "; ".join(parts) + ("; …" if len(rows) > limit else "")


def _needs(needed: float) -> str:
    if not math.isfinite(needed):
        return "beyond the margin at any n"
    return f"inside the margin with ~{int(needed)} draws"


# ---------------------------------------------------------------- finding 8: gate order


def _gate_order(ctx: _Context, tasks: list[str]) -> Finding:
    """Finding 8 (rule: ``RULES[8]``), with bootstrap intervals of the two gaps."""
    order = ("nfg", "nig", "nog")
    rows = ctx.rows(order, tasks)
    reason = ctx.missing(order, tasks, "non-LM data of Jozefowicz's kinds") or ctx.untested(
        rows, order, tasks
    )
    if reason:
        return _finding(
            8,
            INCONCLUSIVE,
            reason,
            ctx.n(order, tasks),
            scope.names(tasks),
            ctx.rests_on(rows),
            rows[_DETAILS],
        )
    gaps = details = pd.DataFrame([_gaps(ctx.trials[ctx.trials["task"] == t], t) for t in tasks])
    text = "; ".join(
        f"{g.task}: loss of removing forget {g.nfg:+.3g}, input {g.nig:+.3g}, output "
        f"{g.nog:+.3g} nats; gaps nfg−nig {g.gap_fi:+.3g} [{g.fi_low:+.3g}, {g.fi_high:+.3g}],"
        f" nig−nog {g.gap_io:+.3g} [{g.io_low:+.3g}, {g.io_high:+.3g}]"
        for g in gaps.itertuples()
    )
    above = (gaps["fi_low"] > 0) & (gaps["io_low"] > 0)
    below = (gaps["fi_high"] < 0) | (gaps["io_high"] < 0)
    verdict = CONTRADICTED if below.any() else REPRODUCED if above.all() else INCONCLUSIVE
    return _finding(
        8,
        verdict,
        f"{text} [{ctx.scope(tasks, rows)}; 95 % bootstrap intervals, {GAP_RESAMPLES} resamples]",
        ctx.n(order, tasks),
        scope.names(tasks),
        ctx.rests_on(rows),
        details,
    )


def _gaps(frame: pd.DataFrame, task: str) -> dict[str, object]:
    """The loss of each of nfg, nig, nog against lstm (mean of the best 10 % by validation,
    in the metric's direction: positive is worse) and the bootstrap intervals of the gaps."""
    sign = 1.0 if bool(frame["lower_is_better"].iloc[0]) else -1.0
    sides = [
        frame[frame["variant"] == v].reset_index(drop=True) for v in ("lstm", "nfg", "nig", "nog")
    ]

    def losses(*indices: np.ndarray) -> np.ndarray:
        means = [
            sign * best_by_validation(s.iloc[np.asarray(i, dtype=int)])["value"].mean()
            for s, i in zip(sides, indices)
        ]
        return np.array(
            [
                means[1] - means[0],
                means[2] - means[0],
                means[3] - means[0],
                means[1] - means[2],
                means[2] - means[3],
            ]
        )

    point = losses(*(np.arange(len(s)) for s in sides))
    low, high = stats_bootstrap(tuple(np.arange(len(s)) for s in sides), losses, GAP_RESAMPLES, 0)
    return {
        "task": task,
        "nfg": point[0],
        "nig": point[1],
        "nog": point[2],
        "gap_fi": point[3],
        "fi_low": low[3],
        "fi_high": high[3],
        "gap_io": point[4],
        "io_low": low[4],
        "io_high": high[4],
    }


# ---------------------------------------------------------------- fANOVA findings (4, 5)

Judge = Callable[[pd.DataFrame], tuple[str, str, dict[str, object]]]


def _per_task(
    shares: pd.DataFrame, tasks: list[str], number: int, judge: Judge, ctx: _Context
) -> Finding:
    """``judge`` each dataset's median shares with their intervals ("holds", "fails" or
    "tie", a short text, the evidence row). Reproduced when it holds on every dataset,
    contradicted when it fails on one."""
    rows, missing = [], []
    for task in tasks:
        frame = shares[shares["task"] == task]
        if frame.empty:
            missing.append(task)
            continue
        status, text, evidence = judge(frame)
        rows.append(
            {
                "task": task,
                "variants": int(frame["variants"].max()),
                **evidence,
                "status": status,
                "why": text,
            }
        )
    details = (
        pd.DataFrame(rows) if rows else pd.DataFrame(columns=["task", "variants", "status", "why"])
    )
    n = ctx.n(GREFF_VARIANTS, tasks)
    where = f" [{scope.names(tasks)}; median over variants, 95 % bootstrap intervals]"
    data = scope.names(tasks)
    if not tasks:
        return _finding(
            number, INCONCLUSIVE, "no Greff data among the tasks run", 0, data, "", details
        )
    fails = details[details["status"] == "fails"]
    unsure = [
        f"{r.task}: {r.status}, {r.why}" for r in details.itertuples() if r.status != "holds"
    ] + [
        f"{t}: too few trials for fANOVA (at least {MIN_FANOVA_TRIALS} a variant)" for t in missing
    ]
    if len(fails):
        verdict, why = CONTRADICTED, [f"{r.task}: {r.why}" for r in fails.itertuples()]
    elif unsure:
        verdict, why = INCONCLUSIVE, unsure
    else:
        verdict, why = REPRODUCED, [f"{r.task}: {r.why}" for r in details.itertuples()]
    return _finding(number, verdict, "; ".join(why) + where, n, data, "", details)


def _interval(frame: pd.DataFrame, term: str) -> tuple[float, float, float]:
    row = frame[frame["term"] == term]
    if row.empty:
        return math.nan, math.nan, math.nan
    r = row.iloc[0]
    return float(r["share"]), float(r["low"]), float(r["high"])


def _hyperparameter_order(shares: pd.DataFrame, tasks: list[str], ctx: _Context) -> Finding:
    def judge(frame: pd.DataFrame) -> tuple[str, str, dict[str, object]]:
        mains = [str(t) for t in frame.loc[frame["order"] == 1, "term"]]
        got = {t: _interval(frame, t) for t in mains}
        shown = ", ".join(
            f"{t} {s:.2f} [{lo:.2f}, {hi:.2f}]"
            for t, (s, lo, hi) in sorted(got.items(), key=lambda kv: -kv[1][0])
        )
        evidence = {t: got[t][0] for t in mains}
        if "lr" not in got or "hidden_size" not in got:
            return "tie", "lr or hidden_size not analysed", evidence
        others = [t for t in mains if t != "lr"]
        rest = [t for t in others if t != "hidden_size"]
        lr, hidden = got["lr"], got["hidden_size"]
        momentum = got.get("momentum", (0.0, 0.0, 0.0))
        fails = (
            any(got[t][1] > lr[2] for t in others)
            or momentum[1] >= SMALL_SHARE
            or any(got[t][1] > hidden[2] for t in rest)
        )
        holds = (
            all(lr[1] > got[t][2] for t in others)
            and momentum[2] < SMALL_SHARE
            and all(hidden[0] > got[t][0] for t in rest)
        )
        return ("fails" if fails else "holds" if holds else "tie"), shown, evidence

    return _per_task(shares, tasks, 4, judge, ctx)


def _interactions(shares: pd.DataFrame, tasks: list[str], ctx: _Context) -> Finding:
    def judge(frame: pd.DataFrame) -> tuple[str, str, dict[str, object]]:
        ratio, low, high = _interval(frame, RATIO_TERM)
        pairs = frame[frame["order"] == 2].sort_values("share", ascending=False)
        largest = (
            f"; largest pair {pairs['term'].iloc[0]} {pairs['share'].iloc[0]:.3f}"
            if len(pairs)
            else ""
        )
        evidence = {
            "ratio": ratio,
            "ratio_low": low,
            "ratio_high": high,
            "largest_pair": pairs["term"].iloc[0] if len(pairs) else "",
        }
        shown = f"pairs/main effects {ratio:.2f} [{low:.2f}, {high:.2f}]{largest}"
        status = (
            "holds" if high <= INTERACTION_RATIO else "fails" if low > INTERACTION_RATIO else "tie"
        )
        return status, shown, evidence

    return _per_task(shares, tasks, 5, judge, ctx)


def _range(values: pd.Series, fmt: str = "{:.2g}") -> str:
    lo, hi = float(values.min()), float(values.max())
    return (
        fmt.format(lo) if fmt.format(lo) == fmt.format(hi) else f"{fmt.format(lo)}–{fmt.format(hi)}"
    )


def _names(values: Iterable[str]) -> str:
    return ", ".join(sorted(map(str, values)))
