"""Command line: `conformance run | list | show | report` (DESIGN.md §5).

Exit status: 0 when every result passed, was unsupported, or matched a recorded known
divergence; 1 on any unexpected mismatch, error, crash or fixed divergence; 2 on bad usage.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from conformance import registry, runner
from conformance.errors import BackendUnavailable, UsageError
from conformance.results import FAILING, ResultWriter, environment


def _backends(arg: str | None) -> list[str]:
    if not arg:
        return registry.available()
    names = [n.strip() for n in arg.split(",") if n.strip()]
    for n in names:
        why = registry.reason(n)
        if why:
            raise UsageError(f"--backends: {why}")
    return names


def _suites(arg: str):
    from cases import get_suite

    cases = []
    for name in arg.split(","):
        cases.extend(get_suite(name.strip()))
    return cases


def _progress(total: int):
    state = {"done": 0, "start": time.perf_counter(), "shown": -1}
    tty = sys.stderr.isatty()

    def tick(result) -> None:
        state["done"] += 1
        done = state["done"]
        pct = int(100 * done / max(total, 1))
        elapsed = time.perf_counter() - state["start"]
        eta = elapsed / done * (total - done)
        if tty:
            print(f"\r{done}/{total} ({pct} %) elapsed {elapsed:.0f}s eta {eta:.0f}s", end="",
                  file=sys.stderr, flush=True)
        elif pct // 10 != state["shown"]:
            state["shown"] = pct // 10
            print(f"{done}/{total} ({pct} %) elapsed {elapsed:.0f}s eta {eta:.0f}s", file=sys.stderr)

    return tick


def cmd_run(args) -> int:
    cases = _suites(args.suite)
    backends = _backends(args.backends)
    devices = ["cpu", "gpu"] if args.device == "all" else [args.device]
    run_id = datetime.now(UTC).strftime("%Y%m%d-%H%M%S") + f"-{args.suite.replace(',', '+')}"
    out = Path(args.out) if args.out else Path("reports") / run_id
    out.mkdir(parents=True, exist_ok=True)
    tasks = list(runner.tasks(cases, backends, devices))
    env = environment(
        {n: {"version": registry.get(n).version, "devices": registry.get(n).devices()} for n in backends},
        suite=args.suite, seed=0, run_id=out.name, cases=len(cases), tasks=len(tasks),
        started=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    if args.suite in ("smoke", "default"):
        from cases import coverage

        env["coverage"] = [str(c) for c in coverage(cases, native=args.suite == "default")]
        for line in env["coverage"]:
            print(f"coverage: {line}", file=sys.stderr)
    (out / "results.jsonl").unlink(missing_ok=True)  # a new run into an old folder starts afresh
    start = time.perf_counter()
    tick = _progress(len(tasks))
    results = []
    with ResultWriter(out / "results.jsonl") as writer:
        for task in tasks:
            result = runner.run_check(*task)
            writer.write(result)
            tick(result)
            results.append(result)
    if sys.stderr.isatty():
        print(file=sys.stderr)
    env["seconds"] = round(time.perf_counter() - start, 2)
    (out / "environment.json").write_text(json.dumps(env, indent=2, sort_keys=True))
    from conformance.report import write_report

    summary = write_report(out)
    print(summary)
    print(f"results: {out / 'results.jsonl'}\nreport:  {out / 'report.html'}")
    return 1 if any(r.status in FAILING for r in results) else 0


def cmd_list(args) -> int:
    from cases import SUITES, get_suite

    print("backends:")
    for name in registry.names():
        try:
            b = registry.get(name)
            ref = " (reference)" if name == registry.REFERENCE else ""
            print(f"  {name:<12} {b.version:<16} devices: {', '.join(b.devices())}{ref}")
        except BackendUnavailable as exc:
            print(f"  {name:<12} unavailable: {exc}")
    print("suites:")
    for name, (about, _) in SUITES.items():
        print(f"  {name:<10} {len(get_suite(name)):>5} cases  {about}")
    return 0


def cmd_show(args) -> int:
    from cases import SUITES, get_suite

    for suite in SUITES:
        for case in get_suite(suite):
            if case.id == args.case_id:
                print(f"case {case.id} (suite {suite})")
                print(json.dumps({"spec": case.spec.to_json(), "input_shape": case.input_shape,
                                  "dtype": case.dtype, "family": case.family}, indent=2))
                if case.note:
                    print(f"note: {case.note}")
                names = _backends(args.backends)
                for r in runner.run(
                    [case], [n for n in names if n != registry.REFERENCE] or names
                ):
                    print(f"  {r.backend:<11} {r.check:<15} {r.status:<17} {r.message[:160]}")
                return 0
    raise UsageError(f"no case with id {args.case_id!r} in any suite (see `conformance list`)")


def cmd_report(args) -> int:
    """Merge the results of several runs (one per environment) into one report folder."""
    from conformance.report import write_report

    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    merged_env: dict = {"run_id": out.name, "suite": set(), "backends": {}, "merged_from": []}
    lines = []
    for src in args.runs:
        folder = Path(src)
        path = folder / "results.jsonl" if folder.is_dir() else folder
        if not path.exists():
            raise UsageError(f"{src}: no results.jsonl there")
        lines.extend(line for line in path.read_text().splitlines() if line.strip())
        env_path = path.parent / "environment.json"
        if env_path.exists():
            env = json.loads(env_path.read_text())
            merged_env["suite"].add(env.get("suite", ""))
            merged_env["backends"].update(env.get("backends", {}))
            merged_env["merged_from"].append(str(path.parent))
            for key in ("python", "platform", "host", "seed"):
                merged_env.setdefault(key, env.get(key))
    merged_env["suite"] = ",".join(sorted(s for s in merged_env["suite"] if s))
    tmp = out / "results.jsonl.tmp"
    tmp.write_text("\n".join(lines) + ("\n" if lines else ""))
    tmp.replace(out / "results.jsonl")
    (out / "environment.json").write_text(json.dumps(merged_env, indent=2, sort_keys=True))
    print(write_report(out))
    print(f"report:  {out / 'report.html'}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="conformance", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run a suite on the backends and write reports/<run>/")
    run.add_argument("--suite", default="default", help="suite name(s), comma-separated")
    run.add_argument("--backends", default=None, help="comma-separated (default: all available)")
    run.add_argument("--device", default="cpu", choices=("cpu", "gpu", "all"))
    run.add_argument("--out", default=None, help="run folder (default: reports/<run-id>)")
    run.set_defaults(fn=cmd_run)
    lst = sub.add_parser("list", help="backends (available or why not) and suites")
    lst.set_defaults(fn=cmd_list)
    show = sub.add_parser("show", help="a case's spec and each backend's outcome")
    show.add_argument("case_id")
    show.add_argument("--backends", default=None)
    show.set_defaults(fn=cmd_show)
    rep = sub.add_parser("report", help="merge results of several runs into one report")
    rep.add_argument("runs", nargs="+", help="run folders or results.jsonl files")
    rep.add_argument("-o", "--output", required=True, help="folder for the merged report")
    rep.set_defaults(fn=cmd_report)
    args = parser.parse_args(argv)
    try:
        return args.fn(args)
    except UsageError as exc:
        print(f"conformance: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
