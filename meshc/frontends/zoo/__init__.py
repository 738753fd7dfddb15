"""The model zoo: architecture presets from published config.json values."""

from __future__ import annotations

from functools import cache
from importlib import resources

from meshc.frontends.arch import Arch, arch_from_dict
from meshc.inputs import parse_yaml


def names() -> list[str]:
    return sorted(p.name[:-5] for p in resources.files(__package__).iterdir()
                  if p.name.endswith(".yaml"))


@cache
def get(name: str) -> Arch:
    file = f"zoo/{name}.yaml"  # packaged with meshc, so read as a resource
    text = (resources.files(__package__) / f"{name}.yaml").read_text(encoding="utf-8")
    return arch_from_dict(parse_yaml(text, file), file)
