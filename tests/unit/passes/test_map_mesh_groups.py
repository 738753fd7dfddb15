"""map-mesh places data movement with the op it feeds: the KV cache goes from HBM straight
to the attention cores instead of crossing the mesh a second time."""

from __future__ import annotations

from meshc.driver import CompileOptions, compile_model
from meshc.frontends import ModelRequest
from meshc.frontends.transformer import Shape


def test_kv_cache_ops_share_the_attention_slot() -> None:
    req = ModelRequest("gpt2", ("decode",), Shape(batch=1, seq=16, kv_len=256))
    phase = compile_model(req, "mesh-4x4", CompileOptions(mapper="heft")).phases[0]
    by_name = {o.name: o for o in phase.ops}
    for layer in range(12):
        attention = by_name[f"decode.L{layer}.attention.attention0"]
        for cache in ("kv_read.k", "kv_read.v", "kv_append.k", "kv_append.v"):
            assert by_name[f"decode.L{layer}.attention.{cache}"].rect == attention.rect
    # the cache never crosses the NoC: only activations (at most a few KiB per flow) do
    assert max(t.bytes for t in phase.transfers) < 256 * 768 * 2
