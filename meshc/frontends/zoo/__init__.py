"""The model zoo: architecture presets from published config.json values."""

from __future__ import annotations

from functools import cache
from importlib import resources

from meshc.frontends.arch import Arch, arch_from_dict


def names() -> list[str]:
    return sorted(p.name[:-5] for p in resources.files(__package__).iterdir()
                  if p.name.endswith(".yaml"))


@cache
def get(name: str) -> Arch:
    import yaml

    path = resources.files(__package__) / f"{name}.yaml"
    return arch_from_dict(yaml.safe_load(path.read_text()), f"zoo/{name}.yaml")
