"""Turning a run folder's results.jsonl into report.html, summary.csv, summary.md, summary.json
and junit.xml.

The HTML is one self-contained file (inline CSS and JS, a Content-Security-Policy that forbids
loading anything, no external resource) rendered by Jinja2 with autoescaping, so case ids and
framework messages always render as text. Public links are links that open in a new tab with
rel="noopener noreferrer"; nothing is fetched when the report opens.

Layout, for a converter author who opens it to ask "where does my target disagree?": the verdict
line, the compatibility map (conformance.compat), a status bar per target, the root causes, then
the details. It scales to nightly runs: the case table is compact JSON rendered a page at a
time by the report's script (100,000 results: a few MB, open in about a second), drill-downs are
capped per root cause, and unsupported results are summarised by rule (conformance.reasons).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import shutil
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd

from conformance import compat, features, fidelity, reasons, summary
from conformance.compare import TOLERANCE_ULPS
from conformance.known import unexercised
from conformance.results import FAILING, STATUSES, source_row
from conformance.runfolder import atomic_write, read_environment, read_records

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("conformance", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
)
_label = compat.label_of  # backend with its version, so merged runs stay apart


def matrix(df: pd.DataFrame) -> list[dict[str, Any]]:
    """Counts and percentages of each status per backend(+version) x check."""
    rows = []
    if df.empty:
        return rows
    for (label, check), grp in df.groupby([df.apply(_label, axis=1), "check"], sort=True):
        counts = grp["status"].value_counts()
        total = len(grp)
        rows.append(
            {
                "backend": label,
                "check": check,
                "total": total,
                **{s: int(counts.get(s, 0)) for s in STATUSES},
                "pct": {s: 100.0 * int(counts.get(s, 0)) / total for s in STATUSES},
            }
        )
    return rows


def _tags(diagnosis: str | None) -> str:
    return ", ".join(re.findall(r"\[(\w+)\]", diagnosis or ""))


def digest(records: list[dict]) -> list[dict[str, Any]]:
    """One row per root cause: a known entry, or (backend, check, status, diagnosis). Each row
    has an `id` (its anchor) and lists its records under `items` (not rendered)."""
    bad = [r for r in records if r["status"] not in ("pass", "unsupported")]
    groups: dict[tuple, list[dict]] = {}
    for r in bad:
        known = r.get("known") or {}
        cause = known.get("id") or f"{r['check']}: {r['status']}"
        key = (_label(r), cause, "" if known.get("id") else _tags(r.get("diagnosis")))
        groups.setdefault(key, []).append(r)
    rows = []
    for (label, cause, _), items in groups.items():
        first = items[0]
        tags = ", ".join(sorted({t for i in items for t in _tags(i.get("diagnosis")).split(", ") if t}))
        known = first.get("known") or {}
        link = known.get("link", "")
        rows.append(
            {
                "backend": label,
                "cause": cause,
                "tags": tags,
                "count": len(items),
                "status": first["status"],
                "checks": ", ".join(sorted({i["check"] for i in items})),
                "reason": known.get("reason", ""),
                "link": link,
                "link_url": link if _PUBLIC_URL.match(link) else "",
                "example": first["case_id"],
                "anchor": first["_anchor"],
                "message": clean(first["message"])[:300],
                "expected": first["status"] == "known_divergence",
                "features": sorted(
                    {f for i in items for f in features.attributed(i)}, key=features.ORDER.index
                ),
                "items": items,
            }
        )
    rows.sort(key=lambda r: (r["expected"], r["backend"], -r["count"]))
    for i, row in enumerate(rows):
        row["id"] = f"d{i}"
    return rows


_PUBLIC_URL = re.compile(r"https://[\w.-]+/[^\s<>\"']*$")  # only https links become links
_NUMPY_SCALAR = re.compile(r"np\.(?:float|int|uint|bool|complex)\w*\(([^()]*)\)")


def clean(text: str | None) -> str:
    """Text for a reader: `np.float32(0.5)` (older records) as 0.5, None as nothing."""
    return _NUMPY_SCALAR.sub(r"\1", text) if text else ""


def number(value: Any) -> str:
    """A measurement for a table cell: 3 significant digits, nothing for None."""
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    return f"{value:,}" if isinstance(value, int) else f"{value:.3g}"


def default_strides(records: list[dict]) -> list[dict[str, Any]]:
    """The default-stride table: per target, the API called without a stride, its documented
    default and the default its outputs show (the `default_stride` check's measurements)."""
    rows: dict[str, dict[str, Any]] = {}
    for r in records:
        info = (r.get("extra") or {}).get("default_stride")
        if r["check"] != "default_stride" or not info:
            continue
        row = rows.setdefault(
            _label(r),
            {
                "backend": _label(r),
                "framework": r.get("framework", ""),
                "mode": r.get("mode", ""),
                "api": info.get("api", ""),
                "documented": info.get("documented"),
                "measured": set(),
                "cases": 0,
                "agree": 0,
                "erratum": "",
            },
        )
        row["measured"].add(info.get("measured"))
        row["cases"] += 1
        row["agree"] += r["status"] in ("pass", "known_divergence")
        row["erratum"] = row["erratum"] or info.get("erratum", "")
    for row in rows.values():  # "either": a 1-wide kernel, where both defaults coincide
        row["measured"] = ", ".join(sorted(m for m in row["measured"] if m and m != "either"))
        row["equals_kernel"] = "yes" if row["measured"] == "kernel" else "no"
    return list(rows.values())


MODE_ROWS = 200  # rows of the side-by-side table shown (the count says how many there are)


def mode_differences(records: list[dict]) -> dict[str, Any]:
    """Cases where targets of one framework (eager next to its compiled modes, or the Keras
    backends) end differently: one row per case x check x device, a status per target."""
    groups: dict[tuple, dict[str, str]] = {}
    targets: dict[str, list[str]] = {}
    for r in records:
        framework = r.get("framework") or r["backend"]
        targets.setdefault(framework, [])
        if r["backend"] not in targets[framework]:
            targets[framework].append(r["backend"])
        groups.setdefault((framework, r["case_id"], r["check"], r["device"]), {})[r["backend"]] = r["status"]
    rows = []
    for (framework, case_id, check, device), statuses in groups.items():
        if len(targets[framework]) < 2 or len(statuses) < 2:
            continue
        seen = {s for s in statuses.values() if s != "unsupported"}
        if len(seen) > 1:
            rows.append(
                {
                    "framework": framework,
                    "case": case_id,
                    "check": check,
                    "device": device,
                    "statuses": [statuses.get(t, "") for t in targets[framework]],
                }
            )
    frameworks = {f: ts for f, ts in targets.items() if len(ts) > 1}
    return {"rows": rows[:MODE_ROWS], "count": len(rows), "targets": frameworks}


def unsupported_rules(records: list[dict]) -> list[dict[str, Any]]:
    """Unsupported results by rule (conformance.reasons), with the targets each rule covers."""
    messages: Counter = Counter()
    targets: dict[str, Counter] = {}  # rule key -> results per target
    for r in records:
        if r["status"] == "unsupported":
            message = r.get("message", "")
            messages[message] += 1
            targets.setdefault(reasons.rule_key(message), Counter())[r["backend"]] += 1
    rows = reasons.group(messages)
    for row in rows:
        row["targets"] = ", ".join(f"{t} ({n:,})" for t, n in targets[row["key"]].most_common())
    return rows


def _padding_kind(spec: dict) -> str:
    p = spec.get("padding")
    if isinstance(p, str):
        return p
    pairs = p or []
    if all(lo == hi == 0 for lo, hi in pairs):
        return "zero"
    return "symmetric" if all(lo == hi for lo, hi in pairs) else "asymmetric"


def _rows(records: list[dict]) -> list[dict]:
    for i, r in enumerate(records):
        r["_anchor"] = f"r{i}"
        spec = r.get("spec") or {}
        r["_op"] = spec.get("op", "")
        if spec.get("output_size") is not None:  # adaptive: the output size is the geometry
            r["_params"] = f"output {spec.get('output_size')} {spec.get('layout', '')}"
        else:
            r["_params"] = (
                f"k{spec.get('kernel')} s{spec.get('stride')} p{_padding_kind(spec)} "
                f"d{spec.get('dilation')} {'ceil ' if spec.get('ceil_mode') else ''}"
                f"{spec.get('layout', '')}"
            )
        r["_label"] = _label(r)
    return records


def write_junit(records: list[dict], path: Path) -> None:
    suites = ET.Element("testsuites", name="pooling-conformance")
    by_backend: dict[str, list[dict]] = {}
    for r in records:
        by_backend.setdefault(_label(r), []).append(r)
    for label, items in by_backend.items():
        failures = sum(r["status"] in FAILING for r in items)
        skipped = sum(r["status"] == "unsupported" for r in items)
        suite = ET.SubElement(
            suites,
            "testsuite",
            name=_xml(label),
            tests=str(len(items)),
            failures=str(failures),
            skipped=str(skipped),
        )
        for r in items:
            case = ET.SubElement(
                suite,
                "testcase",
                classname=_xml(f"{label}.{r['check']}"),
                name=_xml(f"{r['case_id']}[{r['device']}]"),
                time=str(r.get("seconds", 0)),
            )
            if r["status"] in FAILING:
                ET.SubElement(case, "failure", message=_xml(r["status"])).text = _xml(r["message"])
            elif r["status"] == "unsupported":
                ET.SubElement(case, "skipped", message=_xml(r["message"][:500]))
            elif r["status"] == "known_divergence":
                ET.SubElement(case, "system-out").text = _xml(r["message"])
    tmp = path.with_suffix(".tmp")
    ET.ElementTree(suites).write(tmp, encoding="utf-8", xml_declaration=True)
    tmp.replace(path)


MD_STATE = {
    "agrees": "✓",
    "diverges": "≠",
    "unexpected": "✗ **fails**",
    "not_expressible": "n/e",
    "untested": "",
}  # the map in summary.md (a CI step summary has no colours)


def _short(column: dict, columns: list[dict]) -> str:
    """A map column's name in Markdown: the target, with its version only where two differ."""
    twins = sum(c["backend"] == column["backend"] for c in columns)
    return column["label"] if twins > 1 else column["backend"]


def _summary_md(
    env: dict,
    table: list[dict],
    dig: list[dict],
    stale: dict,
    verdict: dict | None = None,
    cmap: dict | None = None,
) -> str:
    lines = [
        f"# Pooling conformance: {_md(env.get('run_id', ''))}",
        "",
        f"Suite {_md(env.get('suite', ''))}, {sum(r['total'] for r in table)} results.",
        "",
    ]
    if env.get("partial"):
        lines[1:1] = ["", "**PARTIAL RUN**: only the results written before the run stopped."]
    if verdict:
        lines += [f"**{_md(verdict['text'])}**", ""]
    if cmap and cmap["rows"]:
        lines += [
            "## Compatibility map",
            "",
            "✓ agrees, ≠ diverges for a recorded reason, ✗ fails, n/e not expressible",
            "",
            "| feature | " + " | ".join(_md(_short(c, cmap["columns"])) for c in cmap["columns"]) + " |",
            "|---|" + "---|" * len(cmap["columns"]),
        ]
        for row in cmap["rows"]:
            lines.append(
                f"| {_md(row['label'])} | " + " | ".join(MD_STATE[c.state] for c in row["cells"]) + " |"
            )
        lines.append("")
    lines += [
        "## Results per check",
        "",
        "| backend | check | total | " + " | ".join(STATUSES) + " |",
        "|---|---|---|" + "---|" * len(STATUSES),
    ]
    for r in table:
        lines.append(
            f"| {_md(r['backend'])} | {_md(r['check'])} | {r['total']} | "
            + " | ".join(str(r[s]) for s in STATUSES)
            + " |"
        )
    if dig:
        lines += [
            "",
            "## Divergences by root cause",
            "",
            "| backend | cause | diagnosis | cases | link |",
            "|---|---|---|---|---|",
        ]
        for d in dig:
            lines.append(
                f"| {_md(d['backend'])} | {_md(d['cause'])} | {_md(d['tags'])} | {d['count']} "
                f"| {_md(d['link'])} |"
            )
    for backend, ids in stale.items():
        lines.append(f"\nKnown divergences of {_md(backend)} not exercised: {_md(', '.join(ids))}")
    return "\n".join(lines) + "\n"


DRILL_LIMIT = 400  # drill-downs rendered in all
DRILL_PER_CAUSE = 3  # examples per root cause; its count says how many results it has
PAGE_ROWS = 100  # case-table rows rendered at a time by the report's script


def drill_downs(dig: list[dict]) -> list[dict]:
    """The results shown in full: a few examples of each root cause, unexpected ones first."""
    chosen = [r for row in dig for r in row["items"][:DRILL_PER_CAUSE]]
    chosen.sort(key=lambda r: (r["status"] == "known_divergence", int(r["_anchor"][1:])))
    chosen = chosen[:DRILL_LIMIT]
    for r in chosen:
        extra = r.get("extra") or {}
        if extra.get("expected"):
            extra["diff"] = [
                [_difference(a, e) for a, e in zip(ra, re_, strict=True)]
                for ra, re_ in zip(extra["actual"], extra["expected"], strict=True)
            ]
    return chosen


def case_table(records: list[dict], drilled: set[str]) -> str:
    """The case table as compact JSON for the report's script: repeated strings (targets,
    checks, messages, cases) once in lookup lists, each result a short row of indices. Sorted
    as a reader wants it: unexpected results first, then known divergences, passes, and the
    unsupported last."""
    lists: dict[str, dict[str, int]] = {
        k: {} for k in ("label", "check", "status", "device", "text", "features")
    }
    cases: dict[str, int] = {}
    case_rows: list[list] = []
    ops: dict[str, int] = {}
    dtypes: dict[str, int] = {}
    families: dict[str, int] = {}

    def index(table: dict[str, int], value: str) -> int:
        return table.setdefault(value, len(table))

    rows = []
    rank = {"failing": 0, "known": 1, "pass": 2, "unsupported": 3}
    for r in sorted(records, key=lambda r: rank[summary.outcome_class(r["status"])]):
        if r["case_id"] not in cases:
            cases[r["case_id"]] = len(case_rows)
            case_rows.append(
                [
                    r["case_id"],
                    index(ops, r["_op"]),
                    index(dtypes, r["dtype"]),
                    index(families, r["family"]),
                    r["_params"],
                ]
            )
        rows.append(
            [
                cases[r["case_id"]],
                index(lists["label"], r["_label"]),
                index(lists["check"], r["check"]),
                index(lists["status"], r["status"]),
                index(lists["device"], r["device"]),
                number(r.get("max_abs_err")),
                number(r.get("max_ulp_err")),
                r.get("mismatch_count") or 0,
                index(lists["text"], clean(r.get("diagnosis") or r.get("message"))[:160]),
                index(lists["features"], " ".join(r.get("features") or [])),
                int(r["_anchor"][1:]) if r["_anchor"] in drilled else -1,
            ]
        )
    data = {
        **{k: list(v) for k, v in lists.items()},
        "op": list(ops),
        "dtype": list(dtypes),
        "family": list(families),
        "cases": case_rows,
        "rows": rows,
        "page": PAGE_ROWS,
        "labels": {f: features.LABELS[f] for f in features.ORDER},
    }
    # inside <script type="application/json">: no "</script>", no HTML comment openers
    return (
        json.dumps(data, separators=(",", ":"), ensure_ascii=False)
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
    )


def status_bars(targets: dict[str, dict[str, Any]], order: list[str]) -> list[dict[str, Any]]:
    """Per target (`summary.by_target`): its results split by outcome class, as percentages
    for a stacked bar."""
    rows = []
    for label, t in targets.items():
        total = t["results"] or 1
        rows.append(
            {
                "label": label,
                "total": t["results"],
                "parts": [
                    {"cls": c, "count": t["classes"][c], "pct": 100.0 * t["classes"][c] / total}
                    for c in summary.CLASSES
                ],
            }
        )
    rank = {label: i for i, label in enumerate(order)}
    return sorted(rows, key=lambda r: rank.get(r["label"], -1))


def write_report(folder: str | Path) -> str:
    """Write every report file of a run folder; return the terminal summary."""
    folder = Path(folder)
    records = _rows(read_records(folder / "results.jsonl"))  # a torn last line is dropped
    df = pd.DataFrame(records)
    env = read_environment(folder) if (folder / "environment.json").exists() else {}
    table = matrix(df)
    flat = pd.DataFrame([{k: v for k, v in r.items() if k != "pct"} for r in table])
    _atomic(folder / "summary.csv", flat.to_csv(index=False))
    dig = digest(records)
    stale = unexercised(records)
    write_junit(records, folder / "junit.xml")
    cause_of = {
        id(r): {"cause": row["cause"], "digest": row["id"], "example": row["anchor"]}
        for row in dig
        for r in row["items"]
    }
    cmap = compat.build(records, cause_of)
    verdict = summary.verdict(records, dig, env)
    targets = summary.by_target(records)  # one pass: the bars, summary.json, the terminal
    _atomic(folder / "summary.md", _summary_md(env, table, dig, stale, verdict, cmap))
    _atomic(
        folder / "summary.json",
        json.dumps(summary.to_json(records, targets, dig, cmap, verdict, env), indent=1, sort_keys=True)
        + "\n",
    )
    drill = drill_downs(dig)
    notes = {}
    for r in records:
        if r.get("suite") == "seeds" and r.get("note"):
            notes.setdefault(r["case_id"], r["note"])
    perf_path = folder / "perf.json"
    perf = json.loads(perf_path.read_text()) if perf_path.exists() else {}
    script = _script()
    html = _ENV.get_template("report.html.j2").render(
        script=script,
        script_hash=_csp_hash(script),
        perf=perf,
        verdict=verdict,
        cmap=cmap,
        states=compat.STATES,
        bars=status_bars(targets, [c["label"] for c in cmap["columns"]]),
        default_strides=default_strides(records),
        modes=mode_differences(records),
        fidelity=fidelity.compare(records),
        fidelity_categories=fidelity.CATEGORIES,
        env=env,
        versions=_versions(env),
        matrix=table,
        statuses=STATUSES,
        digest=dig,
        drill=drill,
        drill_limit=DRILL_LIMIT,
        drill_per_cause=DRILL_PER_CAUSE,
        table_json=case_table(records, {r["_anchor"] for r in drill}),
        unsupported=unsupported_rules(records),
        tolerances=TOLERANCE_ULPS,
        seed_notes=notes,
        stale=stale,
        total=len(records),
        failing=FAILING,
        partial=env.get("partial", False),
        clean=clean,
        number=number,
        filters=[
            ("label", "target"),
            ("status", "status"),
            ("check", "check"),
            ("op", "op"),
            ("dtype", "dtype"),
            ("family", "family"),
            ("feature", "feature"),
        ],
    )
    _atomic(folder / "report.html", html)
    return summary.terminal(records, targets, verdict, stale, shutil.get_terminal_size((80, 24)).columns)


def _versions(env: dict) -> list[dict[str, Any]]:
    """The header's environment rows: one per source run of a merged report (each with the
    versions it ran), or the run itself."""
    return env.get("sources") or [source_row(env, env.get("run_id", ""))]


def _script() -> str:
    """The report's one inline script (static: no user data goes into it)."""
    return _ENV.loader.get_source(_ENV, "report.js")[0]


def _csp_hash(script: str) -> str:
    """The CSP source that allows exactly this inline script and nothing else (no
    'unsafe-inline': an injected <script> would not run even if escaping failed)."""
    return "sha256-" + base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode()


def _difference(a, e):
    if isinstance(a, (int, float)) and isinstance(e, (int, float)):
        return float(f"{a - e:.3g}")
    return "" if a == e else "≠"


_atomic = atomic_write  # via a temporary file and rename: a kill never leaves half a report

# Characters XML 1.0 forbids (C0 controls but tab, newline, carriage return; lone surrogates;
# U+FFFE/U+FFFF): shown as escapes in junit.xml, which CI tools parse strictly.
_XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xml(text: object) -> str:
    return _XML_BAD.sub(
        lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100 else f"\\u{ord(m.group()):04x}",
        str(text),
    )


def _md(text: object) -> str:
    """A Markdown table cell: no HTML, no breaking out of the cell or the table."""
    return (
        _xml(text)
        .replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace("|", "\\|")
        .replace("`", "\\`")
        .replace("\r", " ")
        .replace("\n", " ")
    )
