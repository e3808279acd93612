"""Registry API under /api/v1/registry: the search and the person card, masked.

``POST /persons/search`` takes the persons search in the body instead of the query string,
for clients that search by a whole ID number, phone or name.

Every route needs "registry.view" (token scope ``registry:read``) and answers only what the
caller may see (``service.search`` / ``cards``: the subtree and the department rules); a
person outside it answers 404 exactly like a missing one. Personal values are masked; a
clear value is only ever given by the audited ``POST /api/v1/privacy/reveal``. A bad filter
(a text that is not what ``by`` says, an area outside the caller's, a tag she may not see)
answers 422 naming it.

No ``from __future__ import annotations`` here: ninja reads these annotations at import time.
"""

from django.core.exceptions import ValidationError
from django.http import HttpRequest, JsonResponse
from ninja import Field, Query, Router, Schema

from . import cards, service
from .imports.api import router as imports_router
from .linking.api import router as linking_router

router = Router(tags=["registry"])
router.add_router("/imports", imports_router)
router.add_router("/linkage", linking_router)

RESPONSES = {"responses": {
    200: {"description": "one page of masked records"},
    403: {"description": "no registry.view permission (token scope registry:read)"},
    422: {"description": "a bad filter, named in errors"}}}


class PageQuery(Schema):
    q: str = Field("", description="text to look for (names, addresses, codes)")
    grid: str = Field("", description="a grid or community code within the caller's area")
    page: int = Field(1, ge=1)
    page_size: int = Field(50, ge=1, le=200)


class PersonQuery(PageQuery):
    q: str = Field("", description="full name, ID number or its mask (3701 211X), phone or "
                                   "its mask (138 5678), address")
    by: str = Field("", description="what q is: name | id_number | phone | address "
                                    "(empty: recognised from its form)")
    tag: str = Field("", description="a tag code the caller may see")
    residence_type: str = Field("", description="registered | floating | foreign")


class HouseQuery(PageQuery):
    usage: str = Field("", description="owner_occupied | rented | vacant")


class PlaceQuery(PageQuery):
    place_kind: str = Field("", description="a place kind, e.g. school")


class OrganisationQuery(PageQuery):
    org_kind: str = Field("", description="enterprise | social | institution | individual")


def _token(request: HttpRequest):
    return getattr(request, "api_token", None)


def _invalid(exc: ValidationError) -> JsonResponse:
    return JsonResponse({"detail": "invalid", "errors": exc.message_dict}, status=422)


def _page(request: HttpRequest, kind: str, params: Schema) -> JsonResponse:
    data = params.dict()
    page, size = data.pop("page"), data.pop("page_size")
    try:
        search = service.read_search({**data, "kind": kind})
        qs = service.search(request.user, search, _token(request))
        total = qs.count()
    except ValidationError as exc:
        return _invalid(exc)
    start = (page - 1) * size
    items = service.rows(request.user, kind, qs[start:start + size])
    return JsonResponse({"count": total, "page": page, "page_size": size, "items": items})


@router.get("/persons", url_name="registry_persons", openapi_extra=RESPONSES)
def list_persons(request: HttpRequest, q: Query[PersonQuery]):
    """Persons the caller may see, masked, with the tags she may see."""
    return _page(request, "persons", q)


@router.post("/persons/search", url_name="registry_persons_search", openapi_extra=RESPONSES)
def search_persons(request: HttpRequest, body: PersonQuery):
    """The same search with the question in the body: searching by a whole ID number, phone
    or name this way keeps the value out of URLs and access logs."""
    return _page(request, "persons", body)


@router.get("/persons/{int:person_id}", url_name="registry_person", openapi_extra={
    "responses": {200: {"description": "the person's card: masked values and provenance"},
                  404: {"description": "no such person within the caller's scope"}}})
def get_person(request: HttpRequest, person_id: int):
    """What is known of a person, from which dataset and since when (masked); rows of
    datasets the caller may not read are only counted (``hidden_records``)."""
    card = cards.person_card(request.user, person_id, _token(request))
    return JsonResponse(cards.person_json(card))


@router.get("/houses", url_name="registry_houses", openapi_extra=RESPONSES)
def list_houses(request: HttpRequest, q: Query[HouseQuery]):
    """Houses (出租屋: usage=rented, 空置: vacant); q searches the building and the unit."""
    return _page(request, "houses", q)


@router.get("/buildings", url_name="registry_buildings", openapi_extra=RESPONSES)
def list_buildings(request: HttpRequest, q: Query[PageQuery]):
    return _page(request, "buildings", q)


@router.get("/places", url_name="registry_places", openapi_extra=RESPONSES)
def list_places(request: HttpRequest, q: Query[PlaceQuery]):
    return _page(request, "places", q)


@router.get("/organisations", url_name="registry_organisations", openapi_extra=RESPONSES)
def list_organisations(request: HttpRequest, q: Query[OrganisationQuery]):
    """Organisations; q is part of the name or address, or a whole credit code."""
    return _page(request, "organisations", q)
