"""Registry pages — 实有人口、房屋、场所、组织: the search, the cards, tags and exports.

Thin: the search is ``service.search`` (scope, department rules, filters), a card is
``cards.*_card``, a tag change ``service.add_tag`` / ``remove_tag``, a download
``exports.export``. A bad filter renders the page with the error named (422); a record out
of scope is a 404 like a missing one; another department's tag is a 403. Clear values are
never on a page: the card's reveal buttons call the audited reveal API
(``/api/v1/privacy/reveal``) from ``registry/reveal.js``.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from wangge.accounts.permissions import permission_required
from wangge.privacy.purposes import DETAIL_MAX, PURPOSES

from . import cards, exports, service
from .models import HouseUsage, OrganisationKind, PlaceKind, ResidenceType


def _errors(exc: ValidationError) -> list[str]:
    if hasattr(exc, "message_dict"):
        return [" ".join(messages_) for messages_ in exc.message_dict.values()]
    return list(exc.messages)


def _tabs(search: service.Search) -> list[dict]:
    out = []
    for kind, (label, _filters) in service.KINDS.items():
        other = service.with_kind(search, kind)
        out.append({"kind": kind, "label": label, "current": kind == search.kind,
                    "url": f"{reverse('registry:search')}?{other.query()}"})
    return out


def _reference(search: service.Search, sealed: str = "") -> str:
    """The query string that names ``search`` in links (pager, tabs, exports): sealed when
    it holds what may be a personal value."""
    if service.needs_sealing(search):
        return urlencode({"s": sealed or service.seal_search(search)})
    return search.query()


def _search_context(user, search: service.Search, reference: str = "") -> dict:
    return {
        "search": search, "tabs": _tabs(search), "query": reference,
        "filters": service.KINDS[search.kind][1],
        "by_choices": list(service.BY_CHOICES.items()),
        "residence_types": ResidenceType.choices, "usages": HouseUsage.choices,
        "place_kinds": PlaceKind.choices, "org_kinds": OrganisationKind.choices,
        "tags": service.tag_choices(user), "areas": service.area_choices(user),
        "export_cap": exports.EXPORT_CAP,
        "export_urls": [(fmt.upper(), f"{reverse('registry:export', args=[fmt])}?{reference}")
                        for fmt in exports.FORMATS],
    }


def _asked(request: HttpRequest) -> tuple[service.Search, str]:
    """The search a GET names: sealed (``?s=``) or in plain parameters."""
    sealed = request.GET.get("s", "")
    if sealed:
        return service.open_search(sealed), sealed
    return service.read_search(request.GET), ""


def _refused(request: HttpRequest, exc: ValidationError,
             search: service.Search | None = None) -> HttpResponse:
    context = _search_context(request.user, search or service.Search())
    context.update(errors=_errors(exc), rows=[])
    return render(request, "registry/search.html", context, status=422)


@permission_required(service.VIEW)
def search_page(request: HttpRequest) -> HttpResponse:
    """Find persons, houses, buildings, places or organisations within the user's area.

    The form posts; the answer is a redirect to the results, whose address holds the search
    sealed when it may hold a personal value (POST, redirect, GET)."""
    user = request.user
    if request.method == "POST":
        try:
            search = service.read_search(request.POST)
        except ValidationError as exc:
            return _refused(request, exc)
        return redirect(f"{reverse('registry:search')}?{_reference(search)}")
    try:
        search, sealed = _asked(request)
    except ValidationError as exc:
        return _refused(request, exc)
    context = _search_context(user, search, _reference(search, sealed))
    try:
        qs = service.search(user, search)
        page = Paginator(qs, service.PAGE_SIZE).get_page(request.GET.get("page"))
    except ValidationError as exc:
        return _refused(request, exc, search)
    context.update(page=page, rows=service.rows(user, search.kind, page.object_list),
                   total=page.paginator.count,
                   capped=page.paginator.count > exports.EXPORT_CAP)
    return render(request, "registry/search.html", context)


@permission_required(service.VIEW)
def export_view(request: HttpRequest, fmt: str) -> HttpResponse:
    """The current search as CSV or XLSX (masked, at most ``EXPORT_CAP`` rows, audited)."""
    if fmt not in exports.FORMATS:
        raise Http404
    try:
        search, _sealed = _asked(request)
        result = exports.export(request.user, search, fmt)
    except ValidationError as exc:
        return _refused(request, exc)
    response = HttpResponse(result.content, content_type=result.content_type)
    response["Content-Disposition"] = f'attachment; filename="{result.filename}"'
    response["Cache-Control"] = "no-store"
    return response


def _person_page(request: HttpRequest, pk: int, *, errors: list[str] | None = None,
                 status: int = 200, note: str = "") -> HttpResponse:
    card = cards.person_card(request.user, pk)
    return render(request, "registry/person.html", {
        "card": card, "person": card.person, "errors": errors or [], "note": note,
        "purposes": list(PURPOSES.values()), "detail_max": DETAIL_MAX,
        "reveal_strings": {
            "failed": _("Not shown: %(reason)s"),
            "forbidden": _("you may not reveal this value"),
            "missing": _("the record is not in your area"),
            "invalid": _("say why (a purpose, and what for when it is “other”)"),
            "error": _("the server could not open the value"),
            "shown": _("Shown for this visit; the reveal is on the audit trail."),
        },
    }, status=status)


@permission_required(service.VIEW)
def person_page(request: HttpRequest, pk: int) -> HttpResponse:
    """A person's card: what is known, from whom, since when; tags; reveal buttons."""
    return _person_page(request, pk)


@require_POST
@permission_required(service.TAG)
def tag_add(request: HttpRequest, pk: int) -> HttpResponse:
    note = request.POST.get("note", "")
    try:
        carried, added = service.add_tag(request.user, pk, request.POST.get("tag", ""), note)
    except ValidationError as exc:
        return _person_page(request, pk, errors=_errors(exc), status=422, note=note)
    if added:
        messages.success(request, _("Tag “%(tag)s” added.") % {"tag": carried.tag.name})
    else:
        messages.info(request, _("The person already carries “%(tag)s”.")
                      % {"tag": carried.tag.name})
    return redirect("registry:person", pk=pk)


@require_POST
@permission_required(service.TAG)
def tag_remove(request: HttpRequest, pk: int, tag_pk: int) -> HttpResponse:
    try:
        name = service.remove_tag(request.user, pk, tag_pk)
    except service.TagRefused as exc:
        return _person_page(request, pk, errors=[exc.message], status=exc.status)
    if name is None:
        messages.info(request, _("That tag is no longer on this person."))
    else:
        messages.success(request, _("Tag “%(tag)s” removed.") % {"tag": name})
    return redirect("registry:person", pk=pk)


@permission_required(service.VIEW)
def house_page(request: HttpRequest, pk: int) -> HttpResponse:
    return render(request, "registry/house.html", cards.house_card(request.user, pk))


@permission_required(service.VIEW)
def building_page(request: HttpRequest, pk: int) -> HttpResponse:
    return render(request, "registry/building.html", cards.building_card(request.user, pk))


@permission_required(service.VIEW)
def place_page(request: HttpRequest, pk: int) -> HttpResponse:
    return render(request, "registry/place.html", cards.place_card(request.user, pk))


@permission_required(service.VIEW)
def organisation_page(request: HttpRequest, pk: int) -> HttpResponse:
    return render(request, "registry/organisation.html",
                  cards.organisation_card(request.user, pk))


urlpatterns: list = [
    path("", search_page, name="search"),
    path("export/<str:fmt>/", export_view, name="export"),
    path("persons/<int:pk>/", person_page, name="person"),
    path("persons/<int:pk>/tags/", tag_add, name="tag_add"),
    path("persons/<int:pk>/tags/<int:tag_pk>/remove/", tag_remove, name="tag_remove"),
    path("houses/<int:pk>/", house_page, name="house"),
    path("buildings/<int:pk>/", building_page, name="building"),
    path("places/<int:pk>/", place_page, name="place"),
    path("organisations/<int:pk>/", organisation_page, name="organisation"),
]
