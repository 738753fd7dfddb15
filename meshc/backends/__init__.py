"""Backends turn a `CompileResult` into artifacts: relative path -> text or bytes.

A backend is a class (instantiated with no arguments) or an object with a `name` and an
`emit(result) -> dict[str, str | bytes]` method; it never writes files (the CLI does, all
or nothing). The built-ins below register through the `meshc.backends` entry-point group
exactly as third-party backends do (docs/adding-a-backend.md):

* `report`: report.json (the figures tools rely on) and report.md (the same for people);
* `schedule`: schedule.json, where and when every op ran, planned and simulated;
* `trace`: trace.json in Chrome/Perfetto trace-event format (ui.perfetto.dev);
* `program`: per-core command streams (load, compute, send, receive, store);
* `plots`: PNG figures (Gantt, utilisation heatmap, energy breakdown, roofline).
"""

from meshc.backends.base import Artifacts, Backend

__all__ = ["Artifacts", "Backend"]
