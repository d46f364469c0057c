"""Local emulations of the five systems: HTTP servers on 127.0.0.1 that speak their real APIs.

``base`` holds the contract (:class:`SandboxSystem`), ``server`` hosts a system with fault
injection, ``manager`` runs them as background processes (``pipe sandbox ...``) and ``seed``
draws deterministic data with the overlaps the merges must find. Systems are imported lazily
(``manager.system_class``) so importing this package stays cheap.
"""

from __future__ import annotations

from engine.sandbox.base import Request, Response, SandboxSystem, wave_id

__all__ = ["Request", "Response", "SandboxSystem", "wave_id"]
