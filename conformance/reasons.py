"""Unsupported reasons grouped by rule.

Targets say why they cannot express a case in one line, and many lines differ only in a
particular: "... not int32" / "... not int64", "... covers invariant" / "... covers unpool",
"keras-jax has no ..." / "flax has no ...". A *rule* is a reason with its dtype, check and target
names made generic; the report counts results per rule and writes the rule with the particulars
that varied in braces ("not {int32|int64}"), so the table shows dozens of rules, not hundreds of
messages.
"""

from __future__ import annotations

import re
from collections import Counter
from functools import cache, lru_cache

from conformance import checkdefs, registry
from conformance.dtypes import DTYPES

_TOKEN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*[A-Za-z0-9_]|[A-Za-z0-9_]|[^A-Za-z0-9_]+")
KEY_CHARS = 120  # a rule is decided by its reason's first line, up to this many characters
SHOWN_VALUES = 4  # at most this many varying particulars are spelled out, then "…"


@cache
def _vocabulary() -> dict[str, str]:
    """Particular -> its kind: dtype names, check names, target names."""
    words = {name: "dtype" for name in DTYPES}
    words.update({name: "check" for name in checkdefs.NAMES})
    words.update({name: "target" for name in registry.names()})
    return words


def _tokens(message: str) -> list[str]:
    return _TOKEN.findall(message)


# Particulars inside a framework's own error text ("torch rejects it: ... for 'Char'"): quoted
# names, bracketed attribute lists, numbers.
_FRAMEWORK_PARTICULARS = (
    (re.compile(r"\[[^\[\]]*\]"), "[…]"),
    (re.compile(r"'[^']*'|\"[^\"]*\""), "'…'"),
    (re.compile(r"\b\d+\b"), "#"),
)


@lru_cache(maxsize=8192)  # a run repeats a few hundred reasons over thousands of results
def rule_key(message: str) -> str:
    """The rule a reason belongs to (its particulars replaced by their kind)."""
    vocab = _vocabulary()
    message = message.split("\n", 1)[0][:KEY_CHARS]  # a framework's first line says what failed
    for pattern, kind in _FRAMEWORK_PARTICULARS:
        before = None
        while before != message:  # innermost brackets first: attribute lists nest
            before, message = message, pattern.sub(kind, message)
    return "".join(f"<{vocab[t]}>" if t in vocab else t for t in _tokens(message))


def group(messages: Counter) -> list[dict]:
    """Rules with their result counts, most frequent first: {rule, count, messages}."""
    groups: dict[str, Counter] = {}
    for message, count in messages.items():
        groups.setdefault(rule_key(message), Counter())[message] += count
    rows = [
        {"rule": template(members), "count": sum(members.values()), "messages": len(members), "key": key}
        for key, members in groups.items()
    ]
    return sorted(rows, key=lambda r: (-r["count"], r["rule"]))


def template(members: Counter) -> str:
    """One text for a rule's messages: shared words as they are, varying ones in braces."""
    split = [_tokens(m) for m in members]
    if len(split) == 1:
        return next(iter(members))
    if len({len(t) for t in split}) != 1:  # a framework's texts: the commonest, and a count
        return f"{max(members, key=members.get)} (and {len(members) - 1} similar)"
    out = []
    for position in zip(*split, strict=True):
        values = sorted(set(position))
        if len(values) == 1:
            out.append(values[0])
        elif len(values) <= SHOWN_VALUES:
            out.append("{" + "|".join(values) + "}")
        else:
            out.append("{" + "|".join(values[:SHOWN_VALUES]) + "|…}")
    return "".join(out)
