"""What a run comes to, in three forms: the verdict line, summary.json, the terminal summary.

All three are computed from the records here, so the report's first line, a CI bot reading
summary.json and the terminal agree. The terminal summary fits 80 columns (one line per target,
counts by outcome class); the per-check breakdown is in summary.csv and summary.json.
"""

from __future__ import annotations

import shlex
import textwrap
from collections import Counter
from typing import Any

from conformance import fidelity
from conformance.compat import label_of
from conformance.results import FAILING, STATUSES
from conformance.share import describe

# The outcome classes the report colours by, in the order a reader cares about.
CLASSES = ("failing", "known", "pass", "unsupported")
FAILING_LISTED = 20  # failing results named on the terminal (all of them are in summary.json)


def outcome_class(status: str) -> str:
    if status in FAILING:
        return "failing"
    if status == "known_divergence":
        return "known"
    return "pass" if status == "pass" else "unsupported"


def show_command(r: dict[str, Any]) -> str:
    """The command that re-runs one result's case on its target, with a reproducer."""
    return (
        f"conformance show {shlex.quote(r['case_id'])} --backends {shlex.quote(r['backend'])}"
        f" --suite {shlex.quote(r.get('suite') or 'default')}"
    )


def by_target(records: list[dict]) -> dict[str, dict[str, Any]]:
    """Per target label: identity, counts per status and class, and per check."""
    out: dict[str, dict[str, Any]] = {}
    for r in records:
        label = label_of(r)
        t = out.setdefault(
            label,
            {
                "backend": r["backend"],
                "version": r.get("backend_version", ""),
                "framework": r.get("framework", ""),
                "mode": r.get("mode", ""),
                "results": 0,
                "statuses": Counter(),
                "classes": Counter(),
                "checks": {},
            },
        )
        t["results"] += 1
        t["statuses"][r["status"]] += 1
        t["classes"][outcome_class(r["status"])] += 1
        t["checks"].setdefault(r["check"], Counter())[r["status"]] += 1
    return out


def verdict(records: list[dict], digest_rows: list[dict], env: dict) -> dict[str, Any]:
    """The one-line answer at the top of the report and the terminal."""
    classes = Counter(outcome_class(r["status"]) for r in records)
    failing = Counter(r["status"] for r in records if r["status"] in FAILING)
    targets = {r["backend"] for r in records}
    compared = len(records) - classes["unsupported"]
    causes_failing = sum(1 for d in digest_rows if not d["expected"])
    causes_known = sum(1 for d in digest_rows if d["expected"])
    if not compared:
        state, text = (
            "nothing",
            (f"Nothing was compared: all {len(records):,} results are unsupported by the targets asked.")
            if records
            else "Nothing was compared: the run has no results.",
        )
    elif failing:
        state = "fail"
        detail = ", ".join(f"{s} {n:,}" for s, n in failing.most_common())
        text = (
            f"FAIL: {_count(sum(failing.values()), 'unexpected result')} ({detail}) in "
            f"{_count(causes_failing, 'root cause')}; {_known(classes['known'], causes_known)}"
            f"; {classes['pass']:,} pass, over {_count(len(targets), 'target')}."
        )
    else:
        state = "ok"
        text = (
            f"OK: every compared result agrees with the reference or matches a recorded "
            f"divergence: {classes['pass']:,} pass, {_known(classes['known'], causes_known)}"
            f", over {_count(len(targets), 'target')}."
        )
    if env.get("partial"):
        text = "PARTIAL RUN. " + text
    left_out = env.get("left_out") or {}
    if left_out:  # conformance.share: said wherever the verdict is (report, terminal, CI)
        text += " " + " ".join(describe(left_out))
    return {
        "state": state,
        "text": text,
        "results": len(records),
        "compared": compared,
        "left_out": left_out,
        "classes": {c: classes[c] for c in CLASSES},
        "failing": dict(failing),
        "root_causes": {"failing": causes_failing, "known": causes_known},
        "partial": bool(env.get("partial")),
    }


def failing_results(records: list[dict]) -> list[dict[str, Any]]:
    return [
        {
            "case_id": r["case_id"],
            "backend": r["backend"],
            "check": r["check"],
            "device": r["device"],
            "status": r["status"],
            "show": show_command(r),
        }
        for r in records
        if r["status"] in FAILING
    ]


def to_json(
    records: list[dict],
    targets: dict[str, dict[str, Any]],
    digest_rows: list[dict],
    cmap: dict[str, Any],
    verdict_: dict[str, Any],
    env: dict,
) -> dict[str, Any]:
    """summary.json: for dashboards and CI bots (counts, root causes, the map, what failed).
    `targets` is `by_target(records)` (left as it is)."""
    targets = {
        label: {
            **t,
            "statuses": {s: t["statuses"][s] for s in STATUSES if t["statuses"][s]},
            "classes": {c: t["classes"][c] for c in CLASSES},
            "checks": {check: dict(counts) for check, counts in sorted(t["checks"].items())},
            "root_causes": [
                {k: d[k] for k in ("cause", "status", "count", "checks", "link", "features", "example")}
                for d in digest_rows
                if d["backend"] == label
            ],
        }
        for label, t in targets.items()
    }
    return {
        "run_id": env.get("run_id", ""),
        "suite": env.get("suite", ""),
        "verdict": verdict_,
        "targets": targets,
        "map": {
            row["id"]: {
                col["label"]: cell.state for col, cell in zip(cmap["columns"], row["cells"], strict=True)
            }
            for row in cmap["rows"]
        },
        "failing": failing_results(records),
        "converter_fidelity": [f.to_json() for f in fidelity.compare(records)],
    }


def terminal(
    records: list[dict],
    targets: dict[str, dict[str, Any]],
    verdict_: dict[str, Any],
    stale: dict[str, list[str]],
    width: int = 80,
) -> str:
    """The summary printed at the end of a run: one line per target, within `width` columns,
    then the failing results (the first FAILING_LISTED) with the command to inspect one.
    `targets` is `by_target(records)`."""
    name_w = max([len("target"), *(len(t["backend"]) for t in targets.values())])
    numbers = ("results", "pass", "known", "failing", "unsupp.")
    with_version = name_w + 1 + 12 + 9 * len(numbers) <= width  # else the version goes
    lines = [
        f"{'target':<{name_w}}"
        + (f" {'version':<12}" if with_version else "")
        + "".join(f"{n:>9}" for n in numbers)
    ]
    for t in targets.values():
        values = [t["results"], *(t["classes"][c] for c in ("pass", "known", "failing", "unsupported"))]
        lines.append(
            f"{t['backend']:<{name_w}}"
            + (f" {_cut(t['version'], 12):<12}" if with_version else "")
            + "".join(f"{v:>9,}" for v in values)
        )
    lines += _wrap(verdict_["text"], width)
    failing = failing_results(records)
    if failing:
        lines.append(f"failing results ({len(failing)}; inspect one with the command shown):")
        for f in failing[:FAILING_LISTED]:
            lines.append(_cut(f"  {f['status']}: {f['backend']}, {f['check']} ({f['device']})", width))
            lines += _shell_lines(f["show"], width)
        if len(failing) > FAILING_LISTED:
            lines.append(f"  ... {len(failing) - FAILING_LISTED} more in summary.json")
    if stale:
        lines += _wrap(
            "known divergences not exercised by this run (their ids: summary.md, the "
            "report): " + ", ".join(f"{b} {len(ids)}" for b, ids in stale.items()),
            width,
        )
    return "\n".join(lines)


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def _known(results: int, causes: int) -> str:
    if not results:
        return "no known divergence"
    return f"{_count(results, 'known divergence')} in {_count(causes, 'root cause')}"


def _shell_lines(command: str, width: int) -> list[str]:
    """A command across lines with shell continuations, so it still pastes as one command."""
    lines, current = [], "   "
    for word in command.split(" "):
        if len(current) + 1 + len(word) + 2 > width and current.strip():
            lines.append(current + " \\")
            current = "     "
        current += " " + word
    return [*lines, current]


def _cut(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def _wrap(text: str, width: int) -> list[str]:
    return textwrap.wrap(
        text, width, break_on_hyphens=False, subsequent_indent="    ", break_long_words=True
    ) or [""]
