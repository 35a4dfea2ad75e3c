"""Cry events from window probabilities (sk_cry.core._events): each rule of the
module docstring on a fixed synthetic sequence, and live == batch.

Every sequence uses 2-s windows at a 1-s hop: window i covers [i, i + 2) s.
"""

import json
import math

import numpy as np
import pytest

from sk_cry.core import Event, EventRules, EventTracker, find_events
from sk_cry.exceptions import ParameterError

WINDOW = 2.0


def spans(probabilities, duration=None, reasons=None, **rules):
    """(start, end) of each event of ``probabilities`` at starts 0, 1, 2, ..."""
    events = find_events(range(len(probabilities)), probabilities, window=WINDOW,
                         rules=EventRules(**rules), duration=duration, reasons=reasons)
    return [(e.start, e.end) for e in events]


def live(probabilities, duration=None, **rules):
    """Feed a tracker window by window: [(index or "finish", kind, start, end)]."""
    tracker = EventTracker(EventRules(**rules), window=WINDOW)
    log = []
    for i, p in enumerate(probabilities):
        log += [(i, kind, e.start, e.end) for kind, e in tracker.push(float(i), p)]
    log += [("finish", kind, e.start, e.end) for kind, e in tracker.finish(duration)]
    return log


def test_hysteresis_keeps_an_event_open_through_a_dip_above_release():
    # votes at threshold 0.5: . X X . . X X . . . .  (a two-window dip at 0.4)
    probs = [0.0, 0.9, 0.9, 0.4, 0.4, 0.9, 0.9, 0.0, 0.0, 0.0, 0.0]
    assert spans(probs, threshold=0.5, release=0.3) == [(1.0, 8.0)]
    assert spans(probs, threshold=0.5, release=0.5) == [(1.0, 4.0), (5.0, 8.0)]
    assert spans(probs, threshold=0.5) == [(1.0, 4.0), (5.0, 8.0)]  # release=None
    # a dip below release splits even with hysteresis
    assert spans([0.0, 0.9, 0.9, 0.2, 0.2, 0.9, 0.9, 0.0, 0.0, 0.0], release=0.3) \
        == [(1.0, 4.0), (5.0, 8.0)]


def test_hysteresis_does_not_open_an_event():
    # 0.4 >= release but < threshold: with no event open it does not vote
    assert spans([0.0, 0.4, 0.4, 0.4, 0.0], release=0.3) == []


def test_n_of_m_voting():
    assert spans([0.0, 0.0, 0.9, 0.0, 0.0, 0.0, 0.0]) == []
    assert spans([0.0, 0.0, 0.9, 0.9, 0.0, 0.0, 0.0]) == [(2.0, 5.0)]
    # window 1 is among the last m=3 when the event opens, but before its start
    event, = find_events(range(7), [0.0, 0.0, 0.9, 0.8, 0.0, 0.0, 0.0], window=WINDOW)
    assert (event.peak, event.mean) == (0.9, pytest.approx(0.85))
    # n=2 of m=3 also opens on two votes one window apart, from the first of them
    assert spans([0.0, 0.9, 0.0, 0.9, 0.0, 0.0, 0.0]) == [(1.0, 5.0)]
    assert spans([0.0, 0.0, 0.9, 0.0, 0.0, 0.0, 0.0], n=1, m=1) == [(2.0, 4.0)]
    assert spans([0.0, 0.9, 0.9, 0.0, 0.0, 0.0, 0.0], n=3, m=3) == []


def test_merge_gap():
    # two bursts: the first ends at 3 s (last vote at 1 s), the second starts at 5 s
    probs = [0.9, 0.9, 0.0, 0.0, 0.0, 0.9, 0.9, 0.0, 0.0, 0.0, 0.0]
    assert spans(probs) == [(0.0, 3.0), (5.0, 8.0)]
    assert spans(probs, merge_gap=1.5) == [(0.0, 3.0), (5.0, 8.0)]
    assert spans(probs, merge_gap=2.0) == [(0.0, 8.0)]
    merged, = find_events(range(len(probs)), probs, window=WINDOW,
                          rules=EventRules(merge_gap=2.0))
    # the merged event's windows are 0..6 s, the gap's three quiet ones included
    assert merged.peak == 0.9
    assert merged.mean == pytest.approx(4 * 0.9 / 7)


def test_min_duration_drops_short_events():
    probs = [0.0, 0.9, 0.9, 0.0, 0.0, 0.0, 0.9, 0.9, 0.9, 0.9, 0.0, 0.0, 0.0]
    assert spans(probs) == [(1.0, 4.0), (6.0, 11.0)]
    assert spans(probs, min_duration=3.0) == [(1.0, 4.0), (6.0, 11.0)]
    assert spans(probs, min_duration=3.5) == [(6.0, 11.0)]
    assert spans(probs, min_duration=5.5) == []
    # two short bursts that merge are judged together
    assert spans(probs, min_duration=8.0, merge_gap=2.0) == [(1.0, 11.0)]


def test_min_duration_delays_the_start_announcement():
    probs = [0.0, 0.9, 0.9, 0.9, 0.9, 0.0, 0.0, 0.0]
    assert live(probs) == [(2, "start", 1.0, 4.0), (7, "end", 1.0, 6.0)]
    # extent 3 s at window 2, 4 s at 3, 5 s at 4
    assert live(probs, min_duration=4.5) == [(4, "start", 1.0, 6.0),
                                             (7, "end", 1.0, 6.0)]
    # a dropped event announces nothing at all
    assert live(probs, min_duration=5.5) == []


def test_recording_ending_mid_event_is_closed_by_finish():
    probs = [0.0, 0.9, 0.9, 0.9]
    assert live(probs) == [(2, "start", 1.0, 4.0), ("finish", "end", 1.0, 5.0)]
    assert spans(probs, duration=4.5) == [(1.0, 4.5)]
    with pytest.raises(ParameterError, match="duration=2.0 is invalid"):
        spans(probs, duration=2.0)


def test_short_recordings_are_judged_on_their_windows():
    assert spans([0.9]) == [(0.0, 2.0)]
    assert spans([0.2]) == []
    assert spans([0.9], duration=1.5) == [(0.0, 1.5)]
    # a 2-s recording cannot hold a 3-s event: half of it is asked for instead
    assert spans([0.9], min_duration=3.0) == [(0.0, 2.0)]
    assert spans([0.9], min_duration=3.0, duration=5.0) == []  # 2 s of 5 < 2.5
    # 2 windows < m=4: ceil(3 * 2 / 4) = 2 votes needed for n=3 ...
    assert spans([0.9, 0.2], n=3, m=4) == []
    assert spans([0.2, 0.9], n=3, m=4) == []
    assert spans([0.9, 0.9], n=3, m=4) == [(0.0, 3.0)]
    # ... and ceil(2 * 2 / 4) = 1 for n=2
    assert spans([0.2, 0.9], n=2, m=4) == [(1.0, 3.0)]
    assert spans([None]) == []
    assert spans([]) == []
    assert live([0.9, 0.9], n=3, m=4) == [("finish", "start", 0.0, 3.0),
                                ("finish", "end", 0.0, 3.0)]


def test_a_clip_shorter_than_the_minimum_duration_needs_half_of_it():
    # a 6-s clip in 2-s windows every 1 s: 5 windows, min_duration 6 s
    rules = dict(n=2, m=3, min_duration=6.0)
    assert spans([0.1, 0.9, 0.9, 0.2, 0.1], duration=6.0, **rules) == [(1.0, 4.0)]
    assert spans([0.1, 0.9, 0.2, 0.1, 0.1], duration=6.0, **rules) == []
    # a long recording keeps the rule as it is: the same 3-s burst is too short
    long = [0.1] * 10 + [0.1, 0.9, 0.9, 0.2, 0.1] + [0.1] * 10
    assert spans(long, duration=26.0, **rules) == []


def test_short_recording_rule_does_not_add_a_second_event():
    # n=1 of m=5 opens normally at window 1; finish must not judge again
    assert spans([0.0, 0.9, 0.0, 0.0], n=1, m=5) == [(1.0, 3.0)]
    assert spans([0.0, 0.9, 0.0, 0.0], n=1, m=5, min_duration=3.0) == []


def test_events_never_share_windows():
    # m=5: the vote at 4 s is still among the last 5 windows when the vote at 8 s
    # opens the next event, but the first event (already ended) holds it
    probs = [0.9, 0.9, 0.0, 0.0, 0.9, 0.0, 0.0, 0.0, 0.9, 0.9, 0.0, 0.0, 0.0, 0.0]
    assert spans(probs, n=2, m=5) == [(0.0, 6.0), (8.0, 11.0)]
    # the same with the first event still held back for merging (m=4): the next
    # one starts at its own first vote, 6 s, one second after the first ended
    probs = [0.9, 0.9, 0.0, 0.9, 0.0, 0.0, 0.9, 0.9, 0.0, 0.0, 0.0, 0.0]
    assert spans(probs, n=2, m=4) == [(0.0, 5.0), (6.0, 9.0)]
    assert spans(probs, n=2, m=4, merge_gap=1.0) == [(0.0, 9.0)]


def test_silent_windows_vote_no_and_are_left_out_of_peak_and_mean():
    probs = [0.0, 0.9, None, 0.9, 0.6, 0.0, 0.0, 0.0]
    event, = find_events(range(len(probs)), probs, window=WINDOW)
    assert (event.start, event.end) == (1.0, 6.0)
    assert event.peak == 0.9
    assert event.mean == pytest.approx(0.8)  # 0.6 if the silent window counted as 0
    # NaN is silent too
    nan = [0.0, 0.9, np.nan, 0.9, 0.6, 0.0, 0.0, 0.0]
    assert [e.to_dict() for e in find_events(range(8), nan, window=WINDOW)] \
        == [event.to_dict()]
    # a silent window does not vote, even between two loud ones (n=2 of m=2)
    assert spans([0.9, None, 0.9], n=2, m=2) == []
    assert spans([0.9, 0.9, 0.9], n=2, m=2) == [(0.0, 4.0)]


def test_live_announcements_happen_at_the_right_windows():
    probs = [0.1, 0.9, 0.8, 0.2, 0.1, 0.1, 0.1, 0.1, 0.1]
    # opens at window 2 (2 of windows 0-2 vote); ends at 4 s, announced by the
    # first window starting after 4 s + merge_gap
    assert live(probs) == [(2, "start", 1.0, 4.0), (5, "end", 1.0, 4.0)]
    assert live(probs, merge_gap=1.0) == [(2, "start", 1.0, 4.0), (6, "end", 1.0, 4.0)]
    assert live(probs, merge_gap=2.5) == [(2, "start", 1.0, 4.0), (7, "end", 1.0, 4.0)]
    assert live(probs, merge_gap=10.0) == [(2, "start", 1.0, 4.0),
                                           ("finish", "end", 1.0, 4.0)]


def test_the_started_event_grows_into_the_ended_one():
    tracker = EventTracker(EventRules(merge_gap=2.0), window=WINDOW)
    emitted = []
    for i, p in enumerate([0.9, 0.9, 0.0, 0.0, 0.0, 0.9, 0.9, 0.0, 0.0, 0.0]):
        emitted += tracker.push(i, p)
    emitted += tracker.finish()
    assert [kind for kind, _ in emitted] == ["start", "end"]  # one event, merged
    assert emitted[0][1] is emitted[1][1]
    assert (emitted[1][1].start, emitted[1][1].end) == (0.0, 8.0)


def test_live_equals_batch_on_a_long_noisy_sequence():
    rng = np.random.default_rng(0)
    n_windows = 400
    # bursts of cries in noise, and some silent windows
    probs = np.clip(rng.normal(0.25, 0.2, n_windows), 0, 1)
    for start in rng.choice(n_windows - 20, 25, replace=False):
        probs[start:start + rng.integers(1, 15)] = rng.uniform(0.5, 1.0)
    probs[rng.random(n_windows) < 0.05] = np.nan
    starts = np.arange(n_windows) * 0.5
    rules = EventRules(threshold=0.6, release=0.4, n=3, m=5, min_duration=2.0,
                       merge_gap=1.5)
    tracker = EventTracker(rules, window=WINDOW)
    emitted = []
    for start, p in zip(starts, probs):
        emitted += tracker.push(start, None if np.isnan(p) else p)
    emitted += tracker.finish(duration=starts[-1] + WINDOW)
    live_ends = [e.to_dict() for kind, e in emitted if kind == "end"]
    batch = find_events(starts, probs, window=WINDOW, rules=rules,
                        duration=starts[-1] + WINDOW)
    assert len(batch) >= 5
    assert live_ends == [e.to_dict() for e in batch]
    # each event starts once and ends once, in time order, and the rules hold
    started = [id(e) for kind, e in emitted if kind == "start"]
    assert started == [id(e) for kind, e in emitted if kind == "end"]
    for event in batch:
        assert event.end - event.start >= rules.min_duration
        assert 0.4 <= event.mean <= event.peak <= 1
    for before, after in zip(batch, batch[1:]):
        assert after.start - before.end > rules.merge_gap


def test_reasons_are_averaged_over_the_event_windows():
    probs = [0.0, 0.9, None, 0.9, 0.0, 0.0, 0.0]
    reasons = [{"hunger": 1.0, "pain": 0.0},  # outside the event
               {"hunger": 0.8, "pain": 0.2},
               {"hunger": 0.0, "pain": 1.0},  # silent: left out
               {"hunger": 0.4, "pain": 0.6},
               None, None, None]
    event, = find_events(range(7), probs, window=WINDOW, reasons=reasons)
    assert event.reason_probabilities == pytest.approx({"hunger": 0.6, "pain": 0.4})
    assert event.reason == "hunger"
    reasons[3] = {"hunger": 0.0, "pain": 1.0}
    event, = find_events(range(7), probs, window=WINDOW, reasons=reasons)
    assert event.reason == "pain"
    event, = find_events(range(7), probs, window=WINDOW)
    assert event.reason is None and event.reason_probabilities is None


def test_event_to_dict_is_json_able():
    event = Event(np.float64(1.0), 3.0, np.float32(0.5), 0.5, reason=np.str_("pain"),
                  reason_probabilities={np.str_("pain"): np.float32(0.75)})
    assert json.loads(json.dumps(event.to_dict())) == {
        "start": 1.0, "end": 3.0, "peak": 0.5, "mean": 0.5, "reason": "pain",
        "reason_probabilities": {"pain": 0.75}}


@pytest.mark.parametrize("settings, match", [
    ({"threshold": 1.5}, r"threshold=1\.5 is invalid: it must be between 0 and 1"),
    ({"threshold": math.nan}, "threshold=nan .* finite number"),
    ({"threshold": 0.5, "release": 0.7}, r"release=0\.7 .* between 0 and threshold=0\.5"),
    ({"release": -0.1}, "release=-0.1"),
    ({"n": 4, "m": 3}, "n=4 .* between 1 and m=3"),
    ({"n": 0}, "n=0"),
    ({"n": 2.0}, "n=2.0 .* an integer"),
    ({"m": 65, "n": 2}, "m=65 .* between 1 and 64"),
    ({"min_duration": -1.0}, "min_duration=-1.0 .* >= 0"),
    ({"merge_gap": math.inf}, "merge_gap=inf .* finite"),
    ({"merge_gap": "1"}, "merge_gap='1' .* finite number"),
])
def test_invalid_rules_are_refused(settings, match):
    with pytest.raises(ParameterError, match=match):
        EventRules(**settings).validate()
    with pytest.raises(ParameterError, match=match):
        EventTracker(EventRules(**settings), window=WINDOW)


def test_rules_round_trip_through_a_dict_and_refuse_unknown_keys():
    rules = EventRules(threshold=0.7, release=0.4, n=3, m=5, min_duration=1.5,
                       merge_gap=2.0)
    assert EventRules.from_dict(json.loads(json.dumps(rules.to_dict()))) == rules
    assert EventRules.from_dict({}) == EventRules()
    with pytest.raises(ParameterError, match=r"unknown event rule\(s\) \['treshold'\]"):
        EventRules.from_dict({"treshold": 0.7})
    with pytest.raises(ParameterError, match="n=5 .* between 1 and m=3"):
        EventRules.from_dict({"n": 5})


def test_bad_windows_are_refused():
    tracker = EventTracker(None, window=WINDOW)
    tracker.push(1.0, 0.5)
    with pytest.raises(ParameterError, match="window start 1.0 s is not after"):
        tracker.push(1.0, 0.5)
    with pytest.raises(ParameterError, match="window start 0.5 s is not after"):
        tracker.push(0.5, 0.5)
    with pytest.raises(ParameterError, match=r"probability 1\.5 .* not in \[0, 1\]"):
        tracker.push(2.0, 1.5)
    with pytest.raises(ParameterError, match="window start 2.0 s is not after"):
        find_events([0.0, 2.0, 2.0], [0.1, 0.1, 0.1], window=WINDOW)
    with pytest.raises(ParameterError, match="3 window starts but 2 probabilities"):
        find_events([0.0, 1.0, 2.0], [0.1, 0.1], window=WINDOW)
    with pytest.raises(ParameterError, match="window=0 is invalid"):
        EventTracker(None, window=0)


def test_finish_resets_the_tracker_for_a_new_stream():
    tracker = EventTracker(None, window=WINDOW)
    for i, p in enumerate([0.9, 0.9, 0.9]):
        tracker.push(i, p)
    first = tracker.finish()
    for i, p in enumerate([0.9, 0.9, 0.9]):
        tracker.push(i, p)
    assert [(k, e.to_dict()) for k, e in tracker.finish()] \
        == [(k, e.to_dict()) for k, e in first]
