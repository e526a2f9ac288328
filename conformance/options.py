"""The options the CLI (`conformance run`) and the pytest plugin share, defined once.

The CLI spells them `--suite`, the plugin `--conformance-suite` (it loads in every pytest session
of the environment, so its names are prefixed); both read the values through the same loaders
(`cases.load_suites`, the registry). Defaults differ on purpose and are passed in: a run checks
the `default` suite, a test session the quick `seeds,smoke,regressions`.
"""

from __future__ import annotations

from dataclasses import dataclass

from conformance.devices import CHOICES as DEVICE_CHOICES


@dataclass(frozen=True)
class Option:
    name: str
    help: str
    choices: tuple[str, ...] | None = None
    metavar: str | None = None


SHARED = (
    Option("suite", "suite names and case files (.toml/.json/.yaml), comma-separated (default: {default})"),
    Option("backends", "comma-separated targets (default: {default})"),
    Option("device", "device to run the targets on (default: {default})", DEVICE_CHOICES),
)


def add_to_argparse(parser, defaults: dict[str, str], only: tuple[str, ...] | None = None) -> None:
    """--suite/--backends/--device (or `only` those named) with default None, so that a caller
    can tell 'given' from 'left out' (--resume refuses options it would ignore); `defaults` are
    for the help."""
    for o in SHARED:
        if only is not None and o.name not in only:
            continue
        parser.add_argument(
            f"--{o.name}",
            default=None,
            choices=o.choices,
            metavar=o.metavar,
            help=o.help.format(default=defaults.get(o.name, "")),
        )


def add_to_pytest(group, defaults: dict[str, str]) -> None:
    for o in SHARED:
        group.addoption(
            f"--conformance-{o.name}",
            dest=f"conformance_{o.name}",
            default=None,
            choices=o.choices,
            metavar=o.metavar,
            help=o.help.format(default=defaults.get(o.name, "")),
        )
