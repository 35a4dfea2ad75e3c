"""sk_cry.save / sk_cry.load: a checked header in front of a joblib payload."""

import hashlib
import io
import json
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import joblib
import numpy as np
import pytest
import sklearn
from sklearn.dummy import DummyClassifier
from sklearn.exceptions import NotFittedError

import sk_cry
from sk_cry import make_svm_pipeline
from sk_cry.models import ModelFileError, ModelVersionWarning

MAGIC = b"sk_cry model\n"
HEAVY = {"tensorflow", "keras", "scikeras"}
# tests/test_models.py's fast CNN, 2 epochs: the round trip needs weights, not skill
FAST_CNN = dict(duration=1.0, filters=8, epochs=2, batch_size=8, learning_rate=3e-3,
                early_stopping=False, random_state=0)


def _parts(path):
    """(header dict, payload bytes) of a model file, split by hand."""
    data = Path(path).read_bytes()
    assert data.startswith(MAGIC)
    header, payload = data[len(MAGIC):].split(b"\n", 1)
    return json.loads(header), payload


def _write(path, header, payload):
    Path(path).write_bytes(MAGIC + json.dumps(header).encode() + b"\n" + payload)
    return path


def _run(code, timeout=300):
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)],
                         capture_output=True, text=True, timeout=timeout)
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout.splitlines()


class _Touch:
    """Unpickling this creates a file: a harmless stand-in for a payload that runs
    code when it is loaded."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return Path.touch, (self.path,)


@pytest.fixture(scope="module")
def svm(cry_folder):
    return make_svm_pipeline(duration=1.0).fit(cry_folder.paths, cry_folder.target)


@pytest.fixture
def saved_svm(svm, tmp_path):
    return sk_cry.save(svm, tmp_path / "svm.skcry")


def test_svm_round_trip_gives_the_same_probabilities(svm, saved_svm, cry_folder):
    assert isinstance(saved_svm, Path)
    loaded = sk_cry.load(saved_svm)
    assert type(loaded) is type(svm)
    np.testing.assert_array_equal(loaded.predict_proba(cry_folder.paths),
                                  svm.predict_proba(cry_folder.paths))
    header, payload = _parts(saved_svm)
    assert header["format"] == 1
    assert header["model"] == "sk_cry.models._pipelines.CryPipeline"
    assert header["versions"] == {"sk_cry": sk_cry.__version__,
                                  "scikit-learn": sklearn.__version__,
                                  "numpy": np.__version__}
    assert header["payload_bytes"] == len(payload)
    assert header["payload_sha256"] == hashlib.sha256(payload).hexdigest()
    assert type(joblib.load(io.BytesIO(payload))) is type(svm)  # a plain joblib payload


def test_damaged_payload_is_refused_before_anything_is_unpickled(saved_svm, tmp_path):
    marker = tmp_path / "code-ran"
    buffer = io.BytesIO()
    joblib.dump([_Touch(marker), "padding " * 8], buffer)
    payload = buffer.getvalue()
    header, _ = _parts(saved_svm)
    header.update(payload_bytes=len(payload),
                  payload_sha256=hashlib.sha256(payload).hexdigest())
    path = _write(tmp_path / "live.skcry", header, payload)
    sk_cry.load(path)  # intact: unpickled, so it runs
    assert marker.exists()
    marker.unlink()

    at = payload.index(b"padding")
    damaged = payload[:at] + b"P" + payload[at + 1:]
    _write(path, header, damaged)
    with pytest.raises(ModelFileError, match=r"live\.skcry is damaged: the SHA-256 of "
                       r"its payload is [0-9a-f]{64}, its header records "
                       f"{header['payload_sha256']}; nothing was unpickled"):
        sk_cry.load(path)
    assert not marker.exists()
    # the damaged payload is still a working pickle: only the check stopped it
    joblib.load(io.BytesIO(damaged))
    assert marker.exists()


@pytest.mark.parametrize("where", ["first", "middle", "last"])
def test_one_flipped_byte_in_a_saved_model_is_refused(saved_svm, where):
    data = bytearray(saved_svm.read_bytes())
    n = len(_parts(saved_svm)[1])
    at = len(data) - n + {"first": 0, "middle": n // 2, "last": n - 1}[where]
    data[at] ^= 0x01
    saved_svm.write_bytes(data)
    with pytest.raises(ModelFileError, match=r"svm\.skcry is damaged"):
        sk_cry.load(saved_svm)


@pytest.mark.parametrize("keep, match", [
    (lambda n, p: n - 1, r"is truncated: its header records a payload of \d+ bytes, "
                         r"the file holds \d+ after the header; nothing was unpickled"),
    (lambda n, p: n - p // 2, "is truncated"),
    (lambda n, p: n - p, r"is truncated: .* the file holds 0 after"),
    (lambda n, p: len(MAGIC) + 10, r"has a damaged header \(the file ends inside it\)"),
    (lambda n, p: 5, "is not an sk_cry model file"),
    (lambda n, p: 0, "is not an sk_cry model file"),
], ids=["last byte", "half the payload", "all the payload", "in the header",
        "in the magic", "empty"])
def test_truncated_file_is_refused(saved_svm, keep, match):
    data = saved_svm.read_bytes()
    _, payload = _parts(saved_svm)
    saved_svm.write_bytes(data[:keep(len(data), len(payload))])
    with pytest.raises(ModelFileError, match=match):
        sk_cry.load(saved_svm)


def test_bytes_after_the_payload_are_refused(saved_svm):
    saved_svm.write_bytes(saved_svm.read_bytes() + b"\0")
    with pytest.raises(ModelFileError, match="is extended: .* holds at least"):
        sk_cry.load(saved_svm)


@pytest.mark.parametrize("edit, match", [
    (lambda h: h.pop("payload_sha256"), r"damaged header \(no payload_sha256\); "
                                        "nothing was unpickled"),
    (lambda h: h.update(payload_bytes="12"), r"\(payload_bytes is '12', not an "
                                             r"integer\)"),
    (lambda h: h.update(payload_bytes=-1), r"\(payload_bytes is -1\)"),
    (lambda h: h.update(format=2), "sk_cry model format 2; this sk_cry reads format 1 "
                                   "and older: upgrade sk_cry"),
], ids=["no sha256", "length as text", "negative length", "newer format"])
def test_damaged_or_newer_header_is_refused(saved_svm, edit, match):
    header, payload = _parts(saved_svm)
    edit(header)
    _write(saved_svm, header, payload)
    with pytest.raises(ModelFileError, match=match):
        sk_cry.load(saved_svm)


def test_header_that_is_not_json_is_refused(saved_svm):
    _, payload = _parts(saved_svm)
    saved_svm.write_bytes(MAGIC + b"{format: 1\n" + payload)
    with pytest.raises(ModelFileError, match=r"damaged header \(not JSON: Expecting "):
        sk_cry.load(saved_svm)


def test_other_versions_give_one_warning_naming_them(svm, saved_svm, cry_folder):
    header, payload = _parts(saved_svm)
    # the SHA-256 covers the payload only: editing the record is not damage
    header["versions"].update({"scikit-learn": "1.5.0", "numpy": "1.26.4"})
    _write(saved_svm, header, payload)
    with pytest.warns(ModelVersionWarning) as caught:
        loaded = sk_cry.load(saved_svm)
    ours = [w for w in caught if w.category is ModelVersionWarning]
    assert len(ours) == 1
    # the whole list: sk_cry, which matches, is not named
    assert str(ours[0].message).startswith(f"{saved_svm} was saved with scikit-learn 1.5.0 (running "
                              f"{sklearn.__version__}), numpy 1.26.4 (running "
                              f"{np.__version__}); the model may fail to load")
    np.testing.assert_array_equal(loaded.predict_proba(cry_folder.paths[:4]),
                                  svm.predict_proba(cry_folder.paths[:4]))


def test_same_versions_give_no_warning(saved_svm, recwarn):
    sk_cry.load(saved_svm)
    assert not [w for w in recwarn if w.category is ModelVersionWarning]


def test_a_package_that_is_not_installed_is_named(saved_svm):
    header, payload = _parts(saved_svm)
    header["versions"]["no-such-package-xyz"] = "1.0"
    _write(saved_svm, header, payload)
    with pytest.warns(ModelVersionWarning,
                      match=r"no-such-package-xyz 1\.0 \(running not installed\)"):
        sk_cry.load(saved_svm)


def test_plain_joblib_file_is_refused_with_a_warning_about_code(svm, tmp_path):
    path = tmp_path / "svm.joblib"
    joblib.dump(svm, path)
    with pytest.raises(ModelFileError, match=r"svm\.joblib is not an sk_cry model file "
                       r".*joblib\.load reads it, but loading runs code from the file "
                       r"\(it is a pickle\): load only files from a source you trust"):
        sk_cry.load(path)


def test_unfitted_model_is_not_saved(tmp_path):
    path = tmp_path / "unfitted.skcry"
    with pytest.raises(NotFittedError, match=r"not saving CryPipeline to .*unfitted\."
                       r"skcry: it is not fitted; call fit\(X, y\) first"):
        sk_cry.save(make_svm_pipeline(), path)
    assert not path.exists()


def test_a_failed_save_leaves_the_old_file_alone(saved_svm):
    before = saved_svm.read_bytes()
    model = DummyClassifier().fit([[0], [1]], [0, 1])
    model.hook_ = lambda: None  # a lambda cannot be pickled
    with pytest.raises(pickle.PicklingError, match="lambda"):
        sk_cry.save(model, saved_svm)
    assert saved_svm.read_bytes() == before
    assert sorted(p.name for p in saved_svm.parent.iterdir()) == ["svm.skcry"]


def test_svm_loads_in_a_new_process_without_tensorflow(svm, saved_svm, cry_folder,
                                                       tmp_path):
    np.save(tmp_path / "expected.npy", svm.predict_proba(cry_folder.paths[:5]))
    # a record that names TensorFlow is compared without importing it
    header, payload = _parts(saved_svm)
    header["versions"]["tensorflow"] = "2.0.0"
    edited = _write(tmp_path / "edited.skcry", header, payload)
    lines = _run(f"""
        import sys, warnings
        import numpy as np
        import sk_cry

        pipe = sk_cry.load({str(saved_svm)!r})
        got = pipe.predict_proba({cry_folder.paths[:5]!r})
        np.testing.assert_array_equal(got, np.load({str(tmp_path / 'expected.npy')!r}))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            sk_cry.load({str(edited)!r})
        print([str(w.message) for w in caught])
        print(sorted({{m.split(".")[0] for m in sys.modules}} & {HEAVY!r}))
    """)
    assert "tensorflow 2.0.0 (running 2." in lines[-2]
    assert lines[-1] == "[]"


def test_cnn_round_trip_in_a_new_process(svm, cry_folder, tmp_path):
    from sk_cry import make_cnn_pipeline

    pipe = make_cnn_pipeline(**FAST_CNN).fit(cry_folder.paths, cry_folder.target)
    np.save(tmp_path / "expected.npy", pipe.predict_proba(cry_folder.paths[:5]))
    path = sk_cry.save(pipe, tmp_path / "cnn.skcry")
    import keras
    import tensorflow as tf

    versions = _parts(path)[0]["versions"]
    assert versions["keras"] == keras.__version__
    assert versions["tensorflow"] == tf.__version__
    assert set(versions) == {"sk_cry", "scikit-learn", "numpy"} | HEAVY
    # an SVM saved while TensorFlow is loaded records none: it does not need it
    assert set(_parts(sk_cry.save(svm, tmp_path / "svm.skcry"))[0]["versions"]) == {
        "sk_cry", "scikit-learn", "numpy"}
    lines = _run(f"""
        import warnings
        import numpy as np
        import sk_cry

        warnings.simplefilter("error", sk_cry.models.ModelVersionWarning)
        pipe = sk_cry.load({str(path)!r})
        got = pipe.predict_proba({cry_folder.paths[:5]!r})
        np.testing.assert_array_equal(got, np.load({str(tmp_path / 'expected.npy')!r}))
        print("same")
    """)
    assert lines[-1] == "same"
