"""Builds the ONNX fixtures of tests/fixtures/onnx from tiny random transformers.

torch is a dependency of this script only (never of meshc or its tests). Run it from a
separate environment:

    python3 -m venv /tmp/torchenv
    /tmp/torchenv/bin/pip install torch==2.13.0 transformers onnx onnxscript
    /tmp/torchenv/bin/python scripts/make_onnx_fixtures.py [--out tests/fixtures/onnx] [NAME ...]

Every model (Llama, GPT-2, BERT, Mixtral and Qwen2-MoE with batched expert matmuls; hidden
32, 2 layers, fp32) is built from a transformers config object with `torch.manual_seed(0)`,
its parameters randomised, and exported by torch 2.13's two exporters (`dynamo=False`:
TorchScript, `dynamo=True`: torch.export) at opsets 14 to 23: the same Llama at opsets 20
and 23 and by both exporters, and decode steps with KV-cache inputs. Node metadata and doc
strings are stripped (the dynamo exporter stores stack traces with local paths in them);
weights are stored inside the file; the output is byte-for-byte reproducible.

The script also writes `manifest.json`: for each fixture, its exporter, opset, the `--dim`
bindings the tests use, the number of layers (attention and MLP blocks) and the MACs counted
by hand from the config, per block (the tests check the importer against it). With
`--manifest-only` it rewrites the manifest from the existing files without exporting.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import warnings
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import onnx
import torch
import transformers as tf

ROOT = Path(__file__).resolve().parents[1]
MAX_BYTES = 1_500_000

# The tiny models: hidden 32, 2 layers, fp32. Every fixture stays well under 1.5 MB.
LLAMA = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
             intermediate_size=88, vocab_size=128, max_position_embeddings=128,
             tie_word_embeddings=False)
GPT2 = dict(n_embd=32, n_layer=2, n_head=4, n_positions=128, vocab_size=128, bos_token_id=0,
            eos_token_id=0)
BERT = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=128,
            vocab_size=128, max_position_embeddings=128, type_vocab_size=2)
MIXTRAL = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
               intermediate_size=48, num_local_experts=4, num_experts_per_tok=2, vocab_size=128,
               max_position_embeddings=128, tie_word_embeddings=False)
QWEN2MOE = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                num_key_value_heads=2, moe_intermediate_size=24,
                shared_expert_intermediate_size=48, intermediate_size=48, num_experts=4,
                num_experts_per_tok=2, decoder_sparse_step=1, vocab_size=128,
                max_position_embeddings=128, tie_word_embeddings=False)
VOCAB = 128

SEQ = 16  # prefill tokens of the trace input (and of the static exports)
PAST = 15  # past tokens of the decode-step trace input


def _model(kind: str) -> torch.nn.Module:
    torch.manual_seed(0)
    if kind == "llama":
        m = tf.AutoModelForCausalLM.from_config(tf.LlamaConfig(**LLAMA))
    elif kind == "gpt2":
        m = tf.AutoModelForCausalLM.from_config(tf.GPT2Config(**GPT2))
    elif kind == "bert":
        m = tf.BertModel(tf.BertConfig(**BERT), add_pooling_layer=False)
    elif kind == "mixtral":
        m = tf.AutoModelForCausalLM.from_config(tf.MixtralConfig(**MIXTRAL))
        m.set_experts_implementation("batched_mm")
    elif kind == "qwen2moe":
        m = tf.AutoModelForCausalLM.from_config(tf.Qwen2MoeConfig(**QWEN2MOE))
        m.set_experts_implementation("batched_mm")
    else:
        raise ValueError(kind)
    # Randomise every parameter: a fresh model has unit norm weights and zero biases, and the
    # dynamo exporter's optimizer would merge those identical tensors into one initializer.
    with torch.no_grad():
        for p in m.parameters():
            p.add_(torch.randn_like(p) * 0.02)
    return m.eval()


class Prefill(torch.nn.Module):
    """(input_ids, attention_mask) -> logits (decoders) or last hidden state (BERT)."""

    def __init__(self, m: torch.nn.Module, encoder: bool) -> None:
        super().__init__()
        self.m, self.encoder = m, encoder

    def forward(self, input_ids, attention_mask):
        out = self.m(input_ids=input_ids, attention_mask=attention_mask, use_cache=False)
        return out.last_hidden_state if self.encoder else out.logits


class Decode(torch.nn.Module):
    """One decode step: (input_ids, attention_mask, position_ids, *past) -> (logits, *present)."""

    def __init__(self, m: torch.nn.Module) -> None:
        super().__init__()
        self.m = m

    def forward(self, input_ids, attention_mask, position_ids, *past):
        pairs = [(past[2 * i], past[2 * i + 1]) for i in range(len(past) // 2)]
        cache = tf.DynamicCache(ddp_cache_data=pairs, config=self.m.config)
        out = self.m(input_ids=input_ids, attention_mask=attention_mask,
                     position_ids=position_ids, past_key_values=cache, use_cache=True)
        flat = []
        for layer in out.past_key_values.layers:
            flat += [layer.keys, layer.values]
        return (out.logits, *flat)


def _prefill_args(batch: int = 1, seq: int = SEQ):
    ids = torch.randint(0, VOCAB, (batch, seq), dtype=torch.long)
    return ids, torch.ones(batch, seq, dtype=torch.long)


def _decode_args(m: torch.nn.Module, batch: int = 1, past: int = PAST):
    cfg = m.config
    kvh = cfg.num_key_value_heads
    hd = cfg.hidden_size // cfg.num_attention_heads
    ids = torch.randint(0, VOCAB, (batch, 1), dtype=torch.long)
    mask = torch.ones(batch, past + 1, dtype=torch.long)
    pos = torch.full((batch, 1), past, dtype=torch.long)
    kv = []
    for _ in range(cfg.num_hidden_layers):
        kv += [torch.randn(batch, kvh, past, hd), torch.randn(batch, kvh, past, hd)]
    return (ids, mask, pos, *kv)


def _dynamo_shapes(dynamic: dict) -> dict:
    """dynamic_axes-style names -> torch.export Dims; `total_seq` is `past_seq + 1`."""
    made: dict = {}
    for axes in dynamic.values():
        for name in axes.values():
            if name != "total_seq":
                made[name] = torch.export.Dim(name, min=1, max=4096)
    if "past_seq" in made:
        made["total_seq"] = made["past_seq"] + 1
    return {n: {ax: made[name] for ax, name in axes.items()} for n, axes in dynamic.items()}


def _export(wrapper, args, path: Path, *, dynamo: bool, opset: int, input_names, output_names,
            dynamic: dict | None) -> None:
    kw: dict = dict(input_names=input_names, output_names=output_names, opset_version=opset)
    if dynamo:
        kw.update(dynamo=True, external_data=False, optimize=True, verbose=False)
        if dynamic:
            shapes = tuple(_dynamo_shapes(dynamic).get(n) for n in input_names)
            if isinstance(wrapper, Decode):  # forward(ids, mask, pos, *past)
                shapes = (*shapes[:3], shapes[3:])
            kw["dynamic_shapes"] = shapes
    else:
        kw.update(dynamo=False)
        if dynamic:
            kw["dynamic_axes"] = dynamic
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(wrapper, args, str(path), **kw)


def _strip(path: Path) -> None:
    """Drops node metadata and doc strings (stack traces hold local paths)."""
    m = onnx.load(str(path))
    m.doc_string = ""
    del m.metadata_props[:]
    m.graph.doc_string = ""
    m.producer_version = ""

    def clean(graph: onnx.GraphProto) -> None:
        for n in graph.node:
            n.doc_string = ""
            del n.metadata_props[:]
            for a in n.attribute:
                if a.type == onnx.AttributeProto.GRAPH:
                    clean(a.g)
        for vi in list(graph.value_info) + list(graph.input) + list(graph.output):
            vi.doc_string = ""
            del vi.metadata_props[:]
        for t in graph.initializer:
            t.doc_string = ""
            del t.metadata_props[:]
    clean(m.graph)
    for f in m.functions:
        for n in f.node:
            n.doc_string = ""
            del n.metadata_props[:]
    onnx.save(m, str(path))
    text = path.read_bytes()
    assert b"/home/" not in text and b"site-packages" not in text, f"{path} holds a local path"


def _kv_names(layers: int) -> tuple[list[str], list[str]]:
    past = [f"past_key_values.{i}.{kv}" for i in range(layers) for kv in ("key", "value")]
    present = [f"present.{i}.{kv}" for i in range(layers) for kv in ("key", "value")]
    return past, present


# --- hand MAC counts from the configs (independent of any ONNX file) ----------------------

def _attn_proj(d: int, heads: int, kvh: int) -> int:
    hd = d // heads
    return d * heads * hd * 2 + d * kvh * hd * 2  # q, o and k, v


def hand_macs(kind: str, tokens: int, ctx: int, batch: int = 1) -> dict[str, int]:
    """Every matmul MAC of one forward pass over `tokens` new tokens attending to `ctx`, by
    block: `attention` (q/k/v/o projections, and QK^T + PV over the full tokens x ctx
    rectangle, as the exported graphs compute them), `mlp` (MoE: the router and the active
    experts) and `other` (the LM head), and their `total`."""
    if kind == "llama":
        c = LLAMA
        d, L, h, kvh, f = (c["hidden_size"], c["num_hidden_layers"], c["num_attention_heads"],
                           c["num_key_value_heads"], c["intermediate_size"])
        proj, mlp, head = _attn_proj(d, h, kvh), 3 * d * f, d * c["vocab_size"]
    elif kind == "gpt2":
        c = GPT2
        d, L, h = c["n_embd"], c["n_layer"], c["n_head"]
        proj, mlp, head = 4 * d * d, 2 * d * 4 * d, d * c["vocab_size"]
    elif kind == "bert":
        c = BERT
        d, L, h, f = (c["hidden_size"], c["num_hidden_layers"], c["num_attention_heads"],
                      c["intermediate_size"])
        proj, mlp, head = 4 * d * d, 2 * d * f, 0
    elif kind in ("mixtral", "qwen2moe"):
        c = MIXTRAL if kind == "mixtral" else QWEN2MOE
        d, L, h, kvh = (c["hidden_size"], c["num_hidden_layers"], c["num_attention_heads"],
                        c["num_key_value_heads"])
        k = c["num_experts_per_tok"]
        e = c.get("num_local_experts", c.get("num_experts"))
        f = c.get("moe_intermediate_size", c["intermediate_size"])
        proj, mlp, head = _attn_proj(d, h, kvh), d * e + k * 3 * d * f, d * c["vocab_size"]
        if kind == "qwen2moe":
            mlp += 3 * d * c["shared_expert_intermediate_size"] + d  # shared expert + its gate
    else:
        raise ValueError(kind)
    hd = d // h
    parts = {"attention": batch * L * (proj * tokens + 2 * h * tokens * ctx * hd),
             "mlp": batch * L * mlp * tokens, "other": batch * head * tokens}
    return {**parts, "total": sum(parts.values())}


# --- the fixture set ----------------------------------------------------------------------

def fixtures() -> dict[str, dict]:
    """name -> how to make it and what the tests expect of it."""
    dyn_prefill = {"input_ids": {0: "batch", 1: "seq"}, "attention_mask": {0: "batch", 1: "seq"}}
    dims = {"batch": 1, "seq": SEQ}
    f: dict[str, dict] = {}

    def prefill(name, kind, dynamo, opset, dynamic, blocks):
        f[name] = dict(kind=kind, phase="prefill", dynamo=dynamo, opset=opset,
                       dynamic=dyn_prefill if dynamic else None,
                       dims=dims if dynamic else {}, blocks=blocks,
                       hand_macs=hand_macs(kind, SEQ, SEQ))

    prefill("llama_ts_op20", "llama", False, 20, False, 2)
    prefill("llama_dynamo_op20", "llama", True, 20, True, 2)
    prefill("llama_dynamo_op23", "llama", True, 23, True, 2)
    prefill("gpt2_ts_op14", "gpt2", False, 14, True, 2)
    prefill("gpt2_dynamo_op18", "gpt2", True, 18, False, 2)
    prefill("bert_ts_op14", "bert", False, 14, True, 2)
    prefill("bert_dynamo_op23", "bert", True, 23, True, 2)
    prefill("mixtral_dynamo_op20", "mixtral", True, 20, False, 2)
    prefill("qwen2moe_ts_op17", "qwen2moe", False, 17, False, 2)
    for name, dynamo, opset in (("llama_decode_ts_op17", False, 17),
                                ("llama_decode_dynamo_op23", True, 23)):
        past, _ = _kv_names(LLAMA["num_hidden_layers"])
        dyn = {"input_ids": {0: "batch"}, "attention_mask": {0: "batch", 1: "total_seq"},
               "position_ids": {0: "batch"}}
        dyn.update({p: {0: "batch", 2: "past_seq"} for p in past})
        f[name] = dict(kind="llama", phase="decode", dynamo=dynamo, opset=opset, dynamic=dyn,
                       dims={"batch": 1, "past_seq": PAST}
                       | ({} if dynamo else {"total_seq": PAST + 1}),
                       blocks=2, hand_macs=hand_macs("llama", 1, PAST + 1))
    return f


def make(name: str, spec: dict, out: Path, export: bool = True) -> dict:
    m = _model(spec["kind"])
    torch.manual_seed(1)
    path = out / f"{name}.onnx"
    if spec["phase"] == "prefill":
        wrapper = Prefill(m, encoder=spec["kind"] == "bert")
        args = _prefill_args()
        inputs = ["input_ids", "attention_mask"]
        outputs = ["last_hidden_state" if spec["kind"] == "bert" else "logits"]
    else:
        wrapper = Decode(m)
        args = _decode_args(m)
        past, present = _kv_names(m.config.num_hidden_layers)
        inputs = ["input_ids", "attention_mask", "position_ids", *past]
        outputs = ["logits", *present]
    if export:
        with tempfile.TemporaryDirectory() as tmp:
            tmp_path = Path(tmp) / "model.onnx"
            _export(wrapper, args, tmp_path, dynamo=spec["dynamo"], opset=spec["opset"],
                    input_names=inputs, output_names=outputs, dynamic=spec["dynamic"])
            _strip(tmp_path)
            path.write_bytes(tmp_path.read_bytes())
    saved = onnx.load(str(path))
    info = {"opset": next(o.version for o in saved.opset_import if o.domain in ("", "ai.onnx")),
            "nodes": len(saved.graph.node)}
    size = path.stat().st_size
    assert size < MAX_BYTES, f"{path} is {size} bytes"
    entry = {k: spec[k] for k in ("kind", "phase", "dynamo", "dims", "blocks", "hand_macs")}
    entry.update(info, bytes=size, exporter="dynamo" if spec["dynamo"] else "torchscript",
                 torch_params=sum(p.numel() for p in m.parameters()))
    print(f"{name}: {size:,} B, {info['nodes']} nodes, opset {info['opset']}")
    return entry


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "tests/fixtures/onnx")
    ap.add_argument("--manifest-only", action="store_true",
                    help="rewrite manifest.json from the existing files, without exporting")
    ap.add_argument("names", nargs="*")
    a = ap.parse_args()
    a.out.mkdir(parents=True, exist_ok=True)
    specs = fixtures()
    manifest_path = a.out / "manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    for name in a.names or specs:
        manifest[name] = make(name, specs[name], a.out, export=not a.manifest_only)
    manifest = {k: manifest[k] for k in sorted(manifest) if k in specs}
    manifest_path.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
