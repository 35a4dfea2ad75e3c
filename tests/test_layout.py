"""The package's floors talk through public names: no module imports another
subpackage's private modules or names (sk_cry's style guide)."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "sk_cry"


def _imports(path):
    """``(line, absolute module, names)`` of every ``from ... import`` in a file."""
    here = path.relative_to(PACKAGE.parent).with_suffix("").parts
    package = here[:-1] if here[-1] != "__init__" else here[:-1]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - node.level + 1]
                module = ".".join(base + ((node.module,) if node.module else ()))
            else:
                module = node.module or ""
            yield node.lineno, module, [a.name for a in node.names]


def _subpackage(module):
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "sk_cry" else None


def test_no_module_imports_another_subpackages_private_names():
    offences = []
    for path in sorted(PACKAGE.rglob("*.py")):
        own = _subpackage(".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts))
        for line, module, names in _imports(path):
            if not module.startswith("sk_cry.") or _subpackage(module) == own:
                continue
            private = [p for p in module.split(".")[1:] if p.startswith("_")
                       and p != "__init__"] + [n for n in names if n.startswith("_")]
            # sk_cry/_lazy.py is the top-level package's own helper
            if private and module != "sk_cry._lazy":
                offences.append(f"{path.relative_to(PACKAGE.parent)}:{line} "
                                f"from {module} import {', '.join(names)}")
    assert offences == [], "\n".join(offences)


def test_the_check_sees_an_offence(tmp_path, monkeypatch):
    # the check itself must be able to fail: a private import planted in a copy
    fake = tmp_path / "sk_cry"
    (fake / "models").mkdir(parents=True)
    (fake / "models" / "_x.py").write_text("from ..runtime._bundle import write_bundle\n")
    monkeypatch.setattr(__import__(__name__), "PACKAGE", fake)
    try:
        test_no_module_imports_another_subpackages_private_names()
    except AssertionError as exc:
        assert "sk_cry/models/_x.py:1 from sk_cry.runtime._bundle" in str(exc)
    else:
        raise AssertionError("a private import went unseen")
