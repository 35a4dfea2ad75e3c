"""Cry detection, measured: the detector and its event rules chosen by grouped
nested CV, scored on windows and on generated nights of held-out recordings.

    python benchmarks/detect.py [--folds 5] [--night-minutes 30] [--out DIR]
    python benchmarks/detect.py --smoke        # tiny synthetic run (the tests)

Data: every seed-cry clip (453, "cry") against ``../shared/data/background``
(22 minutes of household, outdoor, animal, music and speech recordings, plus
synthetic noise), all read at 16 kHz band-limited to 4 kHz (the hungry cries are
8-kHz audio; without the cut, the band gives the label away: see the audit).

Outer loop: the background recordings (groups) and the cry clips are dealt into
``--folds`` folds; each fold's training windows, test windows and test night are
made from its own recordings only (:func:`sk_cry.datasets.make_detection_set`,
:func:`~sk_cry.datasets.make_night`), so no recording is heard on both sides.
Inner loop, on the outer training recordings only: 3 grouped folds; every
candidate (SVM or CNN, 2-s or 4-s windows) is fitted on two and scored on the
third (window AUC) and on a 10-minute night made of the third's recordings; the
candidate with the best mean inner AUC wins, and the event rules that give the
best event F1 on the inner nights with at most 1 false alarm an hour (else the
fewest) are kept. The winner is refitted on the outer training windows and
scored on the outer test windows and night.

Event scores use sed_eval (event-based, onset collar ``--collar`` s, offsets not
scored); a false alarm is an event that overlaps no planted cry, counted per
hour of night outside the cries; latency is from a cry's onset to the end of the
window at which the live tracker announces its event.
"""

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import SEED_CRY, machine  # noqa: E402

BACKGROUND = SEED_CRY.parent / "background"
WINDOWS = (2.0, 4.0)
#: grouped folds of the inner loop (--smoke: 2, the fewest that still choose)
INNER_FOLDS = 3
#: --smoke: the CNN trains and predicts eagerly (keras' run_eagerly): a tiny fit
#: then takes about a third of the time, most of which is tracing the graph
EAGER = False
#: the event rules searched on the inner nights (hop: a quarter window)
RULES = [dict(threshold=t, release=round(t - d, 2), n=n, m=m, min_duration=md,
              merge_gap=g)
         for t in (0.5, 0.6, 0.7, 0.8, 0.9) for d in (0.0, 0.2) for n, m in
         ((1, 1), (2, 3), (3, 4), (3, 5)) for md in (0.0, 2.0, 4.0, 6.0)
         for g in (0.0, 5.0)]
MAX_FA_PER_HOUR = 1.0


def candidates(window, epochs):
    """``{name: unfitted pipeline}`` for one window length."""
    import sk_cry

    return {f"svm-{window:g}s": sk_cry.make_svm_pipeline(duration=window),
            f"cnn-{window:g}s": sk_cry.make_cnn_pipeline(duration=window, epochs=epochs,
                                                         random_state=0,
                                                         run_eagerly=EAGER)}


def sides(cry_idx, cry_folds, groups, group_folds, k):
    """``(train, test)``: each a ``(cry indices, background groups)`` pair, fold
    ``k`` the test side."""
    def side(keep):
        return ([c for c, f in zip(cry_idx, cry_folds) if keep(f)],
                [g for g, f in zip(groups, group_folds) if keep(f)])

    return side(lambda f: f != k), side(lambda f: f == k)


def deal(items, n_folds, rng):
    """Fold index of each of ``items`` (shuffled, dealt round robin)."""
    folds = np.empty(len(items), int)
    folds[rng.permutation(len(items))] = np.arange(len(items)) % n_folds
    return folds


class Sources:
    """The cry clips and background recordings, and sets and nights made from
    subsets of them (cached on disk under ``work``)."""

    def __init__(self, cries, bg, work, seed):
        self.cries, self.bg, self.work, self.seed = list(cries), bg, Path(work), seed
        self.groups = sorted(set(bg.groups))

    def subset(self, cry_idx, group_names):
        chosen = [i for i, g in enumerate(self.bg.groups) if g in set(group_names)]
        return ([self.cries[i] for i in cry_idx], [self.bg.paths[i] for i in chosen],
                [self.bg.groups[i] for i in chosen],
                [self.bg.categories[i] for i in chosen])

    def windows(self, name, cry_idx, group_names, window):
        from sk_cry.datasets import make_detection_set

        cries, paths, groups, cats = self.subset(cry_idx, group_names)
        return make_detection_set(cries, paths, self.work / f"{name}-w{window:g}",
                                  background_groups=groups, background_categories=cats,
                                  window=window, hop=window / 2, random_state=self.seed)

    def night(self, name, cry_idx, group_names, minutes):
        from sk_cry.datasets import make_night

        cries, paths, groups, _ = self.subset(cry_idx, group_names)
        return make_night(cries, paths, self.work / f"{name}-night",
                          background_groups=groups, duration=60.0 * minutes,
                          cries_per_hour=20, random_state=self.seed)


def night_windows(pipe, night, window):
    """``(starts, probabilities of "cry")`` of every window of a night."""
    import sk_cry

    (rec,) = sk_cry.predict_windows(pipe, night.paths[:1], window=window, hop=window / 4)
    return (np.array([w.start for w in rec.windows]),
            np.array([np.nan if w.silent else w.probabilities["1"] for w in rec.windows]),
            rec.duration)


def events_of(starts, probs, window, rules, duration):
    """Events and, for each, the time the live tracker announced it."""
    from sk_cry.core import EventRules, EventTracker

    tracker = EventTracker(EventRules(**rules), window=window)
    announced, ended = {}, []
    for start, p in zip(starts, probs):
        for kind, event in tracker.push(float(start), None if np.isnan(p) else float(p)):
            if kind == "start":
                announced[id(event)] = start + window
            else:
                ended.append(event)
    ended += [e for kind, e in tracker.finish(duration) if kind == "end"]
    return [(e, announced.get(id(e), e.start + window)) for e in ended]


def score_night(found, annotations, duration, collar):
    """Event precision, recall, F1 (sed_eval), false alarms, latencies."""
    import dcase_util
    import sed_eval

    ref = [dict(filename="night", event_onset=a["onset"], event_offset=a["offset"],
                event_label="cry") for a in annotations]
    est = [dict(filename="night", event_onset=e.start, event_offset=e.end,
                event_label="cry") for e, _ in found]
    metric = sed_eval.sound_event.EventBasedMetrics(
        event_label_list=["cry"], t_collar=collar, evaluate_offset=False)
    metric.evaluate(dcase_util.containers.MetaDataContainer(ref),
                    dcase_util.containers.MetaDataContainer(est))
    counts = metric.overall
    false_alarms = sum(not any(e.start < a["offset"] and e.end > a["onset"]
                               for a in annotations) for e, _ in found)
    latencies = []
    for a in annotations:
        hits = [t for e, t in found if e.start < a["offset"] and e.end > a["onset"]]
        if hits:
            latencies.append(min(hits) - a["onset"])
    cry_time = sum(a["offset"] - a["onset"] for a in annotations)
    return dict(tp=counts["Ntp"], fp=counts["Nfp"], fn=counts["Nfn"],
                false_alarms=false_alarms, background_h=(duration - cry_time) / 3600,
                latencies=latencies, n_cries=len(annotations))


def summary(scores):
    tp, fp, fn = (sum(s[k] for s in scores) for k in ("tp", "fp", "fn"))
    precision = tp / max(tp + fp, 1)
    recall = tp / max(tp + fn, 1)
    lat = [x for s in scores for x in s["latencies"]]
    return dict(precision=precision, recall=recall,
                f1=2 * precision * recall / max(precision + recall, 1e-9),
                fa_per_hour=sum(s["false_alarms"] for s in scores) /
                max(sum(s["background_h"] for s in scores), 1e-9),
                latency=float(np.median(lat)) if lat else float("nan"),
                found=sum(len(s["latencies"]) for s in scores),
                cries=sum(s["n_cries"] for s in scores))


def best_rules(nights, window, collar):
    """The rules with the best F1 at <= MAX_FA_PER_HOUR on ``nights`` (each
    ``(starts, probs, duration, annotations)``), else the fewest false alarms."""
    table = []
    for rules in RULES:
        s = summary([score_night(events_of(st, p, window, rules, d), ann, d, collar)
                     for st, p, d, ann in nights])
        table.append((s["fa_per_hour"] <= MAX_FA_PER_HOUR, s["f1"], -s["fa_per_hour"],
                      rules, s))
    ok, f1, _, rules, s = max(table, key=lambda row: row[:3])
    return rules, s


def auc_ba(y, p, threshold=0.5):
    from sklearn.metrics import balanced_accuracy_score, roc_auc_score

    return roc_auc_score(y, p), balanced_accuracy_score(y, p >= threshold)


def select(src, cry_idx, groups, tag, args, rng):
    """Inner grouped CV on these recordings: ``(name, window, rules, table)``."""
    inner_cry = deal(cry_idx, INNER_FOLDS, rng)
    inner_grp = deal(groups, INNER_FOLDS, rng)
    aucs, nights = {}, {}
    for k in range(INNER_FOLDS):
        tr, va = sides(cry_idx, inner_cry, groups, inner_grp, k)
        night = src.night(f"{tag}-in{k}", *va, args.inner_night_minutes)
        for window in WINDOWS:
            train = src.windows(f"{tag}-in{k}-tr", *tr, window)
            val = src.windows(f"{tag}-in{k}-va", *va, window)
            for name, pipe in candidates(window, args.epochs).items():
                pipe.fit(train.paths, train.target)
                p = pipe.predict_proba(val.paths)[:, 1]
                aucs.setdefault(name, []).append(auc_ba(val.target, p)[0])
                st, pr, dur = night_windows(pipe, night, window)
                nights.setdefault(name, []).append((st, pr, dur, night.annotations))
                print(f"    inner {k} {name}: AUC {aucs[name][-1]:.3f}", flush=True)
    name = max(aucs, key=lambda n: np.mean(aucs[n]))
    window = float(name.split("-")[1][:-1])
    rules, night_scores = best_rules(nights[name], window, args.collar)
    return name, window, rules, {n: float(np.mean(a)) for n, a in aucs.items()}, night_scores


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--night-minutes", type=float, default=30.0)
    parser.add_argument("--inner-night-minutes", type=float, default=10.0)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--collar", type=float, default=2.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None, help="folder for the sets (temporary)")
    parser.add_argument("--json", default=None, help="write the figures here")
    parser.add_argument("--smoke", action="store_true",
                        help="a tiny synthetic run: checks the script, not the detector")
    args = parser.parse_args(argv)
    work = Path(args.out or tempfile.mkdtemp(prefix="sk-cry-detect-"))
    cries, bg = load_sources(args, work)
    print(f"# benchmarks/detect.py, {machine()}")
    print(f"{len(cries)} cry clips, {len(bg.paths)} background files in "
          f"{len(set(bg.groups))} recordings; outer {args.folds} folds, "
          f"inner {INNER_FOLDS}")
    rng = np.random.default_rng(args.seed)
    src = Sources(cries, bg, work, args.seed)
    outer_cry, outer_grp = deal(cries, args.folds, rng), deal(src.groups, args.folds, rng)
    rows, picks, night_scores, window_rows = {}, [], [], []
    start = time.perf_counter()
    for k in range(args.folds):
        tr, te = sides(range(len(cries)), outer_cry, src.groups, outer_grp, k)
        name, window, rules, inner, inner_night = select(src, *tr, f"o{k}", args, rng)
        picks.append(dict(name=name, rules=rules, inner_auc=inner,
                          inner_night=inner_night))
        print(f"  outer {k}: picked {name}, rules {rules} (inner AUC "
              f"{inner[name]:.3f}; inner nights F1 {inner_night['f1']:.2f}, "
              f"{inner_night['fa_per_hour']:.1f} FA/h)", flush=True)
        night = src.night(f"o{k}-te", *te, args.night_minutes)
        for w in WINDOWS:
            train = src.windows(f"o{k}-tr", *tr, w)
            test = src.windows(f"o{k}-te", *te, w)
            for cand, pipe in candidates(w, args.epochs).items():
                pipe.fit(train.paths, train.target)
                p = pipe.predict_proba(test.paths)[:, 1]
                rows.setdefault(cand, []).append((test.target, p))
                if cand == name:
                    rows.setdefault("nested", []).append((test.target, p))
                    window_rows.append((test.categories, test.target, p,
                                        rules["threshold"]))
                    st, pr, dur = night_windows(pipe, night, w)
                    night_scores.append(score_night(events_of(st, pr, w, rules, dur),
                                                    night.annotations, dur, args.collar))
        print(f"  outer {k} done, {time.perf_counter() - start:.0f} s", flush=True)
    report(args, rows, picks, night_scores, window_rows)


def load_sources(args, work):
    """``(cry paths, background Bunch)``: the shared data, or for ``--smoke``
    synthetic cries and noises written to ``work``."""
    from sk_cry.datasets import load_background

    if not args.smoke:
        cries = sorted(str(p) for p in SEED_CRY.glob("*/*.wav"))
        return cries, load_background(BACKGROUND)
    import soundfile as sf

    from sk_cry.datasets import make_cries

    rng = np.random.default_rng(0)
    X, _ = make_cries(30, duration=6.0, random_state=0)
    (work / "cries").mkdir(parents=True)
    cries = []
    for i, x in enumerate(X):
        cries.append(str(work / "cries" / f"cry_{i}.wav"))
        sf.write(cries[-1], x, 16000)
    for cat in ("household", "music", "speech", "outdoor", "animal"):
        (work / "bg" / cat).mkdir(parents=True)
        for i in range(2):
            t = np.arange(16000 * 20) / 16000
            x = 0.1 * rng.standard_normal(t.size) + 0.1 * np.sin(
                2 * np.pi * rng.uniform(100, 900) * t)
            sf.write(work / "bg" / cat / f"{cat}_{i}.flac", x.astype(np.float32), 16000)
    args.epochs, args.night_minutes, args.inner_night_minutes = 2, 2.0, 1.0
    # the fewest fits that still run every step: most of the time is the CNN's
    # fits (8 of them with 3 inner folds and 2 outer, 6 with 2), each mostly
    # TensorFlow tracing the training step, whatever the epochs
    global WINDOWS, INNER_FOLDS, EAGER
    WINDOWS, INNER_FOLDS, EAGER = (2.0,), 2, True
    return cries, load_background(work / "bg")


def report(args, rows, picks, night_scores, window_rows):
    print("\n## clip level: windows of held-out recordings, pooled over outer folds\n")
    print("| detector | AUC | balanced accuracy at 0.5 |")
    print("|---|---|---|")
    figures = {}
    for name, folds in rows.items():
        y = np.concatenate([t for t, _ in folds])
        p = np.concatenate([q for _, q in folds])
        auc, ba = auc_ba(y, p)
        figures[name] = dict(auc=auc, balanced_accuracy=ba)
        print(f"| {name} | {auc:.3f} | {ba:.3f} |")
    counts = {}
    for pick in picks:
        counts[pick["name"]] = counts.get(pick["name"], 0) + 1
    print(f"\nnested picks: {counts}")
    print("\n## hard negatives: share of held-out background windows called a cry "
          "(nested pick, its threshold)\n")
    by_cat = {}
    for cats, y, p, threshold in window_rows:
        for c, t, q in zip(cats, y, p):
            if t == 0:
                by_cat.setdefault(str(c), []).append(q >= threshold)
    print("| category | windows | called a cry |")
    print("|---|---|---|")
    for c, calls in sorted(by_cat.items()):
        print(f"| {c} | {len(calls)} | {100 * np.mean(calls):.1f} % |")
    s = summary(night_scores)
    hours = sum(x["background_h"] for x in night_scores)
    print(f"\n## nights: {len(night_scores)} x {args.night_minutes:g} min of held-out "
          f"recordings, {s['cries']} planted cries (SNR -5 to +20 dB), "
          f"{hours:.2f} h of background\n")
    print("| precision | recall | F1 | false alarms / h | median latency |")
    print("|---|---|---|---|---|")
    print(f"| {s['precision']:.3f} | {s['recall']:.3f} | {s['f1']:.3f} | "
          f"{s['fa_per_hour']:.2f} | {s['latency']:.2f} s |")
    print(f"\n(event-based, onset collar {args.collar:g} s, sed_eval; {s['found']} of "
          f"{s['cries']} cries overlapped by an event)")
    if args.json:
        Path(args.json).write_text(json.dumps(dict(
            windows=figures, picks=picks, nights=s, hard_negatives={
                c: float(np.mean(v)) for c, v in by_cat.items()}), indent=1,
            default=str))


if __name__ == "__main__":
    main()
