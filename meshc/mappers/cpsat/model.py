"""Variables of the op-level CP-SAT model of one window.

Per free op i: start s_i and end e_i (time units); per candidate rectangle c a literal x_ic
and an optional interval [s_i, e_i) of the candidate's duration present iff x_ic; exactly
one x_ic. Ops of the fixed context are constant intervals at their incumbent times. The
objective variable z bounds end_i + tail_i for every free op.

The hint is complete (every variable, aux variables included) and comes from the incumbent.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ortools.sat.python import cp_model

from meshc.mappers.instance import Instance
from meshc.mappers.plan import Plan
from meshc.mappers.windows import WindowSpec

Expr = cp_model.LinearExpr | int


@dataclass(frozen=True, slots=True)
class OpVars:
    start: cp_model.IntVar
    end: cp_model.IntVar
    lits: tuple[cp_model.IntVar, ...]
    intervals: tuple[cp_model.IntervalVar, ...]


@dataclass(slots=True)
class WindowModel:
    """The model under construction, with what the constraint families need to see."""

    inst: Instance
    spec: WindowSpec
    incumbent: Plan
    model: cp_model.CpModel
    free: dict[int, OpVars]
    context: dict[int, cp_model.IntervalVar]  # fixed ops that can meet a free op in time
    z: cp_model.IntVar
    hints: list[tuple[cp_model.IntVar, int]] = field(default_factory=list)

    def is_fixed(self, i: int) -> bool:
        return i not in self.free

    def geom(self, i: int, k: int) -> Expr:
        """Coordinate k (0: r0, 1: c0, 2: r1, 3: c1) of op i's rectangle."""
        g = self.inst.ops[i].geom[:, k]
        if i not in self.free:
            return int(g[self.incumbent.cand[i]])
        return cp_model.LinearExpr.weighted_sum(self.free[i].lits, [int(v) for v in g])

    def by_candidate(self, i: int, values: list[int]) -> Expr:
        """The value of op i's chosen candidate in a per-candidate table."""
        if i not in self.free:
            return values[int(self.incumbent.cand[i])]
        return cp_model.LinearExpr.weighted_sum(self.free[i].lits, values)

    def end(self, i: int) -> Expr:
        if i in self.free:
            return self.free[i].end
        return int(self.incumbent.start[i] + self.inst.ops[i].dur[self.incumbent.cand[i]])

    def start(self, i: int) -> Expr:
        if i in self.free:
            return self.free[i].start
        return int(self.incumbent.start[i])


def build_variables(inst: Instance, spec: WindowSpec, incumbent: Plan, z_lower: int) -> (
    WindowModel
):
    """Variables, exactly-one and the fixed context of the window `spec`."""
    model = cp_model.CpModel()
    ends = incumbent.ends(inst)
    free: dict[int, OpVars] = {}
    hints: list[tuple[cp_model.IntVar, int]] = []
    for i, est, tail in zip(spec.ops, spec.est, spec.tail, strict=True):
        tab = inst.ops[i]
        dmin = int(tab.dur.min())
        hi = spec.z_incumbent - tail
        s = model.new_int_var(est, hi - dmin, f"s{i}")
        e = model.new_int_var(est + dmin, hi, f"e{i}")
        lits, ivs = [], []
        for c in range(len(tab.rects)):
            x = model.new_bool_var(f"x{i}_{c}")
            lits.append(x)
            ivs.append(model.new_optional_interval_var(s, int(tab.dur[c]), e, x, f"i{i}_{c}"))
            hints.append((x, int(c == incumbent.cand[i])))
        model.add_exactly_one(lits)
        hints += [(s, int(incumbent.start[i])), (e, int(ends[i]))]
        free[i] = OpVars(start=s, end=e, lits=tuple(lits), intervals=tuple(ivs))
    t_lo = min(spec.est, default=0)
    context = {
        i: model.new_fixed_size_interval_var(
            int(incumbent.start[i]), int(inst.ops[i].dur[incumbent.cand[i]]), f"f{i}")
        for i in spec.fixed if ends[i] > t_lo
    }
    z = model.new_int_var(min(z_lower, spec.z_incumbent), spec.z_incumbent, "z")
    hints.append((z, spec.z_incumbent))
    return WindowModel(inst=inst, spec=spec, incumbent=incumbent, model=model, free=free,
                       context=context, z=z, hints=hints)
