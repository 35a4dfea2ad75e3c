"""Sphinx configuration of the sk_cry documentation.

Build (from the repository root, with ``pip install -e ".[docs]"``)::

    python -m sphinx -W --keep-going -b html docs docs/_build/html

The API reference is generated here from each public module's ``__all__`` (one
page per module, ``docs/api/<module>.rst``, and one stub per name under
``docs/api/generated/``), so that a name added to ``__all__`` is documented
without editing these sources. sphinx-gallery runs every ``examples/plot_*.py``
and writes the gallery to ``docs/auto_examples``.
"""

import inspect
import os
import re
import sys
import warnings
from pathlib import Path

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS.parent))  # the checkout, also without pip install -e

# TensorFlow and Keras, imported by the CNN's pages and examples, print start-up
# notes on stderr; they are not warnings of the build
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
# progress bars of the library would only clutter the example outputs
os.environ.setdefault("TQDM_DISABLE", "1")

import sk_cry  # noqa: E402

project = "sk_cry"
author = "the sk_cry developers"
copyright = "the sk_cry developers, BSD-3-Clause"
release = sk_cry.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "README.md", "auto_examples/*.ipynb",
                    "auto_examples/*.py", "auto_examples/*.zip"]
root_doc = "index"
default_role = "literal"  # `name` in prose reads as code, as in the docstrings
add_module_names = False
# no intersphinx: the build must work without network access

# -- autodoc, autosummary and numpydoc ----------------------------------------
autosummary_generate = True
autosummary_imported_members = True
autodoc_typehints = "none"
autodoc_member_order = "bysource"
autodoc_default_options = {"inherited-members": False}
# numpydoc renders the Parameters, Attributes, ... sections; the class template
# lists the methods, so numpydoc's own member tables would repeat them
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

# -- the HTML site ------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"sk_cry {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "header_links_before_dropdown": 6,
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version", "theme-version"],
    "secondary_sidebar_items": ["page-toc"],
}
html_sidebars = {"index": [], "getting_started": []}
html_show_sourcelink = False
html_static_path = ["_static"]
html_css_files = ["custom.css"]

# -- sphinx-gallery -------------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": str(DOCS.parent / "examples"),
    "gallery_dirs": str(DOCS / "auto_examples"),
    "filename_pattern": r"/plot_",
    "within_subsection_order": "FileNameSortKey",
    "backreferences_dir": str(DOCS / "gen_modules" / "backreferences"),
    "doc_module": ("sk_cry",),
    # an object that no example uses has no mini-gallery: not a warning
    "log_level": {"backreference_missing": "debug"},
    "download_all_examples": False,
    "remove_config_comments": True,
    "reset_modules": ("matplotlib",),
    "capture_repr": ("_repr_html_", "__repr__"),
    "min_reported_time": 0,
    "show_memory": False,
}

# -- the API reference, generated from __all__ ---------------------------------
#: The public modules, in the order of the layers (core first): a name that two
#: modules export is documented in the first of the shortest of them.
API_MODULES = ["sk_cry", "sk_cry.core", "sk_cry.exceptions", "sk_cry.io",
               "sk_cry.features", "sk_cry.datasets", "sk_cry.models",
               "sk_cry.evaluation", "sk_cry.runtime", "sk_cry.monitor"]


def _home(name, obj, exporters):
    """The module whose page documents ``obj``.

    A class or function defined in a public module (the exceptions) lives
    there; one defined in a private module lives in the shortest public module
    that exports it, the name sphinx-gallery gives it (so that its "examples
    using" mini-gallery finds the examples); data lives in the shortest module
    that exports it.
    """
    defined = getattr(obj, "__module__", None) if callable(obj) else None
    if defined in API_MODULES:
        return defined
    if defined and defined.startswith("sk_cry"):
        parts = defined.split(".")
        home = defined
        for i in range(len(parts) - 1, 0, -1):
            shorter = ".".join(parts[:i])
            if getattr(sys.modules.get(shorter), name, None) is not obj:
                break
            home = shorter
        if home in exporters:
            return home
    return min(exporters, key=lambda m: (m.count("."), API_MODULES.index(m)))


def _kind(obj):
    if inspect.isclass(obj) and issubclass(obj, Warning):
        return "Warnings"
    if inspect.isclass(obj) and issubclass(obj, BaseException):
        return "Exceptions"
    if inspect.isclass(obj):
        return "Classes"
    if callable(obj):
        return "Functions"
    return "Constants"


autosummary_context = {}  # filled by write_api_pages
_TEMPLATES = {"Classes": "class.rst", "Exceptions": "class.rst",
              "Warnings": "class.rst", "Functions": "function.rst",
              "Constants": "data.rst"}


def write_api_pages(out=DOCS / "api"):
    """Write ``api/<module>.rst`` for every module of ``API_MODULES``; returns
    ``{module: [documented names]}``."""
    import importlib

    modules = {m: importlib.import_module(m) for m in API_MODULES}
    exported = {m: {n: getattr(mod, n) for n in mod.__all__} for m, mod in modules.items()}
    homes = {}
    for m, names in exported.items():
        for name, obj in names.items():
            exporters = [e for e in API_MODULES
                         if name in exported[e] and exported[e][name] is obj]
            homes[m, name] = _home(name, obj, exporters)
    # constants whose value would show the path of the machine that built the docs
    autosummary_context["no_value"] = sorted(
        f"{homes[m, n]}.{n}" for m, names in exported.items()
        for n, obj in names.items() if isinstance(obj, os.PathLike))
    documented = {}
    for m, names in exported.items():
        lines = [m, "=" * len(m), "",
                 f".. automodule:: {m}", "   :no-members:", "",
                 f".. currentmodule:: {m}", ""]
        own = [n for n in names if homes[m, n] == m]
        documented[m] = own
        for kind in ("Classes", "Functions", "Constants", "Exceptions", "Warnings"):
            members = sorted((n for n in own if _kind(names[n]) == kind), key=str.lower)
            if members:
                lines += [kind, "-" * len(kind), "", ".. autosummary::",
                          "   :toctree: generated/", f"   :template: {_TEMPLATES[kind]}",
                          "", *(f"   {n}" for n in members), ""]
        elsewhere = sorted((n for n in names if homes[m, n] != m), key=str.lower)
        if elsewhere:
            # autosummary refuses a name that repeats the current module
            where = {n: homes[m, n].removeprefix(f"{m}.") for n in elsewhere}
            lines += ["Also here", "---------", "",
                      f"``{m}`` also exports these names, documented in the module "
                      "that defines them:", "", ".. autosummary::", "",
                      *(f"   {where[n]}.{n}" for n in elsewhere), ""]
        page = out / f"{m}.rst"
        text = "\n".join(lines)
        if not page.exists() or page.read_text() != text:  # keep Sphinx's cache
            page.write_text(text)
    return documented


# scikit-learn's docstrings, which the estimators inherit, refer to its own
# User Guide and glossary: those references become links to its site
_SKLEARN = "https://scikit-learn.org/stable"
_SKLEARN_REF = re.compile(r":ref:`([^`<]*?)\s*<([^`>]+)>`|:ref:`([^`]+)`")
_SKLEARN_TERM = re.compile(r":term:`([^`<]*?)\s*<([^`>]+)>`|:term:`([^`]+)`")


def _sklearn_links(app, what, name, obj, options, lines):
    def ref(match):
        text, label = match[1] or match[3], match[2] or match[3]
        return f"`{text} <{_SKLEARN}/{label}.html>`__"

    def term(match):
        text, word = match[1] or match[3], match[2] or match[3]
        anchor = re.sub(r"[^a-z0-9]+", "-", word.lower()).strip("-")
        return f"`{text} <{_SKLEARN}/glossary.html#term-{anchor}>`__"

    for i, line in enumerate(lines):
        lines[i] = _SKLEARN_TERM.sub(term, _SKLEARN_REF.sub(ref, line))


def _skip_member(app, what, name, obj, skip, options):
    # set_fit_request & co.: made by scikit-learn's metadata routing for every
    # estimator, not sk_cry's API
    if re.fullmatch(r"set_\w+_request", name):
        return True
    return None


def _comment_of(name, obj):
    """The ``#:`` comment above ``name = ...`` (``obj``) in the private module
    that defines it (autodoc looks only in the public module that re-exports it)."""
    from sphinx.pycode import ModuleAnalyzer

    for modname, module in list(sys.modules.items()):
        if not modname.startswith("sk_cry.") or "._" not in modname:
            continue
        try:
            docs = ModuleAnalyzer.for_module(modname).find_attr_docs()
        except Exception:  # a module without source: nothing to find
            continue
        for (namespace, attr), lines in docs.items():
            # the name too: small ints and strings are shared objects
            if not namespace and attr == name and getattr(module, attr, None) is obj:
                return list(lines)
    return []


def _data_docs(app, what, name, obj, options, lines):
    if what != "data":
        return
    inherited = inspect.cleandoc(type(obj).__doc__ or "").splitlines()
    if not lines or [l.strip() for l in lines if l.strip()] == [
            l.strip() for l in inherited if l.strip()]:
        lines[:] = _comment_of(name.rsplit(".", 1)[-1], obj)


def setup(app):
    # before numpydoc reformats the docstring
    app.connect("autodoc-process-docstring", _data_docs, priority=100)
    app.connect("autodoc-process-docstring", _sklearn_links)
    app.connect("autodoc-skip-member", _skip_member)


with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # TensorFlow's import-time notes
    write_api_pages()
