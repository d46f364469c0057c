"""DTL namespaced-identifier functions: ``ni``, ``is-ni``, ``ni-ns``, ``ni-id``,
``ni-collapse``, ``ni-expand`` and the deprecated ``curie``.

An NI splits at its *last* colon: the namespace may contain colons, the identifier may not
(``["ni", "foo", "x:y"]`` is ``~:foo:x:y``, namespace ``foo:x``). URIs collapse to NIs through
the namespace map: the built-in prefixes of sesam-hub.md §7.2 plus the pipe's
``namespaces.default`` when the run context carries one.

Simplification: Sesam invents a namespace ``<pipe>-<n>`` for a URI whose prefix is not declared;
that needs state shared across the run, so here such URIs are dropped instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from engine.dtl.registry import SpecCollector
from engine.dtl.values import DROP, first_value, map_each
from engine.entity import NI, URI
from engine.errors import DtlEvalError

if TYPE_CHECKING:
    from engine.dtl.env import Env
    from engine.dtl.registry import Evaluator

FUNCTIONS = SpecCollector()

BUILTIN_NAMESPACES: Mapping[str, str] = MappingProxyType(
    {
        "_": "http://example.org/",
        "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
        "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
        "owl": "http://www.w3.org/2002/07/owl#",
        "foaf": "http://xmlns.com/foaf/0.1/",
        "wgs84": "http://www.w3.org/2003/01/geo/wgs84_pos#",
        "xsd": "http://www.w3.org/2001/XMLSchema#",
        "dc": "http://purl.org/dc/elements/1.1/",
        "skos": "http://www.w3.org/2004/02/skos/core#",
        "dcterms": "http://purl.org/dc/terms/",
        "gs": "http://www.opengis.net/ont/geosparql#",
    }
)


def namespace_map(env: Env) -> dict[str, str]:
    """Prefix → URI base: the built-ins, overridden by the pipe's ``namespaces.default``."""
    out = dict(BUILTIN_NAMESPACES)
    # The run context may carry the pipe's ``namespaces.default`` (prefix → URI base) as
    # ``default_namespaces``; older contexts do not, and then only the built-ins apply.
    declared = getattr(env.ctx, "default_namespaces", None)
    if isinstance(declared, Mapping):
        out.update({k: v for k, v in declared.items() if isinstance(v, str)})
    return out


def collapse(uri: URI, namespaces: Mapping[str, str]) -> Any:
    """The NI of a URI under the longest matching declared base, or DROP."""
    best: tuple[str, str] | None = None
    for prefix, base in namespaces.items():
        if uri.value.startswith(base) and (best is None or len(base) > len(best[1])):
            best = (prefix, base)
    if best is None:
        return DROP
    identifier = uri.value[len(best[1]) :]
    if not identifier:
        return DROP
    return NI.parse(f"{best[0]}:{identifier}")


@FUNCTIONS.expression("ni", min_args=1, max_args=2, lazy=True)
def ni(env: Env, *args: Evaluator) -> Any:
    """Strings (or URIs) to namespaced identifiers.

    ``ni([NAMESPACE], VALUES)``: strings to NIs. ``["ni", "foo", "bar"]`` → ``~:foo:bar``;
    without NAMESPACE the string is read as ``ns:id`` (``"bar"`` → the global ``~:bar``). URIs
    are accepted only without NAMESPACE and collapse through the namespace map
    (``http://example.org/bar`` → ``~:_:bar``). NIs stay NIs."""
    if len(args) == 2:
        namespace = first_value(args[0](env))
        if not isinstance(namespace, str):
            raise DtlEvalError(f"ni: NAMESPACE must be a string, got {namespace!r}")

        def with_namespace(value: Any) -> Any:
            if isinstance(value, str):
                return NI.parse(f"{namespace}:{value}") if namespace else NI("", value)
            return DROP

        return map_each(args[1](env), with_namespace)
    namespaces = namespace_map(env)

    def without_namespace(value: Any) -> Any:
        if isinstance(value, NI):
            return value
        if isinstance(value, str):
            return NI.parse(value)
        if isinstance(value, URI):
            return collapse(value, namespaces)
        return DROP

    return map_each(args[0](env), without_namespace)


@FUNCTIONS.expression("is-ni", min_args=1, max_args=1)
def is_ni(value: Any) -> bool:
    """True if the value (or the first list element) is an NI (``~:ns:id``), not a string."""
    return isinstance(first_value(value), NI)


def _parts(value: Any) -> NI | None:
    if isinstance(value, NI):
        return value
    if isinstance(value, str):
        return NI.parse(value)
    return None


@FUNCTIONS.expression("ni-ns", min_args=1, max_args=1)
def ni_ns(values: Any) -> Any:
    """The namespace part of NIs and ``ns:id`` strings (``""`` when there is none)."""
    if type(values) is NI:  # one NI (``["ni-ns", "_."]`` in a filter): what map_each gives
        return values.namespace
    return map_each(values, lambda v: DROP if (p := _parts(v)) is None else p.namespace)


@FUNCTIONS.expression("ni-id", min_args=1, max_args=1)
def ni_id(values: Any) -> Any:
    """The identifier part of NIs and ``ns:id`` strings: ``"~:foo:bar"`` → ``"bar"``."""
    if type(values) is NI:
        return values.identifier
    return map_each(values, lambda v: DROP if (p := _parts(v)) is None else p.identifier)


@FUNCTIONS.expression("ni-collapse", min_args=1, max_args=1, lazy=True)
def ni_collapse(env: Env, values: Evaluator) -> Any:
    """URL strings and URIs to NIs through the namespace map (experimental in Sesam).

    The longest declared base wins (``http://example.org/bar`` → ``~:_:bar``). The ``http`` and
    ``https`` namespaces are implicit, so an undeclared web URL keeps its text as the NI
    (``~:http://example.com/path``); other values are ignored."""
    namespaces = namespace_map(env)

    def convert(value: Any) -> Any:
        text = value.value if isinstance(value, URI) else value
        if not isinstance(text, str):
            return DROP
        collapsed = collapse(URI(text), namespaces)
        if collapsed is not DROP:
            return collapsed
        if text.startswith(("http://", "https://")):
            return NI.parse(text)
        return DROP

    return map_each(values(env), convert)


@FUNCTIONS.expression("ni-expand", min_args=1, max_args=1, lazy=True)
def ni_expand(env: Env, values: Evaluator) -> Any:
    """NIs to URL strings through the namespace map (experimental in Sesam).

    ``~:_:bar`` → ``"http://example.org/bar"``; an NI in an undeclared namespace gives its
    string cast (``~:unknown:path`` → ``"unknown:path"``, ``~:http://x/y`` → ``"http://x/y"``).
    Non-NIs are ignored."""
    namespaces = namespace_map(env)

    def expand(value: Any) -> Any:
        if not isinstance(value, NI):
            return DROP
        if value.namespace in namespaces:
            return namespaces[value.namespace] + value.identifier
        return value.text

    return map_each(values(env), expand)


@FUNCTIONS.expression("curie", min_args=2, max_args=2)
def curie(prefix: Any, values: Any) -> Any:
    """Deprecated: URIs ``PREFIX:value`` from strings.

    Deprecated: ``curie(PREFIX, VALUES)`` makes URIs ``PREFIX:value`` from strings
    (``["curie", "foo", "bar"]`` → ``~rfoo:bar``)."""
    p = first_value(prefix)
    if not isinstance(p, str):
        raise DtlEvalError(f"curie: PREFIX must be a string, got {p!r}")
    return map_each(values, lambda v: URI(f"{p}:{v}") if isinstance(v, str) else DROP)
