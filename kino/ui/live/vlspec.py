"""Reading a Vega-Lite spec for ``kino.chart``: its named datasets and the fields it encodes."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from kino.contracts import fail

#: Name given to the chart's data when the spec names none.
DEFAULT_DATASET = "data"

# Transforms whose effect on the fields is known: filter keeps the fields,
# calculate adds one (its "as"). Any other transform can add or remove fields
# arbitrarily, so rows reaching such a view are not checked field by field.
_KNOWN_TRANSFORMS = {"filter", "calculate"}
_COMPOSITE = ("layer", "hconcat", "vconcat", "concat")


@dataclass
class Fields:
    """What rows pushed into one dataset must carry (field -> encoding channel).

    >>> parse({"mark": "line", "encoding": {"y": {"field": "loss", "type": "quantitative"}}})\
.fields["data"]
    Fields(required={'loss': 'y'}, quantitative={'loss': 'y'})
    """

    required: dict[str, str] = field(default_factory=dict)  # field -> channel
    quantitative: dict[str, str] = field(default_factory=dict)  # field -> channel


@dataclass
class ParsedSpec:
    """A spec without its inline data, the initial rows and the datasets' fields.

    >>> p = parse({"mark": "point", "datasets": {"pts": [{"a": 1}]}, "data": {"name": "pts"}})
    >>> p.names, p.default, p.initial
    (['pts'], 'pts', {'pts': [{'a': 1}]})
    """

    spec: dict[str, Any]
    initial: dict[str, list[dict[str, Any]]]
    default: str | None
    names: list[str]
    fields: dict[str, Fields]


def to_spec_dict(spec: Any) -> dict[str, Any]:
    """An altair chart or a Vega-Lite dict, as a fresh dict.

    >>> to_spec_dict({"mark": "bar"})
    {'mark': 'bar'}
    >>> to_spec_dict("bar")
    Traceback (most recent call last):
    ...
    TypeError: kino.chart: 'spec' must be an altair chart or a Vega-Lite spec dict, got str: 'bar'
    """
    if hasattr(spec, "to_dict") and callable(spec.to_dict):
        return spec.to_dict()
    if isinstance(spec, dict):
        return copy.deepcopy(spec)
    fail("kino.chart", "spec", "an altair chart or a Vega-Lite spec dict", spec)


def parse(raw: Any) -> ParsedSpec:
    """Separate data from the spec and find the encoded fields of each dataset.

    >>> parse({"mark": "line", "data": {"values": [{"x": 1}]}}).initial
    {'data': [{'x': 1}]}
    """
    spec = to_spec_dict(raw)
    initial: dict[str, list[dict[str, Any]]] = {}
    datasets = spec.pop("datasets", None) or {}
    if not isinstance(datasets, dict):
        raise ValueError("kino.chart: the spec's 'datasets' must map names to lists of rows")
    for name, values in datasets.items():
        rows = list(values) if isinstance(values, list) else []
        # altair writes a chart without data as the dataset "empty": [{}]
        initial[name] = [r for r in rows if isinstance(r, dict) and r]
    data = spec.get("data")
    if data == {"name": "empty"} and datasets.get("empty") == [{}]:
        data = spec["data"] = {"name": DEFAULT_DATASET}
        del initial["empty"]
    default: str | None
    if data is None:
        if any(k in spec for k in ("mark", "layer")) and not _collect_names(spec, []):
            spec["data"] = {"name": DEFAULT_DATASET}
            default = DEFAULT_DATASET
        else:
            default = None
    elif isinstance(data, dict) and isinstance(data.get("values"), list):
        initial[DEFAULT_DATASET] = [r for r in data["values"] if isinstance(r, dict)]
        spec["data"] = {"name": DEFAULT_DATASET}
        default = DEFAULT_DATASET
    elif isinstance(data, dict) and isinstance(data.get("name"), str):
        default = data["name"]
    else:
        default = None
    names: list[str] = []
    _collect_names(spec, names)
    if default is None and len(names) == 1:
        default = names[0]
    for name in names:
        initial.setdefault(name, [])
    _check_field_names(spec)
    fields: dict[str, Fields] = {name: Fields() for name in names}
    _collect_fields(spec, None, False, set(), fields)
    if (
        "width" not in spec
        and ("mark" in spec or "layer" in spec)
        and not any(k in spec for k in ("facet", "repeat", *_COMPOSITE[1:]))
    ):
        spec["width"] = "container"
    return ParsedSpec(spec, initial, default, names, fields)


def _collect_names(node: Any, names: list[str]) -> list[str]:
    if isinstance(node, dict):
        data = node.get("data")
        name = data.get("name") if isinstance(data, dict) else None
        if isinstance(name, str) and name not in names:
            names.append(name)
        for key, value in node.items():
            if key not in ("data", "datasets"):
                _collect_names(value, names)
    elif isinstance(node, list):
        for item in node:
            _collect_names(item, names)
    return names


def _collect_fields(
    node: Any, dataset: str | None, opaque: bool, made: set[str], out: dict[str, Fields]
) -> None:
    if not isinstance(node, dict):
        return
    data = node.get("data")
    if isinstance(data, dict):
        dataset = data.get("name") if isinstance(data.get("name"), str) else None
        opaque, made = False, set()
    transforms = node.get("transform")
    if isinstance(transforms, list) and transforms:
        made = set(made)
        for t in transforms:
            if not isinstance(t, dict) or not set(t) & _KNOWN_TRANSFORMS:
                opaque = True
            elif "calculate" in t and isinstance(t.get("as"), str):
                made.add(t["as"])
    if dataset in out and not opaque:
        encoding = node.get("encoding")
        if isinstance(encoding, dict):
            for channel, defs in encoding.items():
                for d in defs if isinstance(defs, list) else [defs]:
                    _record_field(d, channel, made, out[dataset])
    for key in _COMPOSITE:
        for child in node.get(key) or []:
            _collect_fields(child, dataset, opaque, made, out)
    if isinstance(node.get("spec"), dict) and "repeat" not in node:
        _collect_fields(node["spec"], dataset, opaque, made, out)


_FIELD_ALLOWED = (
    "a field name Vega-Lite can read: no quotes, and brackets only for nested access "
    "like 'a[0]' (a literal bracket is escaped with a backslash)"
)


def _check_field_names(node: Any) -> None:
    """Refuse field names Vega-Lite cannot read, at the call instead of in the browser.

    >>> _check_field_names({"encoding": {"x": {"field": 'a"b'}}})
    Traceback (most recent call last):
    ...
    ValueError: kino.chart: 'field' must be a field name Vega-Lite can read: no quotes, and brackets only for nested access like 'a[0]' (a literal bracket is escaped with a backslash), got str: 'a"b'
    """  # noqa: E501
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "field" and isinstance(value, str):
                if not _readable_field(value):
                    fail("kino.chart", "field", _FIELD_ALLOWED, value, ValueError)
            elif key not in ("data", "datasets"):
                _check_field_names(value)
    elif isinstance(node, list):
        for item in node:
            _check_field_names(item)


def _readable_field(path: str) -> bool:
    """Whether Vega's access-path parser (vega-util ``splitAccessPath``) reads ``path``
    without an error, and it has no quote (Vega-Lite's generated expressions break on
    one, escaped or not).

    >>> [_readable_field(p) for p in ["loss", "a.b", "a[0]", "a\\\\[b", "a[b", "a]b", "a'b"]]
    [True, True, True, True, False, False, False]
    """
    if '"' in path or "'" in path:
        return False
    bracket = False
    i = 0
    while i < len(path):
        c = path[i]
        if c == "\\":
            i += 2
            continue
        if c == "[":
            if bracket:
                return False
            bracket = True
        elif c == "]":
            if not bracket:
                return False
            bracket = False
        i += 1
    return not bracket


def _record_field(d: Any, channel: str, made: set[str], fields: Fields) -> None:
    if not isinstance(d, dict):
        return
    name = d.get("field")
    if not isinstance(name, str) or not name or name in made:
        return
    if any(c in name for c in ".[]\\"):
        return  # nested access or escapes: checked by Vega, not here
    if d.get("aggregate") == "count":
        return
    fields.required.setdefault(name, channel)
    if d.get("type") == "quantitative" and "timeUnit" not in d:
        fields.quantitative.setdefault(name, channel)
