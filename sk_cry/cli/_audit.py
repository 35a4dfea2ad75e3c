"""``sk-cry audit``: look for recording shortcuts and duplicates in a labelled
folder (``sk_cry.audit``), without TensorFlow."""

from ._common import add_command, error

__all__ = ["add_parser", "run"]


def add_parser(sub):
    p = add_command(sub, "audit", "look for recording shortcuts and duplicates in a "
                    "labelled folder (exit status 0: nothing critical, 1: something "
                    "critical, 2: the folder or labels cannot be read)",
                    "sk-cry audit recordings/")
    p.add_argument("folder")
    p.add_argument("--labels-csv", default=None,
                   help="CSV of <file>,<label> rows (default: sub-folders or names)")
    p.add_argument("--n-jobs", type=int, default=-1,
                   help="files scanned in parallel (default %(default)s: every core)")
    p.set_defaults(func=run)
    return p


def run(args):
    """Audit a folder of recordings and print the report.

    Exit status 0 when nothing critical is found, 1 when something is, 2 when
    the folder or its labels cannot be read.
    """
    from ..datasets import load_folder
    from ..evaluation import audit
    from ..exceptions import SkCryError

    try:
        data = load_folder(args.folder, args.labels_csv)
    except (SkCryError, OSError) as exc:
        return error("audit", exc)
    print(f"auditing {len(data.paths)} files, classes {', '.join(data.target_names)}"
          + (f", {len(set(data.groups))} groups" if data.groups is not None else ""),
          flush=True)
    report = audit(data.paths, data.target, data.groups, n_jobs=args.n_jobs)
    print(report)
    return 1 if any(f.severity == "critical" for f in report.findings) else 0
