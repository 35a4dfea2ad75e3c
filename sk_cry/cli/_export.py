"""``sk-cry export``: a saved CNN or SVM pipeline to a bundle (``sk_cry.export``)
that runs without TensorFlow or scikit-learn."""

from pathlib import Path

from ._common import add_command, error

__all__ = ["add_parser", "run"]


def add_parser(sub):
    p = add_command(sub, "export", "export a saved CNN or SVM pipeline to a bundle that "
                    "runs without TensorFlow or scikit-learn",
                    "sk-cry export cry.skcry cry.skcry-bundle")
    p.add_argument("model", help="a saved CNN or SVM pipeline (sk-cry train)")
    p.add_argument("output", help="the bundle to write")
    p.set_defaults(func=run)
    return p


def run(args):
    """Export a saved pipeline to a bundle."""
    from sklearn.exceptions import NotFittedError

    from ..exceptions import SkCryError
    from ..models import export, load

    try:
        manifest = export(load(args.model), args.output)
    except (SkCryError, NotFittedError, OSError) as exc:
        return error("export", exc)
    size = Path(args.output).stat().st_size
    print(f"wrote {args.output} ({size / 1e3:.0f} KB, format version "
          f"{manifest['format_version']}, model {manifest['model_sha256'][:12]}); "
          "run it with sk-cry predict, sk-cry serve or sk_cry.runtime.load, without "
          "TensorFlow")
    return 0
