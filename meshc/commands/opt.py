"""`meshc opt`: xDSL's opt driver with meshc's dialects, passes and named pipelines."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from xdsl.utils.exceptions import DiagnosticException, ParseError
from xdsl.xdsl_opt_main import xDSLOptMain

from meshc.errors import MeshcError, one_line
from meshc.registry import dialect_factories, pass_factories


class MeshcOptMain(xDSLOptMain):
    def register_all_dialects(self) -> None:
        super().register_all_dialects()
        known = set(self.ctx.registered_dialect_names)
        for name, factory in dialect_factories().items():
            if name not in known:  # the xdsl.universe entry point may have added them
                self.ctx.register_dialect(name, factory)

    def register_all_passes(self) -> None:
        super().register_all_passes()
        for name, factory in pass_factories().items():
            self.register_pass(name, factory)


def expand_pipeline(args: Sequence[str]) -> list[str]:
    """Turns `--pipeline NAME [--hw HW]` into the `-p` pass list of that named pipeline."""
    args = list(args)
    if "--pipeline" not in args:
        return args
    from meshc.pipelines import pipeline_spec

    i = args.index("--pipeline")
    if i + 1 >= len(args):
        raise MeshcError("--pipeline needs a name")
    name = args[i + 1]
    del args[i:i + 2]
    hw = "mesh-4x4"
    if "--hw" in args:
        j = args.index("--hw")
        hw = args[j + 1]
        del args[j:j + 2]
    return [*args, "-p", pipeline_spec(name, hw)]


def run(args: Sequence[str]) -> int:
    """Runs the driver; user errors print one line and return 2."""
    try:
        MeshcOptMain(description="meshc opt: run meshc passes on IR",
                     args=expand_pipeline(args)).run()
    except (ParseError, DiagnosticException, MeshcError, ValueError) as e:
        print(f"meshc opt: error: {one_line(e)}", file=sys.stderr)
        return 2
    return 0


def main() -> None:
    sys.exit(run(sys.argv[1:]))


if __name__ == "__main__":
    main()
