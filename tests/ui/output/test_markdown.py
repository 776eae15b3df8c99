import pytest

import kino
from kino.ui.base.widget import FrontEndNotBuiltWarning, bundle_path


def test_markdown_syncs_its_text(comm_log):
    md = kino.markdown("# Title")
    assert md.value == "# Title"
    md.update("**bold**")
    assert comm_log.updates("value")[-1].state["value"] == "**bold**"


def test_markdown_loads_its_bundled_module():
    md = kino.markdown("x")
    esm = str(md._esm)
    assert "export" in esm or "render" in esm
    assert "https://" not in esm.split("\n", 1)[0]
    assert bundle_path("markdown").is_file()


@pytest.mark.parametrize("bad", [42, None, b"bytes", ["a"]])
def test_markdown_rejects_non_text(bad):
    with pytest.raises(TypeError, match="'text' must be a str"):
        kino.markdown(bad)


def test_update_rejects_non_text_and_keeps_value():
    md = kino.markdown("keep me")
    with pytest.raises(TypeError, match="'text'"):
        md.update(3.5)
    assert md.value == "keep me"


def test_unbuilt_bundle_shows_a_message_instead_of_failing(tmp_path, monkeypatch):
    from kino.ui.base import widget as _widget

    monkeypatch.setattr(_widget, "STATIC_DIR", tmp_path)

    class Missing(_widget.KinoWidget, bundle="does-not-exist"):
        pass

    with pytest.warns(FrontEndNotBuiltWarning, match="make build"):
        w = Missing()
    assert "make build" in str(w._esm)


def test_safe_mode_is_a_synced_trait_auto_by_default(comm_log):
    # None: the front end turns safe mode on in a Voila page, off elsewhere.
    assert kino.markdown("x").safe is None
    md = kino.markdown("![t](http://host/pixel.png)", safe=True)
    assert md.safe is True and md.get_state()["safe"] is True
    assert kino.markdown("x", safe=False).safe is False
    with pytest.raises(TypeError, match=r"kino\.markdown: 'safe' must be True or False, got 1"):
        kino.markdown("x", safe=1)


def test_the_front_end_drops_fetching_images_and_unsafe_links_in_safe_mode():
    source = bundle_path("markdown").read_text()
    for marker in ("kino-md-image-dropped", "feImage", "srcset", "data-voila", "voila_finish"):
        assert marker in source or marker.replace("data-", "dataset.") in source, marker
