"""requirements/worker.txt installs everything kiwoom_worker imports on 32-bit Windows Python, and no Django."""

from __future__ import annotations

import ast
import sys
from importlib.metadata import packages_distributions
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]
WINDOWS_32 = {"sys_platform": "win32", "platform_system": "Windows", "platform_machine": "x86", "os_name": "nt"}


def requirement_names(path: Path) -> set[str]:
    names: set[str] = set()
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if line.startswith("-r "):
            names |= requirement_names(path.parent / line[3:].strip())
        elif line:
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate(WINDOWS_32):
                names.add(requirement.name.lower())
    return names


def _optional(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    """An import inside ``try: ... except ImportError`` is a speed-up, not a requirement."""
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.Try):
            caught = {ast.unparse(h.type) for h in node.handlers if h.type is not None}
            if caught & {"ImportError", "ModuleNotFoundError"}:
                return True
    return False


def worker_imports() -> set[str]:
    found: set[str] = set()
    for path in (ROOT / "kiwoom_worker").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        parents = {child: parent for parent in ast.walk(tree) for child in ast.iter_child_nodes(parent)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module]
            else:
                continue
            if not _optional(node, parents):
                found |= {module.split(".")[0] for module in modules}
    return found - {"kiwoom_worker"}


def test_every_third_party_import_of_the_worker_is_in_its_requirements() -> None:
    installed_by = packages_distributions()
    wanted = set(requirement_names(ROOT / "requirements" / "worker.txt"))
    third_party = {module for module in worker_imports() if module not in sys.stdlib_module_names}
    missing = {module for module in third_party if not {d.lower() for d in installed_by.get(module, [module])} & wanted}
    assert not missing, f"imported by kiwoom_worker but not installed on Windows by requirements/worker.txt: {sorted(missing)}"


def test_windows_gets_the_time_zone_database_that_zoneinfo_needs() -> None:
    # Windows has no system tz database: ZoneInfo("Asia/Seoul") fails at import without the tzdata package.
    assert "zoneinfo" in worker_imports()
    assert "tzdata" in requirement_names(ROOT / "requirements" / "worker.txt")


def test_the_worker_never_imports_django() -> None:
    assert not {"django", "channels", "celery", "apps"} & worker_imports()
