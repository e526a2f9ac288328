"""Turning a run folder's results.jsonl into summary.csv, summary.md and report.html.

The HTML is one self-contained file (inline CSS, no external URL) rendered by Jinja2 with
autoescaping, so case ids and framework messages are shown as text, never as markup.
"""

from __future__ import annotations

import json
from pathlib import Path

import jinja2
import pandas as pd

from conformance.compare import TOLERANCE_ULPS
from conformance.results import STATUSES, read_results

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("conformance", "templates"),
    autoescape=True, undefined=jinja2.StrictUndefined,
)


def matrix(df: pd.DataFrame) -> pd.DataFrame:
    """Counts of each status per backend x check (columns in STATUSES order)."""
    if df.empty:
        return pd.DataFrame(columns=["backend", "check", *STATUSES])
    table = df.pivot_table(index=["backend", "check"], columns="status", values="case_id",
                           aggfunc="count", fill_value=0)
    table = table.reindex(columns=[s for s in STATUSES], fill_value=0)
    return table.reset_index()


def _divergences(df: pd.DataFrame) -> list[dict]:
    bad = df[~df["status"].isin(["pass", "unsupported"])]
    rows = []
    for (backend, status, known_id), grp in bad.groupby(
        [bad["backend"], bad["status"], bad["known"].map(lambda k: (k or {}).get("id", ""))],
        dropna=False,
    ):
        first = grp.iloc[0]
        rows.append({
            "backend": backend, "status": status, "known": known_id,
            "link": (first["known"] or {}).get("link", ""),
            "reason": (first["known"] or {}).get("reason", ""),
            "count": len(grp), "checks": ", ".join(sorted(set(grp["check"]))),
            "example": first["case_id"], "message": first["message"][:400],
        })
    return sorted(rows, key=lambda r: (r["status"] == "known_divergence", r["backend"]))


def _unsupported(df: pd.DataFrame) -> list[dict]:
    uns = df[df["status"] == "unsupported"]
    counts = uns.groupby(["backend", "message"]).size().reset_index(name="count")
    return counts.sort_values(["backend", "count"], ascending=[True, False]).to_dict("records")


def write_report(folder: str | Path) -> str:
    """Write summary.csv, summary.md and report.html; return the terminal summary."""
    folder = Path(folder)
    df = pd.DataFrame(read_results(folder / "results.jsonl"))
    env_path = folder / "environment.json"
    env = json.loads(env_path.read_text()) if env_path.exists() else {}
    table = matrix(df)
    table.to_csv(folder / "summary.csv", index=False)
    md = table.to_markdown(index=False) if _has_tabulate() else table.to_string(index=False)
    (folder / "summary.md").write_text(f"# Conformance run {env.get('run_id', folder.name)}\n\n{md}\n")
    errata = []
    if not df.empty and "note" in df:
        seen = set()
        for _, r in df[df["note"].astype(bool)].iterrows():
            if r["case_id"] not in seen and r["suite"] == "seeds":
                seen.add(r["case_id"])
                errata.append({"case_id": r["case_id"], "note": r["note"]})
    from conformance.known import unexercised

    records = df.to_dict("records") if not df.empty else []
    stale = unexercised(records)
    html = _ENV.get_template("report.html.j2").render(
        stale=stale,
        env=env, matrix=table.to_dict("records"), statuses=STATUSES,
        divergences=_divergences(df) if not df.empty else [],
        unsupported=_unsupported(df) if not df.empty else [],
        tolerances=TOLERANCE_ULPS, seed_notes=errata, total=len(df),
    )
    tmp = folder / "report.html.tmp"
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(folder / "report.html")
    text = table.to_string(index=False)
    for backend, ids in stale.items():
        text += f"\nknown divergences of {backend} not exercised by this run: {', '.join(ids)}"
    return text


def _has_tabulate() -> bool:
    try:
        import tabulate  # noqa: F401
    except ImportError:
        return False
    return True
