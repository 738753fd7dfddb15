"""Named studies: a sweep with the right grid and a short written answer with its numbers.

A study is a small frozen value. meshc's own and third parties' are found the same way,
through the `meshc.studies` entry-point group (meshc.registry), e.g. in a package's
pyproject.toml:

    [project.entry-points."meshc.studies"]
    my-study = "my_pkg.studies:MY_STUDY"

Two plug-ins with one name, one that fails to import, or one that is not a `Study` named
as its entry point is a MeshcError that names it (docs/studies.md has a worked example).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from meshc.errors import MeshcError
from meshc.studies.table import Table

if TYPE_CHECKING:
    from meshc.studies.sweep import Sweep

STUDY_GROUP = "meshc.studies"


@dataclass(frozen=True)
class Study:
    name: str
    question: str  # one line: what the study answers
    models: tuple[str, ...]
    hws: tuple[str, ...]
    grid: tuple[str, ...]  # --grid arguments: "batch=1,8,64"
    answer: Callable[[Table], str]  # the written answer, with its numbers, from the table
    fixed: Mapping[str, Any] = field(default_factory=dict)  # settings of every point
    metrics: tuple[str, ...] = ("latency_s", "pj_per_token")  # figures plotted
    pareto: tuple[str, ...] = ("latency_s", "pj_per_token")
    zipped: bool = False  # pair the grid's lists instead of crossing them
    paired: tuple[str, ...] = ()  # keys paired with each other, crossed with the rest
    # points that depend on the models (quant-tax: the layers that reach a parameter
    # multiplier): the sweep built from the defaults, --model, --hw and --grid -> the one run
    expand: Callable[[Sweep], Sweep] | None = None


def study_names() -> list[str]:
    from meshc.registry import plugins

    return sorted(plugins(STUDY_GROUP))


def get_study(name: str) -> Study:
    from meshc.registry import load_plugin, plugins

    if name not in plugins(STUDY_GROUP):
        raise MeshcError(f"unknown study '{name}'",
                         hint=f"studies: {', '.join(study_names())} (`meshc study list`)")
    obj = load_plugin(STUDY_GROUP, name)
    if not isinstance(obj, Study) or obj.name != name:
        raise MeshcError(f"plug-in '{name}' in {STUDY_GROUP} is not a Study named '{name}'")
    return obj
