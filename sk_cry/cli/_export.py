"""``sk-cry export``: a saved CNN or SVM pipeline to a bundle (``sk_cry.export``)
that runs without TensorFlow or scikit-learn."""

from pathlib import Path

from ._common import add_command, audio_files, error

__all__ = ["add_parser", "run"]


def add_parser(sub):
    p = add_command(sub, "export", "export a saved CNN or SVM pipeline to a bundle that "
                    "runs without TensorFlow or scikit-learn",
                    "sk-cry export cry.skcry cry.skcry-bundle",
                    "sk-cry export cry.skcry cry-int8.skcry-bundle --quantize int8 "
                    "--representative recordings/")
    p.add_argument("model", help="a saved CNN or SVM pipeline (sk-cry train)")
    p.add_argument("output", help="the bundle to write")
    p.add_argument("--quantize", choices=["int8"], default=None,
                   help="quantize a CNN's network after training (about half the "
                   "bundle; probabilities within a few hundredths of the float "
                   "network's); needs --representative")
    p.add_argument("--representative", metavar="FOLDER", nargs="+", default=None,
                   help="recordings the model was trained on (folders or files): "
                   "--quantize reads each activation's range off them")
    p.set_defaults(func=run)
    return p


def run(args):
    """Export a saved pipeline to a bundle."""
    from sklearn.exceptions import NotFittedError

    from ..exceptions import SkCryError
    from ..models import export, load

    if (args.quantize is None) != (args.representative is None):
        return error("export", "--quantize int8 and --representative FOLDER go "
                     "together: int8 ranges are read off the training recordings")
    options = {}
    if args.quantize is not None:
        files = audio_files(args.representative)
        if not files:
            return error("export", f"no audio files in {' '.join(args.representative)}: "
                         "--representative takes the recordings the model was trained "
                         "on")
        options = {"quantize": args.quantize, "representative": files}
    try:
        manifest = export(load(args.model), args.output, **options)
    except (SkCryError, NotFittedError, OSError) as exc:
        return error("export", exc)
    size = Path(args.output).stat().st_size
    kind = "" if args.quantize is None else f"{args.quantize}, "
    print(f"wrote {args.output} ({size / 1e3:.0f} KB, {kind}format version "
          f"{manifest['format_version']}, model {manifest['model_sha256'][:12]}); "
          "run it with sk-cry predict, sk-cry serve or sk_cry.runtime.load, without "
          "TensorFlow")
    return 0
