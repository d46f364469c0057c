"""``$ENV(name)`` and ``$SECRET(name)`` substitution for pipe and system configs (pure).

Sesam allows both anywhere inside config strings, concatenated with text. The environment and
the secrets are passed in explicitly by the caller (the CLI); engine code never reads
``os.environ``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from engine.errors import ConfigError, JsonPath, did_you_mean

__all__ = ["Secret", "has_references", "substitute"]

_SUBST = re.compile(r"\$(ENV|SECRET)\(([^()]*)\)")


class Secret:
    """A credential that renders as ``***`` in every repr, str, format and error message.

    Call :meth:`reveal` at the one place the value is put on the wire.
    """

    __slots__ = ("_value", "names")

    def __init__(self, value: str, names: tuple[str, ...] = ()) -> None:
        self._value = value
        self.names = names  # the $SECRET names it was built from; names are not secret

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "***"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return "***"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickling would write the value to disk; refuse rather than leak.
        raise TypeError("a Secret cannot be pickled")


def has_references(node: Any) -> bool:
    """True if any string inside ``node`` uses ``$ENV(...)`` or ``$SECRET(...)``."""
    if isinstance(node, dict):
        return any(has_references(v) for v in node.values())
    if isinstance(node, list):
        return any(has_references(v) for v in node)
    return isinstance(node, str) and _SUBST.search(node) is not None


def substitute(
    node: Any, env: Mapping[str, str], secrets: Mapping[str, str], file: str, path: JsonPath
) -> Any:
    """Replace ``$ENV(name)``/``$SECRET(name)`` inside every string of ``node``.

    A string built from a secret becomes a :class:`Secret`; a missing name is a
    :class:`ConfigError` naming it (never its value).
    """
    if isinstance(node, dict):
        return {k: substitute(v, env, secrets, file, path / k) for k, v in node.items()}
    if isinstance(node, list):
        return [substitute(v, env, secrets, file, path / i) for i, v in enumerate(node)]
    if not isinstance(node, str) or "$" not in node:
        return node
    names: list[str] = []

    def replace(match: re.Match[str]) -> str:
        kind, name = match.group(1), match.group(2)
        source = env if kind == "ENV" else secrets
        if name not in source:
            what = "environment variable" if kind == "ENV" else "secret"
            hint = did_you_mean(name, list(source))
            raise ConfigError(
                f"{what} {name!r} used by ${kind}({name}) is not set{hint}", file=file, path=path
            )
        if kind == "SECRET":
            names.append(name)
        return source[name]

    text = _SUBST.sub(replace, node)
    return Secret(text, tuple(names)) if names else text
