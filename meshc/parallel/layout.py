"""Where the parallel degrees put the work: which chip groups run what, how many chips a
subgroup (one pipeline stage of a group) has, and the batch one chip function sees.

A system whose groups all have role `any` must have one group: each pipeline stage runs on
tp x ep of its chips. A system with an `attention` group and an `mlp` group disaggregates:
each layer's attention runs on tp attention chips and its MLP on mlp_tp MLP chips of the same
stage, micro-batches ping-ponging between them.
"""

from __future__ import annotations

from dataclasses import dataclass

from meshc.errors import MeshcError
from meshc.hardware.model import Hardware
from meshc.hardware.system import ChipSet, System
from meshc.parallel.degrees import Parallel


@dataclass(frozen=True)
class Layout:
    system: System
    parallel: Parallel
    disaggregated: bool
    groups: tuple[ChipSet, ...]  # the groups used: (any,) or (attention, mlp)

    @property
    def batch_split(self) -> int:
        """Parts the batch is cut into: replicas, micro-batches, and the ep chips a stage's
        attention runs data-parallel over."""
        p = self.parallel
        return p.dp * p.mb * p.ep

    @property
    def first_chip(self) -> Hardware:
        return self.groups[0].hw

    def group_of(self, role: str) -> ChipSet:
        """The group that runs a step of this role (split-stages' meshc.role)."""
        if not self.disaggregated:
            return self.groups[0]
        return self.groups[0] if role == "attention" else self.groups[1]

    def group_named(self, name: str) -> ChipSet:
        return next(g for g in self.groups if g.name == name)

    def subgroup_chips(self, group: ChipSet) -> int:
        """Chips running one stage's steps in `group`."""
        p = self.parallel
        if not self.disaggregated:
            return p.stage_chips
        return p.tp if group is self.groups[0] else p.mlp

    def chips_used(self) -> int:
        p = self.parallel
        return sum(self.subgroup_chips(g) for g in self.groups) * p.pp * p.dp


def layout(system: System, par: Parallel, batch: int) -> Layout:
    """The layout of `par` on `system` for a batch of `batch` sequences; a degree that
    does not fit is a MeshcError naming the figures."""
    roles = {g.role for g in system.groups}
    where = "--parallel"
    if roles <= {"any"}:
        if len(system.groups) > 1:
            raise MeshcError(f"{system.name} has {len(system.groups)} chip groups without "
                             "roles", where=where, hint="give them roles attention and mlp "
                             "(disaggregation), or use one group")
        if par.mlp_tp:
            raise MeshcError("mlp_tp applies to a system with attention and mlp chips",
                             where=where)
        lay = Layout(system, par, False, system.groups)
        g = system.groups[0]
        if par.chips > g.count:
            raise MeshcError(f"tp x ep x pp x dp = {par.tp} x {par.ep} x {par.pp} x "
                             f"{par.dp} = {par.chips} chips; {system.name} has {g.count}",
                             where=where, hint="lower a degree, or use a larger system")
    else:
        att = [g for g in system.groups if g.role == "attention"]
        mlp = [g for g in system.groups if g.role == "mlp"]
        if len(att) != 1 or len(mlp) != 1 or len(system.groups) != 2:
            raise MeshcError(f"{system.name}: disaggregation needs exactly one attention "
                             "group and one mlp group", where=where)
        if par.ep > 1:
            raise MeshcError("ep with attention/MLP disaggregation is not supported yet",
                             where=where, hint="use ep on a system of one chip type")
        lay = Layout(system, par, True, (att[0], mlp[0]))
        for g, tp in ((att[0], par.tp), (mlp[0], par.mlp)):
            need = tp * par.pp * par.dp
            if need > g.count:
                raise MeshcError(f"the {g.role} chips: tp x pp x dp = {tp} x {par.pp} x "
                                 f"{par.dp} = {need}; the system has {g.count}", where=where,
                                 hint="lower a degree" + (" (mlp_tp sets the MLP chips' tp)"
                                                          if g.role == "mlp" else ""))
    if batch % lay.batch_split:
        raise MeshcError(f"--batch {batch} does not split into dp x mb x ep = {par.dp} x "
                         f"{par.mb} x {par.ep} = {lay.batch_split} equal parts", where=where,
                         hint=f"a batch that is a multiple of {lay.batch_split}")
    return lay
