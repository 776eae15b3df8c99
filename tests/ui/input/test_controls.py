"""kino.button, kino.interval, kino.listen."""

from __future__ import annotations

import threading

import ipywidgets
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import kino


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
    timer.join(10)
    assert ticks == [0, 1, 2, 3, 4]
    assert timer.iteration == 5 and not timer.running


def test_interval_start_stop_resume():
    timer = kino.interval(10, start=False)
    assert not timer.running and timer.iteration == 0
    reached = threading.Event()
    timer.on_tick(lambda i: reached.set() if i >= 2 else None)
    timer.start()
    assert reached.wait(10)
    timer.stop()
    timer.join(10)
    stopped_at = timer.iteration
    assert not timer.running
    more = threading.Event()
    timer.on_tick(lambda i: more.set() if i > stopped_at else None)
    timer.start()
    assert more.wait(10)
    timer.stop()
    timer.join(10)


def test_interval_handler_error_stops_it():
    timer = kino.interval(10, start=False)

    def boom(i):
        raise RuntimeError("bad tick")

    timer.on_tick(boom)
    timer.start()
    timer.join(10)
    assert isinstance(timer.error, RuntimeError)
    assert not timer.running and timer.iteration == 1


def test_listen_dispatches_on_every_kind():
    seen = []
    inp = kino.input.text("x")
    kino.listen(inp, lambda v: seen.append(("input", v)))
    inp.update("a")
    form = kino.form(x=kino.input.text("X", default="v"), submit="Go")
    kino.listen(form, lambda v: seen.append(("form", v)))
    form.button._handle_button_msg(None, {"event": "click"}, [])
    b = kino.button("B")
    kino.listen(b, lambda: seen.append(("button",)))
    browser_click(b)
    slider = ipywidgets.IntSlider()
    kino.listen(slider, lambda v: seen.append(("ipywidgets", v)))
    slider.value = 3
    raw = ipywidgets.Button()
    kino.listen(raw, lambda: seen.append(("ipybutton",)))
    raw.click()
    timer = kino.interval(10, times=1)
    kino.listen(timer, lambda i: seen.append(("tick", i)))
    timer.join(10)
    assert seen[:5] == [
        ("input", "a"),
        ("form", {"x": "v"}),
        ("button",),
        ("ipywidgets", 3),
        ("ipybutton",),
    ]
    assert seen[5:] == [("tick", 0)]


@settings(max_examples=30, deadline=None)
@given(source=st.one_of(st.integers(), st.text(max_size=3), st.none()))
def test_listen_bad_source(source):
    with pytest.raises(TypeError, match="'source'"):
        kino.listen(source, print)


@settings(max_examples=30, deadline=None)
@given(ms=st.one_of(st.integers(-100, 9), st.text(max_size=3), st.none(), st.booleans()))
def test_interval_bad_ms(ms):
    with pytest.raises(ValueError, match="'ms'"):
        kino.interval(ms, start=False)


def test_bad_control_arguments():
    with pytest.raises(ValueError, match="'times'"):
        kino.interval(100, times=0)
    with pytest.raises(TypeError, match="'label'"):
        kino.button(3)
    with pytest.raises(TypeError, match="'fn'"):
        kino.listen(kino.button("b"), None)
