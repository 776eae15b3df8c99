"""kino.button, kino.interval, kino.listen."""

from __future__ import annotations

import threading

import ipywidgets
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import kino
from kino.ui.base import Event, EventSource
from tests.conftest import budget


def browser_click(b):
    b.button._handle_button_msg(None, {"event": "click"}, [])


def test_button_on_click_counts():
    b = kino.button("Stop")
    calls = []
    b.on_click(lambda: calls.append("clicked"))
    browser_click(b)
    browser_click(b)
    assert calls == ["clicked", "clicked"]
    assert b.clicks == 2
    b.disable()
    b.click()
    assert b.clicks == 2
    b.enable()
    b.update("Stop now")
    assert b.button.description == "Stop now"


def test_button_label_is_text():
    b = kino.button("<img src=x onerror=alert(1)>")
    assert b.button.description == "<img src=x onerror=alert(1)>"
    assert not isinstance(b.button, ipywidgets.HTML)


def test_button_works_while_background_thread_busy():
    b = kino.button("Go")
    seen = []
    b.on_click(lambda: seen.append(threading.current_thread().name))
    stop = threading.Event()
    worker = threading.Thread(target=lambda: [0 for _ in iter(stop.is_set, True)], daemon=True)
    worker.start()
    try:
        browser_click(b)
    finally:
        stop.set()
        worker.join()
    assert seen == [threading.current_thread().name]


def test_interval_ticks_counts_and_stops():
    timer = kino.interval(10, times=5)
    ticks = []
    timer.on_tick(ticks.append)
    timer.join(budget(10))
    assert ticks == [0, 1, 2, 3, 4]
    assert timer.iteration == 5 and not timer.running


def test_interval_start_stop_resume():
    timer = kino.interval(10, start=False)
    assert not timer.running and timer.iteration == 0
    reached = threading.Event()
    timer.on_tick(lambda i: reached.set() if i >= 2 else None)
    timer.start()
    assert reached.wait(budget(10))
    timer.stop()
    timer.join(budget(10))
    stopped_at = timer.iteration
    assert not timer.running
    more = threading.Event()
    timer.on_tick(lambda i: more.set() if i > stopped_at else None)
    timer.start()
    assert more.wait(budget(10))
    timer.stop()
    timer.join(budget(10))


def test_interval_handler_error_stops_it():
    timer = kino.interval(10, start=False)

    def boom(i):
        raise RuntimeError("bad tick")

    timer.on_tick(boom)
    timer.start()
    timer.join(budget(10))
    assert isinstance(timer.error, RuntimeError)
    assert not timer.running and timer.iteration == 1


def test_listen_dispatches_on_every_kind():
    seen = []
    inp = kino.input.text("x")
    kino.listen(inp, lambda e: seen.append(("input", e)))
    inp.update("a")
    form = kino.form(x=kino.input.text("X", default="v"), submit="Go")
    kino.listen(form, lambda e: seen.append(("form", e)))
    form.button._handle_button_msg(None, {"event": "click"}, [])
    b = kino.button("B")
    kino.listen(b, lambda e: seen.append(("button", e)))
    browser_click(b)
    slider = ipywidgets.IntSlider()
    kino.listen(slider, lambda e: seen.append(("ipywidgets", e)))
    slider.value = 3
    raw = ipywidgets.Button()
    kino.listen(raw, lambda e: seen.append(("ipybutton", e)))
    raw.click()
    timer = kino.interval(10, times=1)
    kino.listen(timer, lambda e: seen.append(("tick", e)))
    timer.join(budget(10))
    assert all(isinstance(e, Event) for _, e in seen)
    assert [(kind, e.type, e.value) for kind, e in seen[:5]] == [
        ("input", "change", "a"),
        ("form", "submit", {"x": "v"}),
        ("button", "click", None),
        ("ipywidgets", "change", 3),
        ("ipybutton", "click", None),
    ]
    assert [(kind, e.type, e.value) for kind, e in seen[5:]] == [("tick", "tick", 0)]
    sources = [inp, form, b, slider, raw, timer]
    assert [e.source for _, e in seen] == sources


def test_every_kino_source_delivers_events_with_type_value_and_source():
    """subscribe (every type) sees what the per-kind methods see, as Event records."""
    text = kino.input.text("x")
    form = kino.form(n=kino.input.number("N", default=1), submit="Go")
    changes = kino.form(flag=kino.input.checkbox("Flag"), submit=None)
    button = kino.button("B")
    timer = kino.interval(10, times=2, start=False)
    seen: list[Event] = []
    for source in (text, form, changes, button, timer):
        source.subscribe(seen.append)
    text.update("hello")
    form.update({"n": 2})
    assert form.submit()
    changes.fields["flag"].update(True)
    browser_click(button)
    timer.start()
    timer.join(budget(10))
    assert all(isinstance(e, Event) for e in seen)
    assert [(e.source, e.type, e.value) for e in seen] == [
        (text, "change", "hello"),
        (form, "submit", {"n": 2}),
        (changes, "change", {"flag": True}),
        (button, "click", None),
        (timer, "tick", 0),
        (timer, "tick", 1),
    ]
    assert (text.primary_event, form.primary_event, changes.primary_event) == (
        "change",
        "submit",
        "change",
    )
    assert (button.primary_event, timer.primary_event) == ("click", "tick")


def test_per_kind_methods_are_subscriptions_to_one_type():
    b = kino.button("B")
    clicks, events = [], []
    b.on_click(lambda: clicks.append("clicked"))
    b.subscribe(events.append, type="click")
    b.subscribe(events.append, type="other")
    browser_click(b)
    assert clicks == ["clicked"]
    assert [(e.type, e.value, e.source) for e in events] == [("click", None, b)]
    inp = kino.input.range("x", 0, 10)
    values = []
    handler = inp.on_change(values.append)
    inp.update(3)
    inp.unsubscribe(handler)  # unsubscribe knows an on_change handler by the function given
    inp.update(4)
    assert values == [3]


def test_a_source_defined_later_works_with_listen():
    class Thermometer(EventSource):
        primary_event = "reading"

        def read(self, degrees: float) -> None:
            self.emit("reading", degrees)
            self.emit("calibrated", None)

    thermometer, seen = Thermometer(), []
    record = seen.append
    assert kino.listen(thermometer, record) is record
    thermometer.read(21.5)
    assert seen == [Event("reading", 21.5, thermometer)]


def test_listen_follows_every_type_when_a_source_has_no_primary_event():
    source, seen = EventSource(), []
    kino.listen(source, seen.append)
    source.emit("a", 1)
    source.emit("b", 2)
    assert [(e.type, e.value) for e in seen] == [("a", 1), ("b", 2)]


@settings(max_examples=30, deadline=None)
@given(source=st.one_of(st.integers(), st.text(max_size=3), st.none()))
def test_listen_bad_source(source):
    with pytest.raises(TypeError, match="'source'"):
        kino.listen(source, print)


@settings(max_examples=30, deadline=None)
@given(ms=st.one_of(st.integers(-100, 9), st.text(max_size=3), st.none(), st.booleans()))
def test_interval_bad_ms(ms):
    # A number below the minimum is a bad value; anything else is the wrong type.
    error = ValueError if isinstance(ms, int) and not isinstance(ms, bool) else TypeError
    with pytest.raises(error, match=r"kino\.interval: 'ms' must be a finite number from 10 to "):
        kino.interval(ms, start=False)


def test_bad_control_arguments():
    with pytest.raises(ValueError, match="'times'"):
        kino.interval(100, times=0)
    with pytest.raises(TypeError, match="'label'"):
        kino.button(3)
    with pytest.raises(TypeError, match="'fn'"):
        kino.listen(kino.button("b"), None)


@pytest.mark.parametrize(
    ("ms", "got"), [(float("nan"), "nan"), (float("inf"), "inf"), (1e30, r"1e\+30")]
)
def test_interval_refuses_periods_its_timer_cannot_wait(ms, got):
    # nan fired every tick at once, inf and 1e30 overflowed the timer and ended
    # the thread silently: each is refused at the call, naming the argument.
    from kino.ui.input.controls import MAX_INTERVAL_MS

    message = (
        rf"kino\.interval: 'ms' must be a finite number from 10 to {MAX_INTERVAL_MS}, got {got}$"
    )
    with pytest.raises(ValueError, match=message):
        kino.interval(ms, start=False)
    timer = kino.interval(MAX_INTERVAL_MS, start=False)
    assert timer.ms == MAX_INTERVAL_MS
