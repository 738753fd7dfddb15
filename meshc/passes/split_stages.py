"""split-stages: cuts every phase function into a chain of step functions, one per group of
chips, with the data crossing between steps made explicit as `tfm.collective send`."""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp, TensorType
from xdsl.ir import Block, BlockArgument, Operation, OpResult, Region, SSAValue
from xdsl.passes import ModulePass
from xdsl.rewriter import InsertPoint, Rewriter

from meshc.ir.graph import CollectiveKind, CollectiveOp, GraphOp
from meshc.passes._common import fail, functions
from meshc.passes._stages import ATTR_STEP, PHASE_INPUT, StageInfo, step_attributes
from meshc.passes.split_rows import bounds

BY = ("layer", "block")
ROLE_BLOCKS = ("attention", "mlp")  # by=block: the blocks that make steps of their own


@dataclass(frozen=True)
class SplitStagesPass(ModulePass):
    """Cuts every phase function (`@prefill`, `@decode`) into a chain of step functions
    `@<phase>.s<i>`, each run by one group of chips: pipeline parallelism, and with by=block
    the attention / MLP disaggregation across chips.

    Input: `tfm` functions with decoder layers (after lower-quant; the system driver runs
    shard-tensor and shard-experts after it, on the steps, and then lower-collectives).
    The layers present are split into `stages` contiguous ranges, as even as possible, the
    first ranges one layer longer; range i is pipeline stage i.
    * by=layer: step i holds the layers of range i (step = stage, role `any`).
    * by=block: every (layer, block) of an attention or MLP op is a step of its own, in order
      of first appearance (A0, M0, A1, M1, ...); its stage is its layer's range, its role
      its block. Ops of block `other` inside a layer join the step before them.
    Ops outside the layers (layer -1) join the step of the nearest op before them that has
    a step (the embedding, before every layer: step 0; the final norm and LM head: the last).
    Ops without operands (tfm.weight, tfm.kv_read) are cloned into every step that uses them
    (gpt2's tied embedding table is in the first and the last step).

    Output: the function is replaced, in place, by its steps in order. A value defined in
    step i and used in a later step j leaves i through its own `tfm.collective send %v chips
    2` (the producer op's layer and block) and enters j as an argument: one send per (value,
    consumer step), from the producer straight to each consumer, even past the steps between
    (so a skip connection is attributed to its producer step, never relayed). A phase
    argument enters every step that uses it as an argument (the host provides it, no send).
    A phase result is returned by the step that computes it (a returned phase argument or
    operand-less value by the last step). Results of a step: its phase results in the
    phase's return order, then its sends by (consumer step, definition order); the sends
    sit before the return in that order. Arguments: the phase arguments it uses in order,
    then what it receives by (producer step, definition order). Each step carries
    meshc.phase, meshc.step, meshc.stage, meshc.role, meshc.layers and meshc.sources
    (meshc/passes/_stages.py reads them). stages=1 with by=layer leaves each function whole
    and only adds the attributes (step 0, stage 0, role any).

    Options: stages (>= 1, default 1), by (layer | block, default layer).
    Fails when: stages < 1; by is unknown; a function has no layers, fewer layers than
    stages, or (by=block) no attention or MLP op in its layers; its layers are out of
    program order (an op uses a value of a later step; by=block, a layer's first op comes
    after a later layer's); a function is already a step (split-stages ran before).
    """

    name = "split-stages"

    stages: int = 1
    by: str = "layer"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        if isinstance(self.stages, bool) or not isinstance(self.stages, int) or self.stages < 1:
            fail(f"split-stages: stages must be a positive integer, got '{self.stages}'")
        if self.by not in BY:
            fail(f"split-stages: by must be {' or '.join(BY)}, got '{self.by}'")
        fs = [f for f in functions(op) if f.body.blocks]  # a declaration runs nowhere
        for f in fs:
            if ATTR_STEP in f.attributes:
                fail(f"split-stages: @{f.sym_name.data} is already a step ({ATTR_STEP}); "
                     f"run split-stages once")
        for f in fs:
            plan = _Plan(f, self.stages, self.by)
            if self.stages == 1 and self.by == "layer":
                phase_args = tuple((PHASE_INPUT, k) for k in range(len(f.args)))
                f.attributes.update(step_attributes(StageInfo(
                    f.sym_name.data, 0, 0, "any", plan.infos[0][2], phase_args)))
                continue
            steps = plan.build()
            Rewriter.insert_op(steps, InsertPoint.before(f))
            Rewriter.erase_op(f, safe_erase=False)


def _where(op: Operation) -> str:
    if isinstance(op, GraphOp):
        return f"{op.name} (layer {op.layer_index}, {op.block_name})"
    return op.name


class _Plan:
    """Which step each op of one phase function runs in, and what crosses between steps."""

    def __init__(self, f: func.FuncOp, stages: int, by: str) -> None:
        self.f, self.name = f, f.sym_name.data
        ret = f.body.block.last_op
        assert isinstance(ret, func.ReturnOp)  # func.func's verifier
        self.ret = ret
        self.ops = [o for o in f.body.block.ops if o is not ret]
        self.order = {r: (i, r.index) for i, o in enumerate(self.ops) for r in o.results}
        self.infos = self._steps(stages, by)
        self.last = len(self.infos) - 1
        self.home: dict[Operation, int] = {}  # the step of every op with operands
        self.cloned: dict[Operation, tuple[int, ...]] = {}  # the steps of operand-less ops
        self._assign(by)
        self._check_order()

    # -- the steps and their layers -------------------------------------------------------
    def _steps(self, stages: int, by: str) -> list[tuple[int, str, tuple[int, int]]]:
        """(stage, role, (first, last layer)) of each step; `self.key` maps an op's anchor
        (its stage by=layer, its (layer, block) by=block) to its step."""
        layers = sorted({o.layer_index for o in self.ops if isinstance(o, GraphOp)
                         and o.operands and o.layer_index >= 0})
        if not layers:
            fail(f"split-stages: @{self.name} has no decoder layers (every op is layer -1): "
                 f"nothing to split into stages")
        if stages > len(layers):
            fail(f"split-stages: @{self.name} has {len(layers)} layers, fewer than "
                 f"stages={stages}; use stages <= {len(layers)}")
        ranges = bounds(len(layers), stages)
        self.stage_of = {layers[i]: s for s, (a, b) in enumerate(ranges) for i in range(a, b)}
        self.key: dict[object, int] = {}
        if by == "layer":
            self.key = {s: s for s in range(stages)}
            return [(s, "any", (layers[a], layers[b - 1])) for s, (a, b) in enumerate(ranges)]
        out: list[tuple[int, str, tuple[int, int]]] = []
        for o in self.ops:
            k = self._anchor(o, by)
            if isinstance(k, tuple) and k not in self.key:
                if out and k[0] < out[-1][2][0]:  # the stages must follow the chain
                    fail(f"split-stages: @{self.name}: {_where(o)} comes after the ops of "
                         f"layer {out[-1][2][0]}; the layers must come in program order")
                self.key[k] = len(out)
                out.append((self.stage_of[k[0]], k[1], (k[0], k[0])))
        if not out:
            fail(f"split-stages{{by=block}}: @{self.name} has no attention or mlp op in its "
                 f"layers; use by=layer")
        return out

    def _anchor(self, o: Operation, by: str) -> object:
        """What places an op with operands in a step by itself; None: it joins the step of
        the op before it."""
        if not (isinstance(o, GraphOp) and o.operands and o.layer_index >= 0):
            return None
        if by == "layer":
            return self.stage_of[o.layer_index]
        return (o.layer_index, o.block_name) if o.block_name in ROLE_BLOCKS else None

    def _assign(self, by: str) -> None:
        before: dict[Operation, int] = {}  # an unused operand-less op: the step before it
        prev = 0
        for o in self.ops:
            k = self._anchor(o, by)
            if o.operands or o.regions:
                prev = self.key[k] if k is not None else prev
                self.home[o] = prev
            else:
                before[o] = prev
        for o, at in before.items():
            users = sorted({self._user_step(u.operation) for r in o.results for u in r.uses})
            self.cloned[o] = tuple(users) or (at,)

    def _top(self, op: Operation) -> Operation:
        while op.parent_block() is not self.f.body.block:
            parent = op.parent_op()
            assert parent is not None
            op = parent
        return op

    def _user_step(self, user: Operation) -> int:
        top = self._top(user)
        return self.last if top is self.ret else self.home[top]

    def _check_order(self) -> None:
        for o, s in self.home.items():
            for v in self._inputs(o):
                if isinstance(v, OpResult) and self.home.get(v.op, -1) > s:
                    fail(f"split-stages: @{self.name}: {_where(o)} in step {s} uses a value "
                         f"of {_where(v.op)} in the later step {self.home[v.op]}; the layers "
                         f"must come in program order")

    def _inputs(self, o: Operation) -> list[SSAValue]:
        """The values of the function's body that `o` (or an op nested in it) reads."""
        out: list[SSAValue] = []
        for inner in o.walk():
            for v in inner.operands:
                top = v.block is self.f.body.block if isinstance(v, BlockArgument) else (
                    isinstance(v, OpResult) and v.op.parent_block() is self.f.body.block)
                if top and v not in out:
                    out.append(v)
        return out

    # -- building the steps ---------------------------------------------------------------
    def build(self) -> list[func.FuncOp]:
        n = len(self.infos)
        phase_in: list[set[int]] = [set() for _ in range(n)]
        recv: list[set[SSAValue]] = [set() for _ in range(n)]  # values step s receives
        for o, s in self.home.items():
            for v in self._inputs(o):
                if isinstance(v, BlockArgument):
                    phase_in[s].add(v.index)
                elif isinstance(v, OpResult) and v.op in self.home and self.home[v.op] < s:
                    recv[s].add(v)
        outs: list[list[SSAValue]] = [[] for _ in range(n)]  # phase results of each step
        for v in self.ret.arguments:
            if isinstance(v, BlockArgument):
                phase_in[self.last].add(v.index)
            s = self.home[v.op] if isinstance(v, OpResult) and v.op in self.home else self.last
            outs[s].append(v)
        sends: list[list[tuple[int, SSAValue]]] = [[] for _ in range(n)]
        for s in range(n):
            for v in sorted(recv[s], key=self._rank):
                assert isinstance(v, OpResult)
                sends[self.home[v.op]].append((s, v))
        sources: list[list[tuple[int, int]]] = [[] for _ in range(n)]
        for t in range(n):
            for i, (s, _) in enumerate(sends[t]):
                sources[s].append((t, len(outs[t]) + i))
        return [self._step(s, sorted(phase_in[s]), sorted(recv[s], key=self._rank), outs[s],
                           sends[s], [(PHASE_INPUT, k) for k in sorted(phase_in[s])]
                           + sources[s]) for s in range(n)]

    def _rank(self, v: SSAValue) -> tuple[int, int, int]:
        assert isinstance(v, OpResult)
        return (self.home[v.op], *self.order[v])

    def _step(self, s: int, phase_in: list[int], recv: list[SSAValue], outs: list[SSAValue],
              sends: list[tuple[int, SSAValue]], sources: list[tuple[int, int]]) -> func.FuncOp:
        ins: list[SSAValue] = [self.f.args[k] for k in phase_in] + recv
        block = Block(arg_types=[v.type for v in ins])
        vmap: dict[SSAValue, SSAValue] = dict(zip(ins, block.args, strict=True))
        for o in self.ops:
            if self.home.get(o) == s or s in self.cloned.get(o, ()):
                block.add_op(o.clone(value_mapper=vmap))
        results = [vmap[v] for v in outs]
        for _, v in sends:
            assert isinstance(v, OpResult)
            p = v.op
            if not isinstance(v.type, TensorType):
                fail(f"split-stages: @{self.name}: {_where(p)} sends a {v.type} to a "
                     f"later step; only tensors cross chips")
            layer, blk = (p.layer_index, p.block_name) if isinstance(p, GraphOp) else (-1, "other")
            send = CollectiveOp(CollectiveKind.SEND, vmap[v], 2, v.type, layer, blk)
            block.add_op(send)
            results.append(send.result)
        block.add_op(func.ReturnOp(*results))
        stage, role, layers = self.infos[s]
        step = func.FuncOp(f"{self.name}.s{s}", ([a.type for a in block.args],
                                                 [r.type for r in results]), Region(block))
        step.attributes.update(self.f.attributes)
        step.attributes.update(step_attributes(StageInfo(self.name, s, stage, role, layers,
                                                         tuple(sources))))
        return step

