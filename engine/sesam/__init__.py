"""Run existing Sesam node configurations unchanged: sesam-py's layout, profiles and test specs.

* :mod:`engine.sesam.layout` loads ``node-metadata.conf.json``, ``pipes/*.conf.json``,
  ``systems/*.conf.json`` and ``<profile>-env.json`` into an ordinary project.
* :mod:`engine.sesam.metadata` and :mod:`engine.sesam.conditional` are the pure config rewrites
  (node defaults, conditional transforms) the loader applies before the pipe parser.
* :mod:`engine.sesam.specs` and :mod:`engine.sesam.compare` read sesam-py's ``expected/`` specs
  and compare outputs the way sesam-py does; :mod:`engine.sesam.verify` (``pipe verify``) and
  :mod:`engine.sesam.testrun` (``pipe test``) put them together.
* :mod:`engine.sesam.receiver` is the offline ``http_endpoint`` source.

This ``__init__`` only re-exports the pure modules: the pipeline imports the receiver, so
importing the hub from here would be circular. Import ``verify``/``testrun`` directly.
"""

from __future__ import annotations

from engine.sesam.compare import Comparison, compare_bytes, compare_entities, filter_entity
from engine.sesam.conditional import resolve_conditional_transforms
from engine.sesam.metadata import NodeMetadata, apply_node_defaults, parse_node_metadata
from engine.sesam.specs import TestSpec, load_specs

__all__ = [
    "Comparison",
    "NodeMetadata",
    "TestSpec",
    "apply_node_defaults",
    "compare_bytes",
    "compare_entities",
    "filter_entity",
    "load_specs",
    "parse_node_metadata",
    "resolve_conditional_transforms",
]
