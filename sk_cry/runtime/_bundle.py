"""The bundle file: an exported model as plain data, written and checked here.

A bundle is one ZIP archive (deflated: the mel filter bank is mostly zeros)
holding:

``manifest.json``
    ``format`` ("sk_cry-bundle"), ``format_version``, ``sk_cry_version``,
    ``model_sha256`` (the model's identity: the SHA-256 of its members' hashes)
    and the size and SHA-256 of every other member;
``model.json``
    ``kind`` (``"cnn"`` or ``"svm"``), class names, the loader's and the front
    end's parameters, and a detector's ``detection`` settings;
``network.tflite`` (``kind`` "cnn")
    The network as a LiteRT flatbuffer (inputs ``input_0``, ``input_1``, ... in
    the order of ``front_end.input_bands``, output the class probabilities);
``arrays/<name>.npy``
    The front end's arrays (window, mel filter bank, DCT rows, the scaler's
    mean and scale) and an SVM's support vectors, coefficients and
    calibration, read with ``allow_pickle=False``.

Format version 1 (sk_cry 0.1.0) held CNNs only, without ``kind`` and
``model_sha256``; it still loads.

Nothing in it is executable: no pickle anywhere. :func:`read_bundle` checks the
format, its version and every member's size and hash before returning anything,
so a truncated or altered file is refused before a byte of it is interpreted.
The hashes catch damage, not a forger, who could rewrite the manifest too.
"""

import hashlib
import io
import json
import zipfile

import numpy as np

from ..exceptions import ModelFileError

__all__ = ["FORMAT_VERSION", "read_bundle", "write_bundle"]

FORMAT = "sk_cry-bundle"
#: The bundle format this sk_cry writes (2: a model ``kind``, CNN or SVM, and
#: ``model_sha256``); it reads versions 1 and 2.
FORMAT_VERSION = 2
_READS = (1, 2)  # the format versions this sk_cry loads
_NETWORK, _MODEL, _MANIFEST = "network.tflite", "model.json", "manifest.json"
_MAX_MEMBER = 256 << 20  # LiteRT's flatbuffers stop at 2 GB; sk_cry's at ~8 MB


def _sha256(data):
    return hashlib.sha256(data).hexdigest()


def _npy(array):
    out = io.BytesIO()
    np.save(out, np.ascontiguousarray(array), allow_pickle=False)
    return out.getvalue()


def write_bundle(path, *, model, arrays, sk_cry_version, network=None):
    """Write a bundle; ``model`` is JSON-able (with its ``kind``), ``arrays``
    maps names to arrays, ``network`` is a CNN's flatbuffer."""
    members = {_MODEL: json.dumps(model, indent=1, sort_keys=True).encode()}
    if network is not None:
        members[_NETWORK] = network
    members.update({f"arrays/{name}.npy": _npy(a) for name, a in sorted(arrays.items())})
    hashes = {name: _sha256(data) for name, data in members.items()}
    manifest = {
        "format": FORMAT, "format_version": FORMAT_VERSION,
        "sk_cry_version": sk_cry_version,
        "model_sha256": _sha256("".join(hashes[n] for n in sorted(hashes)).encode()),
        "members": {name: {"size": len(data), "sha256": hashes[name]}
                    for name, data in members.items()},
    }
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(_MANIFEST, json.dumps(manifest, indent=1, sort_keys=True))
        for name, data in members.items():
            archive.writestr(name, data)
    return manifest


def _refuse(path, why):
    return ModelFileError(f"{path} is not a usable sk_cry bundle: {why}")


def _read_member(archive, name, limit, path):
    # zipfile stops decompressing at the size a member declares: checking the
    # declaration bounds the memory a crafted archive can ask for
    info = archive.getinfo(name)
    if info.file_size > limit:
        raise _refuse(path, f"{name} declares {info.file_size} bytes, more than the "
                      f"{limit} a bundle member may hold")
    return archive.read(name)


def read_bundle(path):
    """``(manifest, model, network bytes, arrays)`` of a bundle, all checked.

    Raises
    ------
    ModelFileError
        If the file is missing, not a ZIP archive (truncated), of another
        format or format version, or a member is missing, extra, or differs
        from the size and SHA-256 its manifest records.
    """
    try:
        archive = zipfile.ZipFile(path)
    except FileNotFoundError:
        raise ModelFileError(f"{path} does not exist") from None
    except (zipfile.BadZipFile, OSError) as exc:
        raise _refuse(path, f"it is not a complete bundle archive ({exc}); copy it "
                      "again, or export it again with sk_cry.export") from exc
    with archive:
        try:
            manifest = json.loads(_read_member(archive, _MANIFEST, 1 << 20, path))
        except KeyError:
            raise _refuse(path, f"it has no {_MANIFEST}") from None
        except (ValueError, zipfile.BadZipFile) as exc:
            raise _refuse(path, f"its {_MANIFEST} is damaged ({exc})") from exc
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise _refuse(path, f"its manifest does not say format {FORMAT!r}")
        version = manifest.get("format_version")
        if version not in _READS:
            raise _refuse(path, f"it has format version {version!r}, and this sk_cry "
                          f"({manifest.get('sk_cry_version', '?')} wrote it) reads "
                          f"versions {', '.join(map(str, _READS))}; export it again "
                          "with this sk_cry, or install the sk_cry that wrote it")
        expected = manifest.get("members", {})
        present = set(archive.namelist()) - {_MANIFEST}
        if present != set(expected):
            odd = sorted(present ^ set(expected))
            raise _refuse(path, f"its members do not match its manifest ({odd[:3]})")
        data = {}
        for name, record in expected.items():
            try:
                blob = _read_member(archive, name, _MAX_MEMBER, path)
            except (zipfile.BadZipFile, OSError) as exc:
                raise _refuse(path, f"{name} cannot be read ({exc})") from exc
            if len(blob) != record.get("size") or _sha256(blob) != record.get("sha256"):
                raise _refuse(path, f"{name} differs from the SHA-256 its manifest "
                              "records: the file was altered or damaged; copy or "
                              "export it again")
            data[name] = blob
    if _MODEL not in data:
        raise _refuse(path, f"it lacks {_MODEL}")
    try:
        model = json.loads(data[_MODEL])
        if not isinstance(model, dict):
            raise ValueError(f"{_MODEL} is not a JSON object")
        model.setdefault("kind", "cnn")  # format version 1
        if (model["kind"] == "cnn") != (_NETWORK in data):
            raise ValueError(f"a {model['kind']!r} model with"
                             f"{'out' if _NETWORK not in data else ''} {_NETWORK}")
        arrays = {name[len("arrays/"):-len(".npy")]:
                  np.load(io.BytesIO(blob), allow_pickle=False)
                  for name, blob in data.items() if name.startswith("arrays/")}
    except ValueError as exc:
        raise _refuse(path, f"a member is not plain data ({exc})") from exc
    return manifest, model, data.get(_NETWORK), arrays
