"""A minimal PEP 517 build backend: enough for `pip install` of this one package.

It writes a wheel holding the package, its metadata and its entry points, reading all of
them from pyproject.toml. It exists so that the test needs no build tool (setuptools 65
cannot build wheels without the `wheel` package); a real plug-in uses setuptools.
"""

from __future__ import annotations

import base64
import hashlib
import tomllib
import zipfile
from pathlib import Path

HERE = Path(__file__).parent


def _project() -> dict:
    return tomllib.loads((HERE / "pyproject.toml").read_text())["project"]


def _dist_info(project: dict) -> tuple[str, dict[str, str]]:
    name = project["name"].replace("-", "_")
    version = project["version"]
    meta = (f"Metadata-Version: 2.1\nName: {project['name']}\nVersion: {version}\n"
            f"Summary: {project.get('description', '')}\n"
            f"Requires-Python: {project.get('requires-python', '')}\n")
    ep_lines = []
    for group, eps in project.get("entry-points", {}).items():
        ep_lines.append(f"[{group}]")
        ep_lines += [f"{k} = {v}" for k, v in eps.items()]
        ep_lines.append("")
    wheel = "Wheel-Version: 1.0\nGenerator: _build\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    info = f"{name}-{version}.dist-info"
    return info, {f"{info}/METADATA": meta, f"{info}/WHEEL": wheel,
                  f"{info}/entry_points.txt": "\n".join(ep_lines)}


def _record_line(path: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{path},sha256={digest},{len(data)}"


def get_requires_for_build_wheel(config_settings=None):
    return []


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    project = _project()
    info, meta_files = _dist_info(project)
    files: dict[str, bytes] = {}
    for src in sorted((HERE / "meshc_hello_backend").rglob("*.py")):
        files[src.relative_to(HERE).as_posix()] = src.read_bytes()
    files.update({k: v.encode() for k, v in meta_files.items()})
    record = [_record_line(k, v) for k, v in files.items()] + [f"{info}/RECORD,,"]
    files[f"{info}/RECORD"] = ("\n".join(record) + "\n").encode()
    wheel_name = f"{info[: -len('.dist-info')]}-py3-none-any.whl"
    with zipfile.ZipFile(Path(wheel_directory) / wheel_name, "w") as zf:
        for path, data in files.items():
            zf.writestr(path, data)
    return wheel_name
