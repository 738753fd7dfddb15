"""Generated spec graphs import, verify, print and re-parse to the same text."""

from __future__ import annotations

from io import StringIO
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from xdsl.dialects.builtin import ModuleOp
from xdsl.parser import Parser
from xdsl.printer import Printer

from meshc.frontends import spec
from meshc.frontends.transformer import Shape
from meshc.ir.work import ACTIVATION_OPS
from meshc.registry import make_context

DTYPES = ["bf16", "f16", "f32"]
# value names: identifiers, names xDSL would renumber (`h_1`), and names that are not
# valid SSA names at all (`1x`, `a b`), which print as plain numbers
NAMES = st.text("abhxy_.$-1 ", min_size=1, max_size=4)


@st.composite
def chains(draw: st.DrawFn) -> dict[str, Any]:
    """A random chain of linear/add/rmsnorm/activation/softmax nodes."""
    n = draw(st.integers(1, 8))
    names = draw(st.lists(NAMES, min_size=3 * n + 1, max_size=3 * n + 1, unique=True))
    fresh = iter(names)
    batch, tokens, width = draw(st.integers(1, 2)), draw(st.integers(1, 4)), draw(
        st.sampled_from([4, 8, 16]))
    dtype = draw(st.sampled_from(DTYPES))
    x = next(fresh)
    graph: dict[str, Any] = {
        "phase": draw(st.sampled_from(["prefill", "decode"])), "dtype": dtype,
        "inputs": [{"name": x, "shape": [batch, tokens, width]}], "weights": [], "nodes": []}
    values = [(x, width)]  # (name, width), every value is [batch, tokens, width]
    for i in range(n):
        cur, w = values[-1]
        op = draw(st.sampled_from(["linear", "add", "rmsnorm", "activation", "softmax"]))
        layer = draw(st.integers(-1, 3))
        block = draw(st.sampled_from(["attention", "mlp", "other"]))
        node: dict[str, Any] = {"name": f"n{i}", "op": op, "layer": layer, "block": block}
        if op == "linear":
            out_w = draw(st.sampled_from([4, 8, 16]))
            wname = next(fresh)
            graph["weights"].append({"name": wname, "shape": [w, out_w],
                                     "dtype": draw(st.sampled_from(DTYPES))})
            ins = [cur, wname]
            if draw(st.booleans()):
                bname = next(fresh)
                graph["weights"].append({"name": bname, "shape": [out_w]})
                ins.append(bname)
            node["inputs"] = ins
            w = out_w
        elif op == "rmsnorm":
            gname = next(fresh)
            graph["weights"].append({"name": gname, "shape": [w]})
            node["inputs"] = [cur, gname]
        elif op == "add":
            same = [v for v, vw in values if vw == w]
            node["inputs"] = [cur, draw(st.sampled_from(same))]
        elif op == "activation":
            node["attributes"] = {"kind": draw(st.sampled_from(sorted(ACTIVATION_OPS)))}
            same = [v for v, vw in values if vw == w]
            node["inputs"] = [cur] + ([draw(st.sampled_from(same))] if draw(st.booleans())
                                      else [])
        else:
            node["inputs"] = [cur]
        out = next(fresh)
        node["outputs"] = [out]
        graph["nodes"].append(node)
        values.append((out, w))
    graph["outputs"] = [values[-1][0]]
    return graph


def printed(module: ModuleOp, generic: bool = False) -> str:
    out = StringIO()
    Printer(stream=out, print_generic_format=generic).print_op(module)
    return out.getvalue()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(chains(), st.integers(1, 3), st.integers(1, 5))
def test_generated_specs_round_trip(graph: dict[str, Any], batch: int, seq: int) -> None:
    module = spec.from_data({"graph": graph}, "gen.yaml", ("prefill", "decode"),
                            Shape(batch=batch, seq=seq))
    module.verify()
    text = printed(module)
    again = Parser(make_context(), text).parse_module()
    again.verify()
    assert printed(again) == text
    assert again.is_structurally_equivalent(module)
    generic = printed(module, generic=True)
    assert printed(Parser(make_context(), generic).parse_module(), generic=True) == generic
    assert f"func.func @{graph['phase']}" in text
