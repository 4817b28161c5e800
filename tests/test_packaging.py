"""The set-up files agree with each other: pyproject.toml, environment.yml, constraints.txt."""

import pathlib
import tomllib

import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _pyproject():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _constraints():
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            req = Requirement(line)
            pins[canonicalize_name(req.name)] = next(iter(req.specifier)).version
    return pins


def test_environment_yml_lists_the_same_dependencies_as_pyproject():
    project = _pyproject()
    declared = set(project["dependencies"]) | set(project["optional-dependencies"]["notebook"])
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    listed = {item for item in pip_section if not item.startswith("-e")}
    assert listed == declared
    assert "-e ." in pip_section
    python = next(d for d in env["dependencies"] if isinstance(d, str) and d.startswith("python"))
    assert python.replace("python", "") == project["requires-python"]


def test_constraints_pin_every_dependency_within_its_declared_range():
    project = _pyproject()
    pins = _constraints()
    groups = project["dependencies"] + [
        r for extra in ("notebook", "test") for r in project["optional-dependencies"][extra]
    ]
    for line in groups:
        req = Requirement(line)
        if req.name == "gopherlite":
            continue
        name = canonicalize_name(req.name)
        assert name in pins, f"{name} is not pinned in constraints.txt; run `make constraints`"
        assert req.specifier.contains(pins[name]), f"{name}=={pins[name]} violates {req}"


def test_the_two_commands_are_documented_and_ci_calls_make_test():
    readme = (ROOT / "README.md").read_text()
    assert "make lab" in readme and "make test" in readme
    assert "conda env create -f environment.yml" in readme
    assert "make test" in (ROOT / ".ci" / "run").read_text()
    assert (ROOT / "LICENSE").read_text().startswith("\n                                 Apache")


def test_make_lab_serves_loopback_with_token_auth():
    makefile = (ROOT / "Makefile").read_text()
    lab = makefile[makefile.index("\nlab:") :].split("\n\n")[0]
    assert "--ServerApp.ip=127.0.0.1" in lab
    assert "token" not in lab.lower(), "make lab must leave JupyterLab's token auth on"
