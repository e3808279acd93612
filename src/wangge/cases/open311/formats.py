"""GeoReport v2 documents, written once as plain values and rendered as XML or JSON.

A document is a root element name and a value: a ``dict`` (an element with named children)
or a ``Many`` (a container whose children all share one name, e.g. ``<services><service>``).
XML is built with ElementTree; JSON follows the spec's Spark convention, in which a ``Many``
is always an array (even of one item or none) and the root container itself disappears, so
``<services>`` becomes ``[{…}, …]`` and ``<service_definition>`` becomes ``{…}``.
"""

from __future__ import annotations

import io
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.http import HttpResponse
from django.utils import timezone

FORMATS = ("xml", "json")
CONTENT_TYPES = {
    "xml": "text/xml; charset=utf-8",
    "json": "application/json; charset=utf-8",
}
MIME_TYPES = ("text/xml", "application/json")  # as listed in the discovery document
# Characters XML 1.0 cannot carry at all, not even escaped: a description pasted from
# somewhere may contain them, and one would make the whole document unreadable.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


@dataclass(frozen=True)
class Many:
    """A container of repeated ``item`` elements: an array in JSON."""

    item: str
    items: Sequence[Any]


def w3c_datetime(value: datetime | None) -> str | None:
    """An instant as the spec wants it: ISO 8601 with the offset, in the platform's zone."""
    if value is None:
        return None
    return timezone.localtime(value).isoformat(timespec="seconds")


def to_xml(root: str, value: Any) -> bytes:
    element = ET.Element(root)
    _fill(element, value)
    buffer = io.BytesIO()
    ET.ElementTree(element).write(buffer, encoding="UTF-8", xml_declaration=True)
    return buffer.getvalue()


def _fill(element: ET.Element, value: Any) -> None:
    if isinstance(value, Many):
        for item in value.items:
            _fill(ET.SubElement(element, value.item), item)
    elif isinstance(value, dict):
        for name, child in value.items():
            _fill(ET.SubElement(element, name), child)
    elif value is not None:  # None is an empty element, <account_id/>
        element.text = _text(value)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return w3c_datetime(value) or ""
    return _NOT_XML.sub("", str(value))


def to_json_value(value: Any) -> Any:
    if isinstance(value, Many):
        return [to_json_value(item) for item in value.items]
    if isinstance(value, dict):
        return {name: to_json_value(child) for name, child in value.items()}
    if isinstance(value, datetime):
        return w3c_datetime(value)
    if isinstance(value, bool | int | float) or value is None:
        return value
    return str(value)


def render(fmt: str, root: str, value: Any, status: int = 200) -> HttpResponse:
    """The response for one document in ``fmt`` ("xml" or "json")."""
    if fmt == "json":
        body = json.dumps(to_json_value(value), ensure_ascii=False).encode("utf-8")
    else:
        fmt, body = "xml", to_xml(root, value)
    return HttpResponse(body, status=status, content_type=CONTENT_TYPES[fmt])


def render_errors(fmt: str, status: int, errors: Iterable[tuple[int, str]]) -> HttpResponse:
    """``<errors><error><code/><description/></error>…</errors>`` / ``[{code, description}]``.

    Errors in a format the client did not ask for in a known way (``.csv``) are XML, the
    one format every GeoReport client reads.
    """
    items = [{"code": code, "description": description} for code, description in errors]
    return render(fmt, "errors", Many("error", items), status=status)
