"""An example meshc backend: hello.txt, one line per phase."""

from __future__ import annotations


class HelloBackend:
    """hello.txt: one line per phase with its latency and energy per token."""

    name = "hello"

    def emit(self, result):  # result: meshc.result.CompileResult
        lines = [f"hello from {result.model} on {result.hardware}"]
        for p in result.phases:
            lines.append(f"{p.name}: {p.latency_s * 1e6:.3f} us, {p.pj_per_token:.4g} pJ/token")
        return {"hello.txt": "\n".join(lines) + "\n"}
