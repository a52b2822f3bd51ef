"""The CLI's own distribution: it builds from the repository, carries the engine's `shared` package, and pins what the app pins."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

from tests.cli.conftest import base_env, command, run

ROOT = Path(__file__).resolve().parents[2]


def ranges(lines: list[str]) -> dict[str, str]:
    out = {}
    for line in lines:
        line = line.split("#")[0].strip()
        if line and not line.startswith("-"):
            name = re.split(r"[<>=!~ ]", line)[0].lower()
            out[name] = line[len(name):].strip()
    return out


def test_dependencies_are_the_apps_ranges() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    deps = ranges(project["dependencies"])
    app = ranges((ROOT / "requirements.txt").read_text().splitlines())
    assert {"azure-identity", "azure-mgmt-network", "pydantic", "requests"} <= set(deps)
    assert {name: app[name] for name in deps} == deps, "the CLI runs the engine's code: keep the app's ranges"
    assert project["scripts"] == {"nva-failover": "nva_failover_cli.main:main"}


def test_the_wheel_carries_the_engine_code_as_is(tmp_path: Path) -> None:
    """Built offline from a copy of pyproject.toml, cli/ and shared/ (the layout of the repository), with the venv's setuptools."""
    source = tmp_path / "repo"
    shutil.copytree(ROOT / "cli", source / "cli", ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    shutil.copytree(ROOT / "shared", source / "shared", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", source / "pyproject.toml")
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet", "-w",
                            str(tmp_path / "dist"), str(source)], capture_output=True, text=True, check=False)
    assert built.returncode == 0, built.stderr
    [wheel] = (tmp_path / "dist").glob("nva_failover-*.whl")
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        entry_points = next(z.read(n).decode() for n in names if n.endswith("entry_points.txt"))
        for module in ("domain/config", "domain/desired", "adapters/azure_network", "errors", "edge/console.html"):
            name = module if module.endswith(".html") else f"{module}.py"
            assert z.read(f"shared/{name}") == (ROOT / "shared" / name).read_bytes()
    assert "nva_failover_cli/main.py" in names
    assert not any(n.startswith(("tests/", "emulation/", "cli/")) for n in names)
    assert "nva-failover = nva_failover_cli.main:main" in entry_points


def test_the_installed_command_runs_the_repositorys_engine(tmp_path: Path) -> None:
    assert command().exists()
    where = run(["validate", "--help"], base_env(), tmp_path)
    assert where.code == 0 and "the app's own parser" in where.out
    code = "import shared.domain.config, nva_failover_cli; print(shared.domain.config.__file__)"
    probe = subprocess.run([str(command().parent / "python"), "-c", code],
                           cwd=tmp_path, env=base_env(), capture_output=True, text=True, check=True)
    assert Path(probe.stdout.strip()) == ROOT / "shared" / "domain" / "config.py"
