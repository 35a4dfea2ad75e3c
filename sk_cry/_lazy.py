"""Names of a package imported on first use (PEP 562), with the standard library
only: ``import sk_cry`` and ``import sk_cry.runtime`` must not pull in
scikit-learn, librosa or TensorFlow."""

import importlib

__all__ = ["attach"]

# top-level modules of the `train` extra (pyproject.toml)
_TRAINING_STACK = {"scipy", "sklearn", "scikeras", "tensorflow", "keras", "librosa",
                   "joblib", "threadpoolctl"}


def attach(package, where):
    """``(__getattr__, __dir__, __all__)`` for ``package``.

    ``where`` maps a submodule (relative, e.g. ``"._loader"``, or ``""`` for a
    submodule named like the attribute) to the names it defines.
    """
    owner = {name: module or f".{name}" for module, names in where.items()
             for name in names}

    def __getattr__(name):
        if name not in owner:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        try:
            module = importlib.import_module(owner[name], package)
        except ModuleNotFoundError as exc:
            if exc.name not in _TRAINING_STACK:
                raise
            raise ModuleNotFoundError(
                f"{package}.{name} needs {exc.name}, which is not installed: this is "
                "a runtime-only install (pip install sk-cry), which runs exported "
                "models with sk_cry.runtime; for training, evaluation and the audit, "
                "pip install \"sk-cry[train]\"", name=exc.name) from exc
        value = module if owner[name] == f".{name}" else getattr(module, name)
        setattr(importlib.import_module(package), name, value)  # once only
        return value

    def __dir__():
        return sorted(owner)

    return __getattr__, __dir__, sorted(owner)
