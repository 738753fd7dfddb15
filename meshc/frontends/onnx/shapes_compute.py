"""Shape rules of the compute ops (reductions, matrix products, attention, norms,
convolutions), and the dimension helpers emit.py shares with them (`einsum_dims`,
`attention_dims`). The contract is shapes.py's.
"""

from __future__ import annotations

from onnx import TensorProto

from meshc.frontends.onnx.ops import REDUCE
from meshc.frontends.onnx.values import (
    Attrs,
    Ins,
    Shape,
    ShapeFn,
    Spec,
    arg,
    axes_input,
    axis_of,
    bcast,
    need,
    opt,
    register,
)

RULES: dict[str, ShapeFn] = {}


@register(RULES, *REDUCE)
def _s_reduce(op: str, ins: Ins, a: Attrs, opset: int, nout: int) -> list[Spec]:
    x = arg(ins, 0)
    r = len(x.shape)
    axes = axes_input(ins, a, 1)
    keep = a.get("keepdims", 1)
    if not axes:
        if a.get("noop_with_empty_axes", 0):
            return [(x.dtype, x.shape)]
        axes = list(range(r))
    red = {axis_of(ax, r) for ax in axes}
    out = [1 if i in red else d for i, d in enumerate(x.shape) if keep or i not in red]
    return [(x.dtype, tuple(out))]


@register(RULES, "ArgMax", "ArgMin")
def _s_argmax(op: str, ins: Ins, a: Attrs, opset: int, nout: int) -> list[Spec]:
    x = arg(ins, 0)
    ax = axis_of(a.get("axis", 0), len(x.shape))
    keep = a.get("keepdims", 1)
    out = [1 if i == ax else d for i, d in enumerate(x.shape) if keep or i != ax]
    return [(TensorProto.INT64, tuple(out))]


@register(RULES, "TopK")
def _s_topk(op: str, ins: Ins, a: Attrs, opset: int, nout: int) -> list[Spec]:
    x = arg(ins, 0)
    k = int(a["k"]) if opset < 10 else int(need(opt(ins, 1), "K").reshape(-1)[0])
    out = list(x.shape)
    out[axis_of(a.get("axis", -1), len(x.shape))] = k
    return [(x.dtype, tuple(out)), (TensorProto.INT64, tuple(out))]


@register(RULES, "MatMul")
def _s_matmul(op: str, ins: Ins, a: Attrs, opset: int, nout: int) -> list[Spec]:
    return [(arg(ins, 0).dtype, matmul_shape(arg(ins, 0).shape, arg(ins, 1).shape))]


def matmul_shape(sa: Shape, sb: Shape) -> Shape:
    """numpy.matmul's result shape (1-D operands promoted and the added axis removed)."""
    if not sa or not sb:
        raise ValueError("MatMul of a scalar")
    a2 = (1, *sa) if len(sa) == 1 else sa
    b2 = (*sb, 1) if len(sb) == 1 else sb
    if a2[-1] != b2[-2]:
        raise ValueError(f"MatMul of {list(sa)} by {list(sb)}: inner dimensions differ")
    out = [*bcast(a2[:-2], b2[:-2]), a2[-2], b2[-1]]
    if len(sb) == 1:
        out.pop(-1)
    if len(sa) == 1:
        out.pop(-2 if len(sb) > 1 else -1)
    return tuple(out)


@register(RULES, "Gemm")
def _s_gemm(op: str, ins: Ins, a: Attrs, opset: int, nout: int) -> list[Spec]:
    sa, sb = arg(ins, 0).shape, arg(ins, 1).shape
    if len(sa) != 2 or len(sb) != 2:
        raise ValueError(f"Gemm operands {list(sa)} and {list(sb)} must be 2-D")
    m, k = (sa[1], sa[0]) if a.get("transA", 0) else sa
    k2, n = (sb[1], sb[0]) if a.get("transB", 0) else sb
    if k != k2:
        raise ValueError(f"Gemm of {list(sa)} by {list(sb)}: inner dimensions differ")
    return [(arg(ins, 0).dtype, (m, n))]


def einsum_dims(eq: str, shapes: list[Shape]) -> tuple[dict[str, int], str, list[str]]:
    """Letter sizes, output subscript and input subscripts of an einsum ('...' -> capitals)."""
    eq = eq.replace(" ", "")
    lhs, _, rhs = eq.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(shapes):
        raise ValueError(f"einsum '{eq}' has {len(terms)} operands, got {len(shapes)}")
    ell = max((len(s) - len(t.replace("...", "")) for t, s in zip(terms, shapes, strict=True)
               if "..." in t), default=0)
    ell_letters = "".join(chr(ord("A") + i) for i in range(ell))
    sizes: dict[str, int] = {}
    expanded = []
    for t, s in zip(terms, shapes, strict=True):
        if "..." in t:
            n = len(s) - len(t.replace("...", ""))
            t = t.replace("...", ell_letters[ell - n:])
        if len(t) != len(s):
            raise ValueError(f"einsum term '{t}' does not match shape {list(s)}")
        for c, d in zip(t, s, strict=True):
            if sizes.get(c, 1) != 1 and d not in (1, sizes[c]):
                raise ValueError(f"einsum letter '{c}' is {sizes[c]} and {d}")
            sizes[c] = max(sizes.get(c, 1), d)
        expanded.append(t)
    if "->" in eq:
        out = rhs.replace("...", ell_letters)
    else:
        counts = {c: "".join(expanded).count(c) for c in sizes}
        out = ell_letters + "".join(sorted(c for c, k in counts.items()
                                           if k == 1 and c not in ell_letters))
    return sizes, out, expanded


@register(RULES, "Einsum")
def _s_einsum(op: str, ins: Ins, a: Attrs, opset: int, nout: int) -> list[Spec]:
    eq = a["equation"]
    eq = eq.decode() if isinstance(eq, bytes) else eq
    sizes, out, _ = einsum_dims(eq, [v.shape for v in ins if v is not None])
    return [(arg(ins, 0).dtype, tuple(sizes[c] for c in out))]


def attention_dims(ins: Ins, a: Attrs) -> dict[str, int]:
    """Shapes of an opset-23 Attention: batch, heads, kv_heads, q_len, kv_len (past + new),
    past, qk_dim, v_dim and whether the inputs are 3-D."""
    q, k, v = arg(ins, 0).shape, arg(ins, 1).shape, arg(ins, 2).shape
    past_key = opt(ins, 4)
    past = past_key.shape[2] if past_key is not None else 0
    if len(q) == 4:
        b, h, lq, dqk = q
        _, hkv, lkv, _ = k
        dv = v[3]
    elif len(q) == 3:
        h, hkv = int(a.get("q_num_heads", 0)), int(a.get("kv_num_heads", 0))
        if not h or not hkv:
            raise ValueError("3-D Attention needs q_num_heads and kv_num_heads")
        b, lq, qw = q
        lkv = k[1]
        dqk, dv = qw // h, v[2] // hkv
    else:
        raise ValueError(f"Attention Q of rank {len(q)}")
    return dict(batch=b, heads=h, kv_heads=hkv, q_len=lq, kv_len=past + lkv, past=past,
                qk_dim=dqk, v_dim=dv, rank=len(q))


@register(RULES, "Attention")
def _s_attention(op: str, ins: Ins, a: Attrs, opset: int, nout: int) -> list[Spec]:
    d = attention_dims(ins, a)
    dt = arg(ins, 0).dtype
    y: Shape = ((d["batch"], d["heads"], d["q_len"], d["v_dim"]) if d["rank"] == 4
                else (d["batch"], d["q_len"], d["heads"] * d["v_dim"]))
    pk = (d["batch"], d["kv_heads"], d["kv_len"], d["qk_dim"])
    pv = (d["batch"], d["kv_heads"], d["kv_len"], d["v_dim"])
    qk = (d["batch"], d["heads"], d["q_len"], d["kv_len"])
    specs: list[Spec] = [(dt, y), (dt, pk), (dt, pv), (dt, qk)]
    return specs[:nout]


@register(RULES, "LayerNormalization")
def _s_layernorm(op: str, ins: Ins, a: Attrs, opset: int, nout: int) -> list[Spec]:
    x = arg(ins, 0)
    r = len(x.shape)
    axis = axis_of(a.get("axis", -1), r)
    stat = (*x.shape[:axis], *([1] * (r - axis)))
    st = int(a.get("stash_type", TensorProto.FLOAT))
    return [(x.dtype, x.shape), (st, stat), (st, stat)][:nout]


@register(RULES, "BatchNormalization")
def _s_batchnorm(op: str, ins: Ins, a: Attrs, opset: int, nout: int) -> list[Spec]:
    x = arg(ins, 0)
    c = (x.shape[1],) if len(x.shape) > 1 else (1,)
    return [(x.dtype, x.shape), *[(x.dtype, c)] * (nout - 1)]


def _conv_attrs(a: Attrs, w: Shape, sp: int) -> tuple[list[int], list[int], list[int], list[int]]:
    """Kernel, strides, dilations and pads of a Conv or ConvTranspose with sp spatial axes."""
    return (list(a.get("kernel_shape", w[2:])), list(a.get("strides", [1] * sp)),
            list(a.get("dilations", [1] * sp)), list(a.get("pads", [0] * (2 * sp))))


@register(RULES, "Conv")
def _s_conv(op: str, ins: Ins, a: Attrs, opset: int, nout: int) -> list[Spec]:
    x, w = arg(ins, 0).shape, arg(ins, 1).shape
    sp = len(x) - 2
    k, strides, dil, pads = _conv_attrs(a, w, sp)
    auto = a.get("auto_pad", b"NOTSET")
    auto = auto.decode() if isinstance(auto, bytes) else auto
    out = [x[0], w[0]]
    for i in range(sp):
        if auto in ("SAME_UPPER", "SAME_LOWER"):
            out.append(-(-x[2 + i] // strides[i]))
        elif auto == "VALID":
            out.append((x[2 + i] - dil[i] * (k[i] - 1) - 1) // strides[i] + 1)
        else:
            out.append((x[2 + i] + pads[i] + pads[i + sp] - dil[i] * (k[i] - 1) - 1)
                       // strides[i] + 1)
    return [(arg(ins, 0).dtype, tuple(out))]


@register(RULES, "ConvTranspose")
def _s_convt(op: str, ins: Ins, a: Attrs, opset: int, nout: int) -> list[Spec]:
    x, w = arg(ins, 0).shape, arg(ins, 1).shape
    sp = len(x) - 2
    group = a.get("group", 1)
    if "output_shape" in a:
        return [(arg(ins, 0).dtype, (x[0], w[1] * group, *a["output_shape"][-sp:]))]
    k, strides, dil, pads = _conv_attrs(a, w, sp)
    opad = list(a.get("output_padding", [0] * sp))
    out = [x[0], w[1] * group]
    for i in range(sp):
        out.append(strides[i] * (x[2 + i] - 1) + opad[i] + (k[i] - 1) * dil[i] + 1
                   - pads[i] - pads[i + sp])
    return [(arg(ins, 0).dtype, tuple(out))]
