"""Hostile `meshc compile --hw SYSTEM --parallel ...` requests (issue 16): a bad --parallel
text, degrees the system or the model cannot take, a batch that does not split, a system
file that is wrong or missing. Each is one line on stderr naming the option or the file,
exit 2, no traceback, and nothing written: no output folder, not even an empty one (the
case's `out` is None, so the harness refuses any change under the case's folder), and a
previous output folder left as it was.

(Named test_hostile_systems.py, not test_systems.py: pytest imports test files by their
base name, and tests/integration/test_systems.py has that one.)"""

from __future__ import annotations

from pathlib import Path

import pytest
from hostile_case import USER_ERROR, Case, run_case
from hostile_gen import SMALL, SMALL_FILES

FIXTURES = Path(__file__).parents[1] / "fixtures" / "systems"
MOE = "moe.yaml"
MOE_FILES = {MOE: (FIXTURES / "tiny-moe.yaml").read_text()}
TWO_GROUPS = "two.yaml"
LINKS = ("topology: {kind: switch}\n"
         "links: {bytes_per_s: 1.0e11, latency_s: 1.0e-6, pj_per_bit: 1.3, per_chip: 4}\n")


def _system(name: str, chips: str) -> str:
    """A system YAML on a switch with the given `chips:` block (one group a line)."""
    return (f"schema_version: 1\nname: {name}\ndescription: hostile\nchips:\n{chips}"
            + LINKS)


FILES = {**SMALL_FILES, **MOE_FILES,
         TWO_GROUPS: (FIXTURES / "two-anonymous-groups.yaml").read_text(),
         "attn-only.yaml": _system("attn-only",
                                   "  a: {hw: tpu-v6e-like, count: 4, role: attention}\n"),
         "missing-chip.yaml": _system("missing-chip",
                                      "  a: {hw: no-such-chip.yaml, count: 4}\n"),
         "one.yaml": "schema_version: 1\nname: one\ndescription: one chip\n"
                     "chips:\n  a: {hw: tpu-v6e-like, count: 1}\n"}


def _compile(parallel: str | None, *extra: str, model: str = SMALL,
             hw: str = "tpu-v6e-8") -> tuple[str, ...]:
    """`meshc compile` on a system, fast settings, into `out` (which must not appear)."""
    par = ("--parallel", parallel) if parallel is not None else ()
    return ("compile", model, "--hw", hw, *par, "--mapper", "heft", "--phase", "decode",
            "--kv-len", "64", "--backend", "report", *extra, "-o", "out")


def _case(name: str, argv: tuple[str, ...], *mentions: str) -> Case:
    return Case(f"sys-{name}"[:60], argv, USER_ERROR, FILES, mentions)


BAD_TEXT = ("tp=", "tp=abc", "xx=2", "TP=2", "tp=2,tp=4", "tp=0", "mb=0", ",", " ", "tp=-1",
            "tp=1e3", "tp=2.0", "tp=2;pp=2", "tp=2,,pp=2", "auto,tp=2", "tp=99999999",
            "mlp_tp=-3", "tp=8 pp=2")

CASES = [
    *(_case(f"parallel-{v.strip() or 'blank'}", _compile(v), "--parallel") for v in BAD_TEXT),
    # more chips than the system has
    _case("tp16-on-8", _compile("tp=16"), "--parallel", "16 chips", "tpu-v6e-8 has 8"),
    _case("dp-tp-pp-on-8", _compile("tp=2,pp=2,dp=4", "--batch", "4"), "--parallel",
          "16 chips"),
    _case("attention-chips", _compile("tp=16", hw="hetero-v6e-groq"), "--parallel",
          "attention chips", "16"),
    _case("mlp-chips", _compile("tp=2,mlp_tp=128", hw="hetero-v6e-groq"), "--parallel",
          "mlp", "128"),
    # the model cannot take the degree
    _case("tp-not-dividing-heads", _compile("tp=8"), "tp=8", "4 heads"),
    _case("tp3-not-dividing-heads", _compile("tp=3"), "tp=3", "4 heads"),
    _case("pp-over-layers", _compile("pp=4"), "stages=4", "2 layers"),
    _case("ep-on-dense", _compile("ep=2", "--batch", "2"), "ep", "mixture-of-experts"),
    _case("ep-not-dividing-experts", _compile("ep=3", "--batch", "3", model=MOE), "ep=3",
          "8 routed experts"),
    # the batch does not split into dp x mb x ep
    _case("batch-dp", _compile("dp=2", "--batch", "3"), "--batch 3", "dp x mb x ep"),
    _case("batch-mb", _compile("pp=2,mb=4", "--batch", "2"), "--batch 2", "dp x mb x ep"),
    _case("batch-ep", _compile("ep=2", "--batch", "3", model=MOE), "--batch 3",
          "dp x mb x ep"),
    _case("batch-ep-default", _compile("ep=4", model=MOE), "--batch 1", "dp x mb x ep"),
    # what the system's groups allow
    _case("two-roleless-groups", _compile("tp=2", hw=TWO_GROUPS), "two-anonymous-groups",
          "without roles"),
    _case("two-roleless-groups-no-parallel", _compile(None, hw=TWO_GROUPS),
          "two-anonymous-groups", "without roles"),
    _case("attention-only", _compile("tp=2", hw="attn-only.yaml"), "attn-only",
          "attention group and one mlp group"),
    _case("mlp-tp-homogeneous", _compile("mlp_tp=2"), "mlp_tp"),
    _case("ep-disaggregated", _compile("ep=2", "--batch", "2", hw="hetero-v6e-groq"), "ep"),
    # one chip: a system of one
    _case("tp2-one-chip", _compile("tp=2", hw="mesh-4x4"), "--parallel", "mesh-4x4 has 1"),
    _case("pp2-one-chip-file", _compile("pp=2", hw="one.yaml"), "--parallel", "one has 1"),
    _case("auto-nothing-fits", _compile("auto", model="llama3-70b", hw="groq-like-576"),
          "groq-like-576", "chips' memory"),
    # files
    _case("missing-system", _compile("tp=2", hw="nosuch-system.yaml"), "nosuch-system.yaml"),
    _case("missing-system-no-parallel", _compile(None, hw="nosuch-system.yaml"),
          "nosuch-system.yaml"),
    _case("missing-chip-file", _compile("tp=2", hw="missing-chip.yaml"),
          "missing-chip.yaml", "no-such-chip.yaml"),
    _case("system-is-a-folder", _compile("tp=2", hw="."), "."),
    # a refused request leaves a previous output as it was, every file of it
    Case("sys-refused-over-previous-output", _compile("tp=16"), USER_ERROR, FILES,
         ("--parallel",), out="out", before=(_compile("tp=2"),),
         keep=(".meshc-output", "report.json", "report.md", "timings.json",
               "chips/tpu.s0/report.json", "chips/tpu.s0/report.md")),
    # a system compile takes a named pipeline; -p would drop its partitioning
    Case("sys-explicit-pass-list", ("compile", SMALL, "--hw", "tpu-v6e-8", "--parallel",
                                    "tp=2", "-p", "tile-grain,map-mesh{mapper=heft}", "-o",
                                    "out"), USER_ERROR, FILES, ("-p",)),
    _case("parallel-superscript", _compile("tp=\u00b2"), "--parallel"),
    # auto checks the groups first, as layout() does
    _case("auto-attention-only", _compile("auto", hw="attn-only.yaml"), "attn-only",
          "mlp group"),
    _case("auto-two-roleless-groups", _compile("auto", hw=TWO_GROUPS), "two-anonymous-groups",
          "without roles"),
]


@pytest.mark.parametrize("case", [pytest.param(c, id=c.name) for c in CASES])
def test_hostile_system_request(case: Case, tmp_path: Path) -> None:
    run, found = run_case(case, tmp_path)
    assert case.out is not None or not (tmp_path / "work" / "out").exists()
    assert not found, (f"meshc {' '.join(case.argv)}"[:200] + "\n  " + "\n  ".join(found)
                       + f"\n  {run.describe()}")


def test_every_case_has_its_own_name() -> None:
    names = [c.name for c in CASES]
    assert len(names) == len(set(names)) >= 40
