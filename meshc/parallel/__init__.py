"""Systems of chips: a model partitioned over a system's chips, and what that costs.

A system compile cuts a phase into a chain of *steps* (a pipeline stage, or one layer's
attention or MLP part under disaggregation), simulates each distinct step on its chip with
the per-chip flow and prices the collectives with meshc/hardware/collectives.py:

* `degrees.py`: the parallel degrees (tp, pp, ep, dp, mb ...) as `--parallel` gives them;
* `layout.py`: which chip groups run what, the chips of a subgroup, the batch a chip sees;
* `driver.py`: `compile_system(...)`, the steps above, ending in a `SystemResult`;
* `pricing.py`: each step's `StepCharge` from its chip's result and the fabric;
* `search.py`: `--parallel auto`, the layouts that fit, the best by an objective;
* `charges.py`: what one step costs, `StepCharge` (with its `LinkCharge`s), the input of
  the two below;
* `schedule.py`: `pipeline(steps, micro_batches)`, the micro-batches through the chain on
  the chip groups (GPipe order), as a `Timeline`;
* `compose.py`: `compose_phase(...)` -> `SystemPhase` (latency, period, tokens/s, energy
  split into chips and links, per-resource use, the bottleneck) and `SystemResult`.

degrees, charges, schedule and compose are pure functions on frozen values, without xDSL.
meshc/backends/system_report.py writes the result as report.json, report.md and trace.json.
"""
