"""TensorFlow loads only for the CNN."""

import subprocess
import sys
import textwrap

import joblib

from sk_cry import make_svm_pipeline

HEAVY = {"tensorflow", "keras", "scikeras", "ai_edge_litert"}


def _run(code, timeout=600):
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)],
                         capture_output=True, text=True, timeout=timeout)
    assert out.returncode == 0, out.stderr[-3000:]
    return out


def test_import_is_light_and_tensorflow_waits_for_the_cnn():
    out = _run("""
        import sys
        import sk_cry
        loaded = {m.split(".")[0] for m in sys.modules}
        print(sorted(loaded & {"sklearn", "librosa", "numpy", "tensorflow", "keras"}))
        sk_cry.CryCNNClassifier
        print("tensorflow" in sys.modules)
    """)
    assert out.stdout.split("\n")[:2] == ["[]", "True"]


def test_everything_but_the_cnn_runs_without_tensorflow(cry_folder, tmp_path):
    svm = make_svm_pipeline(duration=1.0).fit(cry_folder.paths, cry_folder.target)
    joblib.dump(svm, tmp_path / "svm.joblib")
    folder = str(cry_folder.paths[0].rsplit("/", 2)[0])
    out = _run(f"""
        import sys
        import joblib
        import numpy as np
        from sk_cry import (AudioLoader, FeatureScaler, MelExtractor, MFCCExtractor,
                            MFCCMelExtractor, REFERENCE_TOPOLOGY, TimePooling, audit,
                            datasets, evaluate, make_svm_pipeline)
        from sk_cry.cli import main

        data = datasets.load_folder({folder!r})
        waves = AudioLoader(duration=1.0).transform(data.paths[:4])
        maps = MFCCMelExtractor().fit_transform(waves)
        FeatureScaler(n_bands=141).fit_transform(maps)
        MelExtractor().fit_transform(waves), MFCCExtractor().fit_transform(waves)
        TimePooling(n_bands=13).fit_transform(MFCCExtractor().fit_transform(waves))
        make_svm_pipeline(duration=1.0).fit(data.paths, data.target).predict(data.paths)
        audit(data.paths, data.target, n_jobs=2)
        evaluate(make_svm_pipeline(duration=1.0), data.paths, data.target, cv=2,
                 n_permutations=9, n_jobs=2)
        joblib.load({str(tmp_path / "svm.joblib")!r}).predict(data.paths[:2])
        datasets.make_cries(4, duration=0.5)
        main(["audit", {folder!r}, "--n-jobs", "2"])
        try:
            main(["--help"])
        except SystemExit:
            pass
        print("HEAVY", sorted({{m.split(".")[0] for m in sys.modules}} & {HEAVY!r}))
    """)
    assert "HEAVY []" in out.stdout, out.stdout[-2000:]
