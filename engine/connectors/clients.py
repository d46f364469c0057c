"""Where collect sources and share sinks get their system clients: the one seam ``plan`` uses.

A source or sink asks :func:`open_client` for a client instead of building a
:class:`RestClient` itself. Normally that *is* a plain ``RestClient``; inside
``with use_clients(factory):`` the factory decides instead. ``pipe plan`` installs a factory
whose clients read the real systems but keep every write to themselves
(:mod:`engine.connectors.overlay`), so the same pipes, sinks and reconcile code run unchanged and
the plan sees what a reconcile would see.

The factory lives in a :class:`contextvars.ContextVar`, not a module global, so a plan running in
one thread (a notebook, a test) never redirects a reconcile running in another.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Protocol

from engine.config.systems import SystemConfig
from engine.connectors.rest import RestClient

__all__ = ["ClientFactory", "open_client", "use_clients"]


class ClientFactory(Protocol):
    """Builds the client a pipe uses to talk to ``system`` (``pipe`` is the asking pipe's id)."""

    def __call__(self, system: SystemConfig, *, pipe: str | None = None) -> RestClient: ...


_FACTORY: ContextVar[ClientFactory | None] = ContextVar("engine_client_factory", default=None)


def open_client(system: SystemConfig, *, pipe: str | None = None) -> RestClient:
    """A client for ``system``: a :class:`RestClient`, unless :func:`use_clients` says otherwise."""
    factory = _FACTORY.get()
    if factory is None:
        return RestClient(system)
    return factory(system, pipe=pipe)


@contextlib.contextmanager
def use_clients(factory: ClientFactory) -> Iterator[None]:
    """Within the block, every :func:`open_client` call (in this context) goes to ``factory``."""
    token = _FACTORY.set(factory)
    try:
        yield
    finally:
        _FACTORY.reset(token)
