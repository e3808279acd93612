"""Open311 GeoReport v2 at /open311/v2: every endpoint in XML and JSON, the spec's errors, the
api_key, idempotent POSTs, status mapping, and what the public may and may not see."""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest
from django.conf import settings
from django.test import Client as HttpClient
from django.utils import timezone

from tests.cases.conftest import IN_SOUTH, IN_WEST, WEST_GRID
from tests.factories import make_user
from wangge.accounts.models import ApiToken
from wangge.accounts.roles import Role
from wangge.accounts.services import issue_token
from wangge.audit.models import AuditRecord
from wangge.cases.models import Case, Category, CategoryKind, Source
from wangge.cases.open311.clients import ensure_demo_open311_client
from wangge.cases.workflow import State

pytestmark = pytest.mark.django_db

BASE = "/open311/v2"
PHONE = "13812345678"
FORMATS = ["xml", "json"]


class Api:
    """Calls /open311/v2 as a client would, and reads both formats into plain values."""

    def __init__(self, key: str) -> None:
        self.key = key
        # CSRF enforced, as for a real client: the POST must not depend on a cookie.
        self.http = HttpClient(enforce_csrf_checks=True)
        self.http.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"  # read the English msgids

    def get(self, path: str, **params):
        return self.http.get(f"{BASE}/{path}", params)

    def post(self, fmt: str = "json", *, key: str | None = "default", headers=None, **fields):
        data = {"service_code": "env.garbage", "lat": IN_WEST[1], "long": IN_WEST[0],
                "description": "路口有一堆建筑垃圾\n已经三天了", **fields}
        if key == "default":
            key = self.key
        if key is not None:
            data["api_key"] = key
        data = {k: v for k, v in data.items() if v is not None}
        return self.http.post(f"{BASE}/requests.{fmt}", data, headers=headers or {})


def xml_of(response) -> ET.Element:
    assert response["Content-Type"] == "text/xml; charset=utf-8"
    assert response.content.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
    return ET.fromstring(response.content)  # noqa: S314 -- our own output, in a test


def json_of(response):
    assert response["Content-Type"] == "application/json; charset=utf-8"
    return response.json()


def errors_of(response, fmt: str) -> list[tuple[str, str]]:
    """[(code, description)] from the spec's error document in either format."""
    if fmt == "xml":
        root = xml_of(response)
        assert root.tag == "errors"
        return [(e.findtext("code"), e.findtext("description")) for e in root.findall("error")]
    return [(str(e["code"]), e["description"]) for e in json_of(response)]


def requests_of(response, fmt: str) -> list[dict]:
    """The service requests of a response, as dicts of strings (XML) or values (JSON)."""
    if fmt == "xml":
        root = xml_of(response)
        assert root.tag == "service_requests"
        return [{child.tag: child.text for child in r} for r in root.findall("request")]
    return json_of(response)


@pytest.fixture
def open311_key(tree) -> str:
    return ensure_demo_open311_client(io.StringIO())


@pytest.fixture
def api(open311_key, categories, people) -> Api:
    return Api(open311_key)


def _filed(api: Api, **fields) -> Case:
    response = api.post(**fields)
    assert response.status_code == 201, response.content
    return Case.objects.get(code=response.json()[0]["service_request_id"])


# -- discovery, services, service definitions ---------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_discovery_names_the_endpoint_and_both_formats(api, fmt):
    response = api.get(f"discovery.{fmt}")
    assert response.status_code == 200
    if fmt == "xml":
        root = xml_of(response)
        endpoint = root.find("endpoints/endpoint")
        found = {"spec": endpoint.findtext("specification"), "url": endpoint.findtext("url"),
                 "formats": [f.text for f in endpoint.findall("formats/format")],
                 "contact": root.findtext("contact"), "key": root.findtext("key_service")}
    else:
        doc = json_of(response)
        endpoint = doc["endpoints"][0]
        found = {"spec": endpoint["specification"], "url": endpoint["url"],
                 "formats": endpoint["formats"], "contact": doc["contact"],
                 "key": doc["key_service"]}
    assert found["spec"] == "http://wiki.open311.org/GeoReport_v2"
    assert found["url"] == "http://testserver/open311/v2"
    assert found["formats"] == ["text/xml", "application/json"]
    assert found["contact"] and "cases:report" in found["key"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_services_are_the_active_leaf_categories_grouped_by_parent(api, fmt):
    response = api.get(f"services.{fmt}", jurisdiction_id="wangge.local")
    assert response.status_code == 200
    if fmt == "xml":
        root = xml_of(response)
        assert root.tag == "services"
        services = [{c.tag: c.text for c in s} for s in root.findall("service")]
    else:
        services = json_of(response)
    by_code = {s["service_code"]: s for s in services}
    # Groups (大类) with services of their own and inactive categories are not services.
    assert list(by_code) == ["env.ads", "env.garbage", "road.manhole"]
    garbage = by_code["env.garbage"]
    assert garbage["service_name"] == "暴露垃圾" and garbage["group"] == "市容环境"
    assert garbage["type"] == "realtime"
    assert garbage["metadata"] in (True, "true")
    assert "市容环境" in garbage["keywords"] and "暴露垃圾" in garbage["description"]


def test_a_category_without_children_is_its_own_group(api):
    Category.objects.create(code="misc", name="其他事件", kind=CategoryKind.EVENT)
    services = {s["service_code"]: s for s in json_of(api.get("services.json"))}
    assert services["misc"]["group"] == "其他事件"


@pytest.mark.parametrize("fmt", FORMATS)
def test_service_definition_offers_urgency_as_a_single_value_list(api, fmt):
    response = api.get(f"services/env.garbage.{fmt}")
    assert response.status_code == 200
    if fmt == "xml":
        root = xml_of(response)
        assert root.tag == "service_definition"
        assert root.findtext("service_code") == "env.garbage"
        urgency = next(a for a in root.findall("attributes/attribute")
                       if a.findtext("code") == "urgency")
        assert urgency.findtext("datatype") == "singlevaluelist"
        assert urgency.findtext("required") == "false"
        keys = [v.findtext("key") for v in urgency.findall("values/value")]
    else:
        doc = json_of(response)
        assert doc["service_code"] == "env.garbage"
        urgency = next(a for a in doc["attributes"] if a["code"] == "urgency")
        assert urgency["datatype"] == "singlevaluelist" and urgency["required"] is False
        assert urgency["variable"] is True and urgency["order"] == 1
        keys = [v["key"] for v in urgency["values"]]
    assert keys == ["normal", "urgent", "critical"]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("code", ["nope", "env", "old"])
def test_unknown_group_or_inactive_service_is_404(api, fmt, code):
    response = api.get(f"services/{code}.{fmt}")
    assert response.status_code == 404
    [(error_code, description)] = errors_of(response, fmt)
    assert error_code == "404" and code in description


@pytest.mark.parametrize("fmt", FORMATS)
def test_another_jurisdiction_is_not_found(api, fmt):
    response = api.get(f"services.{fmt}", jurisdiction_id="sfgov.org")
    assert response.status_code == 404
    assert "jurisdiction_id 'sfgov.org' not found" in errors_of(response, fmt)[0][1]
    response = api.post(fmt, jurisdiction_id="sfgov.org")
    assert response.status_code == 404
    assert Case.objects.count() == 0


def test_the_jurisdiction_is_configurable(api, settings):
    settings.OPEN311_JURISDICTION_ID = "jinan.gov.cn"
    assert api.get("services.json", jurisdiction_id="jinan.gov.cn").status_code == 200
    assert api.get("services.json", jurisdiction_id="wangge.local").status_code == 404


def test_unknown_format_path_and_method_answer_in_the_spec_format(api):
    response = api.get("services.csv")
    assert response.status_code == 400
    assert "use .xml or .json" in errors_of(response, "xml")[0][1]
    response = api.get("nothing/here.json")
    assert response.status_code == 404 and errors_of(response, "json")[0][0] == "404"
    response = api.http.delete(f"{BASE}/requests.json")
    assert response.status_code == 400 and response["Allow"] == "GET, HEAD, POST"
    assert errors_of(response, "json")[0][0] == "405"


# -- POST requests ------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_post_files_a_case_and_returns_its_number(api, fmt):
    response = api.post(fmt, phone=PHONE, email="zhang@example.com", first_name="三",
                        last_name="张", address_string="解放路12号",
                        **{"attribute[urgency]": "urgent"})
    assert response.status_code == 201, response.content
    [answer] = requests_of(response, fmt)
    case = Case.objects.get(code=answer["service_request_id"])
    assert answer["service_notice"] and "token" not in answer
    assert case.source == Source.OPEN311 and case.category.code == "env.garbage"
    assert case.region.code == WEST_GRID and case.urgency == "urgent"
    assert case.title == "路口有一堆建筑垃圾"  # the description's first line
    assert case.address == "解放路12号" and case.reporter.username == "open311_demo"
    # The phone is kept masked only; name and e-mail are not kept at all.
    assert case.reporter_contact_masked == "138****5678"
    stored = " ".join(str(v) for v in Case.objects.filter(pk=case.pk).values().get().values())
    audit = " ".join(AuditRecord.objects.values_list("detail", flat=True))
    for secret in (PHONE, "zhang@example.com", "张"):
        assert secret not in stored and secret not in audit


@pytest.mark.parametrize("fmt", FORMATS)
def test_post_without_or_with_a_bad_api_key_is_403(api, fmt):
    for key in (None, "", "wg_0000_not-a-key", "plainly wrong"):
        response = api.post(fmt, key=key)
        assert response.status_code == 403
        [(code, description)] = errors_of(response, fmt)
        assert code == "403" and "api_key" in description
    assert Case.objects.count() == 0


def test_a_revoked_key_or_one_without_the_report_scope_is_403(api, people):
    ApiToken.objects.update(revoked_at=timezone.now())
    assert api.post().status_code == 403
    _, read_only = issue_token(None, username="open311_demo", name="read only",
                               scopes=["cases:read"])
    response = api.post(key=read_only)
    assert response.status_code == 403 and "cases:report" in errors_of(response, "json")[0][1]
    assert Case.objects.count() == 0


def test_only_a_machine_account_files_open311_requests(api, people):
    _, staff_key = issue_token(None, username="staff_w", name="desk", scopes=["cases:report"])
    response = api.post(key=staff_key)
    assert response.status_code == 403
    assert "open311" in errors_of(response, "json")[0][1]
    assert Case.objects.count() == 0


@pytest.mark.parametrize("fmt", FORMATS)
def test_post_without_a_location_is_400(api, fmt):
    response = api.post(fmt, lat=None, long=None)
    assert response.status_code == 400
    [(code, description)] = errors_of(response, fmt)
    assert code == "400" and "location is required" in description
    assert Case.objects.count() == 0


def test_post_names_every_input_error_at_once(api):
    response = api.post(service_code=None, lat="36.6", long=None, phone="call me",
                        **{"attribute[colour]": "red", "attribute[urgency]": "whenever"})
    assert response.status_code == 400
    messages = " | ".join(d for _, d in errors_of(response, "json"))
    for expected in ("service_code is required", "lat and long: send both", "phone:",
                     "no attribute 'colour'", "'whenever' is not one of"):
        assert expected in messages


def test_post_with_an_unknown_service_is_404_and_a_bad_point_400(api):
    response = api.post(service_code="nope")
    assert response.status_code == 404 and "'nope' not found" in errors_of(response, "json")[0][1]
    response = api.post(lat="95", long="117")
    assert response.status_code == 400 and "lat: 95.0 is outside" in response.json()[0][
        "description"]
    response = api.post(lat="north", long="117")
    assert response.status_code == 400 and "'north' is not a number" in response.content.decode()


def test_post_may_place_the_case_by_grid_code_or_address(api, people):
    by_grid = _filed(api, lat=None, long=None, address_id=WEST_GRID)
    assert by_grid.region.code == WEST_GRID and by_grid.address == "西社区第一网格"
    by_address = _filed(api, lat=None, long=None, address_string="历下区某路口")
    # No point and no grid: filed at the client's own node (the city) for the dispatchers.
    assert by_address.region.code == "3701" and by_address.lon is None
    response = api.post(lat=None, long=None, address_id="999")
    assert response.status_code == 400 and "no grid with code '999'" in response.content.decode()


def test_post_is_idempotent_with_the_idempotency_key_header(api):
    headers = {"Idempotency-Key": "fms-12345"}
    first = api.post(headers=headers)
    again = api.post(headers=headers)
    assert (first.status_code, again.status_code) == (201, 200)
    code = first.json()[0]["service_request_id"]
    assert again.json()[0]["service_request_id"] == code
    assert Case.objects.count() == 1
    # The same key for other content is refused, not answered with the old case.
    other = api.post(headers=headers, description="另一件事")
    assert other.status_code == 400
    [(error_code, description)] = errors_of(other, "json")
    assert error_code == "409" and code in description
    assert Case.objects.count() == 1
    # Without the header a second POST is a second case.
    api.post()
    api.post()
    assert Case.objects.count() == 3


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_token_is_the_idempotency_key_and_finds_its_request(api, fmt):
    code = api.post(headers={"Idempotency-Key": "retry-7"}).json()[0]["service_request_id"]
    response = api.get(f"tokens/retry-7.{fmt}", api_key=api.key)
    assert response.status_code == 200
    assert requests_of(response, fmt) == [{"service_request_id": code, "token": "retry-7"}]
    assert api.get(f"tokens/retry-8.{fmt}", api_key=api.key).status_code == 404
    assert api.get(f"tokens/retry-7.{fmt}").status_code == 403
    # Another client's keys are its own.
    _, other_key = issue_token(None, username="sensor1", name="other",
                               scopes=["cases:read", "cases:report"])
    assert api.get(f"tokens/retry-7.{fmt}", api_key=other_key).status_code == 404


# -- GET requests ---------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_post_then_get_shows_the_request_in_full_to_its_client(api, fmt):
    case = _filed(api, address_string="解放路12号", phone=PHONE)
    for response in (api.get(f"requests.{fmt}", api_key=api.key),
                     api.get(f"requests/{case.code}.{fmt}", api_key=api.key)):
        assert response.status_code == 200
        assert response["Cache-Control"] == "private, no-store"
        [found] = requests_of(response, fmt)
        assert found["service_request_id"] == case.code and found["status"] == "open"
        assert found["service_code"] == "env.garbage" and found["service_name"] == "暴露垃圾"
        assert found["description"] == "路口有一堆建筑垃圾\n已经三天了"
        assert found["address"] == "解放路12号" and found["address_id"] == WEST_GRID
        assert float(found["lat"]) == IN_WEST[1] and float(found["long"]) == IN_WEST[0]
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00",
                            found["requested_datetime"])
        assert PHONE not in response.content.decode() and "5678" not in response.content.decode()


@pytest.mark.parametrize("fmt", FORMATS)
def test_public_gets_carry_no_personal_data(api, fmt):
    case = _filed(api, address_string="解放路12号 张三家门口", phone=PHONE,
                  first_name="三", last_name="张", lat="36.60537", long="117.01234")
    for response in (api.get(f"requests.{fmt}"), api.get(f"requests/{case.code}.{fmt}")):
        assert response.status_code == 200
        body = response.content.decode()
        for private in ("张三", "解放路12号", "建筑垃圾", PHONE, "5678", "open311_demo"):
            assert private not in body
        [found] = requests_of(response, fmt)
        assert found["service_request_id"] == case.code and found["status"] == "open"
        assert found["description"] is None and found["address"] is None
        # Where, to about 100 m: enough to see the matter, not whose door it is.
        assert (float(found["lat"]), float(found["long"])) == (36.605, 117.012)
        assert "36.60537" not in body and "117.01234" not in body


def test_resident_requests_show_no_location_in_public(api):
    Category.objects.create(code="R01", name="邻里纠纷", kind=CategoryKind.REQUEST)
    case = _filed(api, service_code="R01")
    [public] = api.get(f"requests/{case.code}.json").json()
    assert public["lat"] is None and public["long"] is None
    [own] = api.get(f"requests/{case.code}.json", api_key=api.key).json()
    assert own["lat"] == IN_WEST[1]


def test_an_api_key_shows_in_full_only_what_its_owner_may_see(api, make_case, people):
    resident_case = make_case(description="我家楼下的垃圾", address="某小区3号楼")
    own = _filed(api)
    found = {r["service_request_id"]: r
             for r in api.get("requests.json", api_key=api.key).json()}
    assert set(found) == {resident_case.code, own.code}
    assert found[own.code]["description"] is not None
    assert found[resident_case.code]["description"] is None
    assert found[resident_case.code]["address"] is None
    # A key without the read scope is refused rather than quietly shown the public view.
    _, report_only = issue_token(None, username="open311_demo", name="report only",
                                 scopes=["cases:report"])
    response = api.get("requests.json", api_key=report_only)
    assert response.status_code == 403 and "cases:read" in response.content.decode()
    assert api.get("requests.json", api_key="wg_bad").status_code == 403


EXPECTED_STATUS = {
    State.REPORTED: "open", State.REGISTERED: "open", State.DISPATCHED: "open",
    State.HANDLING: "open", State.HANDLED: "open", State.SUSPENDED: "open",
    State.UNDER_REVIEW: "open", State.CLOSED: "closed", State.REJECTED: "closed",
    State.VOIDED: "closed", State.MERGED: "closed",
}


def test_status_open_or_closed_follows_the_case_state(api, flow, media):
    codes = {state: flow.new_case(state).code for state in EXPECTED_STATUS}
    found = {r["service_request_id"]: r for r in api.get("requests.json").json()}
    assert {state: found[code]["status"] for state, code in codes.items()} == EXPECTED_STATUS
    closed = {r["service_request_id"] for r in api.get("requests.json", status="closed").json()}
    opened = {r["service_request_id"]
              for r in requests_of(api.get("requests.xml", status="open"), "xml")}
    master = Case.objects.get(code=codes[State.MERGED]).master.code  # an open case too
    assert closed == {codes[s] for s, v in EXPECTED_STATUS.items() if v == "closed"}
    assert opened == {codes[s] for s, v in EXPECTED_STATUS.items() if v == "open"} | {master}
    both = api.get("requests.json", status="open,closed").json()
    assert len(both) == len(EXPECTED_STATUS) + 1
    assert found[codes[State.MERGED]]["status_notes"].endswith(f"→ {master}")


def test_closed_request_names_the_lead_department_and_closing_time(api, flow, media):
    case = _filed(api)
    assert api.get(f"requests/{case.code}.json").json()[0]["agency_responsible"] is None
    for action in ("register", "dispatch"):
        case = flow.act(case, action)  # CG lead, ZJ assisting
    [found] = api.get(f"requests/{case.code}.json").json()
    assert found["agency_responsible"] == "区城管局"
    for action in ("accept", "handle", "verify"):
        case = flow.act(case, action)
    [found] = api.get(f"requests/{case.code}.json", api_key=api.key).json()
    assert found["status"] == "closed"
    assert found["updated_datetime"] == timezone.localtime(case.closed_at).isoformat(
        timespec="seconds")


def test_get_requests_filters(api):
    garbage = _filed(api)
    manhole = _filed(api, service_code="road.manhole")
    elsewhere = _filed(api, lat=IN_SOUTH[1], long=IN_SOUTH[0])

    def codes(**params) -> set[str]:
        response = api.get("requests.json", **params)
        assert response.status_code == 200, response.content
        return {r["service_request_id"] for r in response.json()}

    assert codes() == {garbage.code, manhole.code, elsewhere.code}
    assert codes(service_code="road.manhole") == {manhole.code}
    assert codes(service_code="road.manhole,env.garbage") == {manhole.code, garbage.code,
                                                               elsewhere.code}
    now = timezone.localtime()
    later = (now + timedelta(days=1)).isoformat(timespec="seconds")
    earlier = (now - timedelta(days=1)).isoformat(timespec="seconds")
    assert codes(start_date=later) == set()
    assert codes(end_date=earlier) == set()
    assert len(codes(start_date=earlier, end_date=later)) == 3
    assert len(codes(start_date=earlier.replace("+08:00", "Z"))) == 3
    # service_request_id overrides every other argument.
    assert codes(service_request_id=f"{garbage.code},{manhole.code}", service_code="none",
                 start_date=later) == {garbage.code, manhole.code}
    # Older than the default 90 days: not listed unless asked for by id or date.
    Case.objects.filter(pk=garbage.pk).update(created_at=now - timedelta(days=100))
    assert garbage.code not in codes()
    assert garbage.code in codes(start_date=(now - timedelta(days=101)).isoformat())


@pytest.mark.parametrize(("params", "message"), [
    ({"start_date": "yesterday"}, "start_date: 'yesterday' is not a W3C date-time"),
    ({"status": "pending"}, "status: pending is not open or closed"),
    ({"start_date": "2024-01-01T00:00:00Z", "end_date": "2024-06-01T00:00:00Z"},
     "at most 90 days"),
    ({"start_date": "2024-02-01T00:00:00Z", "end_date": "2024-01-01T00:00:00Z"},
     "start_date is after end_date"),
])
@pytest.mark.parametrize("fmt", FORMATS)
def test_bad_query_arguments_are_400(api, fmt, params, message):
    response = api.get(f"requests.{fmt}", **params)
    assert response.status_code == 400
    assert message in errors_of(response, fmt)[0][1]


@pytest.mark.parametrize("fmt", FORMATS)
def test_unknown_request_is_404(api, fmt):
    response = api.get(f"requests/WG20990101000001.{fmt}")
    assert response.status_code == 404
    assert errors_of(response, fmt)[0][0] == "404"


def test_xml_stays_well_formed_with_control_characters_in_the_text(api):
    case = _filed(api, description="坏了\x07\x1b 的灯")
    root = xml_of(api.get(f"requests/{case.code}.xml", api_key=api.key))
    assert root.findtext("request/description") == "坏了 的灯"


def test_nul_characters_are_refused_before_they_reach_the_database(api):
    response = api.post(description="坏了\x00的灯")
    assert response.status_code == 400
    assert "description: contains a NUL character" in errors_of(response, "json")[0][1]
    assert api.get("requests.json", service_request_id="WG\x001").status_code == 400
    assert api.get("requests/WG%00.json").status_code == 400
    assert Case.objects.count() == 0


# -- the demo client ------------------------------------------------------------------------


def test_demo_client_prints_a_working_key_on_its_own_line_every_run(tree, categories):
    out = io.StringIO()
    first = ensure_demo_open311_client(out)
    second = ensure_demo_open311_client(out)
    lines = out.getvalue().splitlines()
    assert lines == [f"Open311 api_key: {first}", f"Open311 api_key: {second}"]
    assert first != second
    api = Api(second)
    assert api.post().status_code == 201
    # The key printed before is revoked: only the last one printed works.
    assert Api(first).post().status_code == 403
    client = ApiToken.objects.filter(revoked_at__isnull=True).get().user
    assert (client.username, client.role, client.region.code) == ("open311_demo", Role.MACHINE,
                                                                  "3701")
    assert not client.has_usable_password()


def test_demo_client_binds_to_the_first_city_without_3701(db):
    from wangge.regions.models import Level
    from wangge.regions.services import create_region

    province = create_region(code="44", name="广东省", level=Level.PROVINCE, parent=None,
                             geometry=None, attributes={}, audit=False)
    create_region(code="4403", name="深圳市", level=Level.CITY, parent=province, geometry=None,
                  attributes={}, audit=False)
    ensure_demo_open311_client(io.StringIO())
    assert ApiToken.objects.get().user.region.code == "4403"


def test_demo_client_needs_a_city_and_its_own_username(db, tree):
    make_user("open311_demo", Role.STAFF, tree["3701"])
    with pytest.raises(ValueError, match="not the demo Open311 client"):
        ensure_demo_open311_client(io.StringIO())


def test_demo_client_without_any_city(db):
    with pytest.raises(ValueError, match="no city-level region"):
        ensure_demo_open311_client(io.StringIO())
