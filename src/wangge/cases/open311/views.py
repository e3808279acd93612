"""Open311 GeoReport v2 endpoints under /open311/v2 — thin: parse, call, render.

Every endpoint answers in the format its URL ends with (``.xml`` or ``.json``); errors come
in the spec's format with its status codes (400, 403, 404). Identity comes from ``api_key``
only, never from a session cookie, so the POST needs no CSRF token and a browser signed in to
the platform cannot be made to file a case by another site.

Idempotency: a client that may send the same POST twice (a retry after a timeout) sends an
``Idempotency-Key`` header (up to 80 letters, digits, ``.``, ``_``, ``:`` or ``-``). The
same key with the same content answers with the case the first POST made (HTTP 200 instead
of 201); the same key with different content is refused. Without the header every POST
files a new case. ``GET tokens/<key>.<format>`` with the api_key finds the case a key made.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt

from wangge.audit.models import AuditRecord

from . import services
from .clients import client_for
from .errors import Open311Error
from .formats import FORMATS, MIME_TYPES, Many, render, render_errors, w3c_datetime

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
DEFAULT_JURISDICTION = "wangge.local"


def jurisdiction_id() -> str:
    return getattr(settings, "OPEN311_JURISDICTION_ID", DEFAULT_JURISDICTION)


def _endpoint(methods: tuple[str, ...]) -> Callable:
    """Check the format and method, the jurisdiction_id if one was sent, and turn every
    ``Open311Error`` into the spec's error document."""
    allowed = set(methods) | ({"HEAD"} if "GET" in methods else set())

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(request: HttpRequest, *args, fmt: str, **kwargs) -> HttpResponse:
            if fmt not in FORMATS:
                return render_errors("xml", 400, [(400, f"format {fmt[:10]!r} is not "
                                                        "supported: use .xml or .json")])
            if request.method not in allowed:
                response = render_errors(fmt, 400, [(405, f"{request.method} is not allowed "
                                                          f"here; use {', '.join(methods)}")])
                response["Allow"] = ", ".join(sorted(allowed))
                return response
            try:
                _check_text(request, kwargs)
                _check_jurisdiction(request)
                return view(request, *args, fmt=fmt, **kwargs)
            except Open311Error as exc:
                return render_errors(fmt, exc.status, exc.errors)

        return wrapped

    return decorator


def _check_text(request: HttpRequest, path_args: dict[str, str]) -> None:
    """Refuse NUL characters up front: no text column can hold them (PostgreSQL refuses
    even to compare with one), and no honest client sends them."""
    params = request.POST if request.method == "POST" else request.GET
    named = [(name, value) for name in params for value in params.getlist(name)]
    for name, value in [*named, *path_args.items()]:
        if "\x00" in name or "\x00" in value:
            raise Open311Error.one(400, f"{name.replace(chr(0), '')[:40]}: contains a NUL "
                                        "character")


def _check_jurisdiction(request: HttpRequest) -> None:
    params = request.POST if request.method == "POST" else request.GET
    sent = (params.get("jurisdiction_id") or "").strip()
    # One jurisdiction is served, so the argument is optional; a wrong one is "not found".
    if sent and sent != jurisdiction_id():
        raise Open311Error.one(404, f"jurisdiction_id {sent[:80]!r} not found; this endpoint "
                                    f"serves {jurisdiction_id()!r}")


def _private(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "private, no-store"
    return response


@_endpoint(("GET",))
def discovery(request: HttpRequest, fmt: str) -> HttpResponse:
    base = reverse("open311:discovery", kwargs={"fmt": fmt}).rsplit("/", 1)[0]
    changeset = _changeset()
    document = {
        "changeset": changeset,
        "contact": getattr(settings, "OPEN311_CONTACT", "")
        or "Ask the platform administrator (系统管理员) of this deployment.",
        "key_service": "api_key: the platform administrator issues one for a machine account "
                       "with token scopes cases:report and cases:read (wangge issue-token).",
        "endpoints": Many("endpoint", [{
            "specification": SPECIFICATION,
            "url": request.build_absolute_uri(base),
            "changeset": changeset,
            "type": getattr(settings, "OPEN311_ENDPOINT_TYPE", "production"),
            "formats": Many("format", list(MIME_TYPES)),
        }]),
    }
    return render(fmt, "discovery", document)


def _changeset() -> str:
    """When the service list last changed, as far as the platform knows: the last load of
    the default categories in the audit trail. Only its time is read, nothing scoped."""
    at = (AuditRecord.objects.filter(object_type="cases.category").order_by("-seq")
          .values_list("at", flat=True).first())
    return w3c_datetime(at) if at else "1970-01-01T00:00:00Z"


@_endpoint(("GET",))
def service_list(request: HttpRequest, fmt: str) -> HttpResponse:
    return render(fmt, "services", services.service_list())


@_endpoint(("GET",))
def service_definition(request: HttpRequest, fmt: str, code: str) -> HttpResponse:
    category = services.find_service(code)
    if category is None:
        raise Open311Error.one(404, f"service_code {code[:80]!r} not found")
    return render(fmt, "service_definition", services.service_definition(category))


@csrf_exempt
@_endpoint(("GET", "POST"))
def requests(request: HttpRequest, fmt: str) -> HttpResponse:
    if request.method == "POST":
        return _post_request(request, fmt)
    client = client_for(request, request.GET.get("api_key"), required=False,
                        permission="cases.view")
    query = services.parse_query(request.GET)
    response = render(fmt, "service_requests",
                      Many("request", services.find_requests(query, client)))
    return _private(response) if client else response


def _post_request(request: HttpRequest, fmt: str) -> HttpResponse:
    client = client_for(request, request.POST.get("api_key"), required=True,
                        permission="cases.report")
    data = services.parse_submission(request.POST, request.headers.get("Idempotency-Key"))
    case, created = services.submit(client, data)
    return _private(render(fmt, "service_requests", services.submitted_out(case),
                           status=201 if created else 200))


@_endpoint(("GET",))
def request_detail(request: HttpRequest, fmt: str, request_id: str) -> HttpResponse:
    client = client_for(request, request.GET.get("api_key"), required=False,
                        permission="cases.view")
    found = services.find_request(request_id, client)
    response = render(fmt, "service_requests", Many("request", [found]))
    return _private(response) if client else response


@_endpoint(("GET",))
def token(request: HttpRequest, fmt: str, token: str) -> HttpResponse:
    client = client_for(request, request.GET.get("api_key"), required=False,
                        permission="cases.report")
    if client is None:
        raise Open311Error.one(403, "api_key is required: a token is the Idempotency-Key "
                                    "your client sent with its POST")
    found = services.find_token(token, client)
    return _private(render(fmt, "service_requests", Many("request", [found])))


def not_found(request: HttpRequest, path: str) -> HttpResponse:
    """Anything else under /open311/v2: a 404 in the spec's format."""
    fmt = "json" if path.endswith(".json") else "xml"
    return render_errors(fmt, 404, [(404, f"no GeoReport v2 resource at {path[:100]!r}; see "
                                          "discovery.xml")])
