"""The layering the architecture promises, checked on the source (docs/ARCHITECTURE.md).

* ``nn`` uses ``autograd_core`` only through names in ``autograd_core.__all__``, imported from
  the package itself (never a submodule, never an underscore name).
* ``autograd_core`` never imports ``nn`` (the engine knows nothing of networks).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import autograd_core

ROOT = Path(__file__).resolve().parents[1]
PUBLIC = set(autograd_core.__all__)


def _sources(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def _imports(path: Path) -> list[tuple[int, str, list[str]]]:
    """(line, module, imported names) for every import in ``path``; names are [] for ``import m``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name, []) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module, [alias.name for alias in node.names]))
    return found


@pytest.mark.parametrize("path", _sources("nn"), ids=lambda p: str(p.relative_to(ROOT)))
def test_nn_uses_only_public_engine_names(path: Path) -> None:
    problems = []
    for line, module, names in _imports(path):
        if module != "autograd_core" and not module.startswith("autograd_core."):
            continue
        where = f"{path.relative_to(ROOT)}:{line}"
        if module != "autograd_core":
            problems.append(f"{where} imports from the submodule {module}; import from autograd_core")
        for name in names:
            if name not in PUBLIC:
                problems.append(f"{where} imports {name!r}, which is not in autograd_core.__all__")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("path", _sources("autograd_core"), ids=lambda p: str(p.relative_to(ROOT)))
def test_engine_never_imports_nn(path: Path) -> None:
    bad = [f"{path.relative_to(ROOT)}:{line} imports {module}" for line, module, _ in _imports(path)
           if module == "nn" or module.startswith("nn.")]
    assert not bad, "\n".join(bad)


def test_public_names_exist() -> None:
    missing = [name for name in autograd_core.__all__ if not hasattr(autograd_core, name)]
    assert not missing, f"autograd_core.__all__ lists names it does not define: {missing}"


WINGS = ("batch", "see", "verify")


def _engine_module_imports(path: Path) -> list[tuple[int, str]]:
    """(line, absolute dotted module) for every import inside ``autograd_core`` (relative ones resolved)."""
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.ImportFrom):
            base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
            module = ".".join([*base, node.module] if node.module else base)
            names = [f"{module}.{a.name}" for a in node.names] if not node.module else [module]
            found += [(node.lineno, m) for m in names]
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
    return found


ENGINE_MODULES = [p for p in _sources("autograd_core") if p.name != "__init__.py" or p.parent.name in WINGS]


@pytest.mark.parametrize("path", ENGINE_MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_the_core_imports_no_wing_and_no_wing_imports_another(path: Path) -> None:
    # The package's own __init__ puts the wings together; autograd_core/widgets.py is the old
    # import path of the stepper (a re-export), so it may name see/.
    parts = path.relative_to(ROOT / "autograd_core").parts
    own = parts[0] if len(parts) > 1 else None
    if path.name == "widgets.py" and own is None:
        return
    bad = []
    for line, module in _engine_module_imports(path):
        pieces = module.split(".")
        if pieces[0] != "autograd_core" or len(pieces) < 2 or pieces[1] not in WINGS:
            continue
        if pieces[1] != own:
            bad.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    assert not bad, "\n".join(bad)
