"""Registry cards: provenance and why, hidden sources, reveal buttons, tags, other cards."""

from __future__ import annotations

import datetime
import json
import re

import pytest
from django.utils import timezone

from tests.registry.pages_data import EAST1, build, grant
from tests.registry_factories import ID_A, ID_B, add_record, make_dataset
from wangge.accounts import roles
from wangge.audit.models import AuditRecord
from wangge.registry import cards
from wangge.registry.models import PersonTag
from wangge.registry.survivorship import refresh_person

pytestmark = pytest.mark.django_db


@pytest.fixture
def client(client, settings):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"  # assertions read the English msgids
    return client


@pytest.fixture
def city(tree, hukou, elderly_list, correction_tag, civil_affairs):
    return build(tree, hukou, elderly_list, correction_tag, civil_affairs)


def card_url(person) -> str:
    return f"/registry/persons/{person.pk}/"


def get(client, user, url):
    client.force_login(user)
    return client.get(url)


def sources(html: str, field: str) -> list[str]:
    """The datasets listed under a field, in page order, the shown one marked with *."""
    block = re.search(rf'data-testid="sources-{field}">(.*?)</ol>', html, re.S)
    assert block, f"no sources listed for {field}"
    return [name + ("*" if chosen else "") for name, chosen in re.findall(
        r'<li class="[^"]*" data-dataset="([^"]+)"( data-chosen="1")?>', block[1])]


# -- provenance -------------------------------------------------------------------------------


def test_card_lists_each_source_most_trusted_first_with_why(client, city, elderly_list,
                                                            police, police_steward):
    grant(elderly_list, police, police_steward)  # 公安 may read 民政's list too
    html = get(client, police_steward, card_url(city.b)).content.decode()
    # 公安 (trust 90) wins the phone over 民政's newer row (trust 60); both listed, in order.
    assert sources(html, "phone") == ["户籍人口*", "独居老人名单"]
    why = re.search(r'data-testid="why-phone">(.*?)</p>', html, re.S)[1]
    assert "most trusted source (trust 90; next 60)" in why
    assert 'data-testid="value-phone">139****0001<' in html
    # The sources disagree: flagged, and the other value marked as differing.
    assert 'data-testid="conflict-phone"' in html
    assert re.search(r'<li class=" differs" data-dataset="独居老人名单"', html)
    assert "139****0002" in html
    assert "data-testid=\"hidden-records\"" not in html


def test_equal_trust_the_most_recent_wins_and_says_so(client, city, tree, police,
                                                      police_steward, hukou):
    floating = make_dataset("ga-floating", police, ("name", "id_number", "phone",
                                                    "grid_code"), name="流动人口", trust=90)
    add_record(floating, "f-a", {"name": "张小明", "id_number": ID_A, "phone": "13811112222"},
               region=tree["370102001001001"], person=city.a)
    refresh_person(city.a)
    html = get(client, police_steward, card_url(city.a)).content.decode()
    assert sources(html, "phone") == ["流动人口*", "户籍人口"]
    assert "as trusted as the next source, and more recent" in html
    assert 'data-testid="value-phone">138****2222<' in html
    # Since when: as of the row's date and since the platform holds it.
    month_ago = timezone.localdate() - datetime.timedelta(days=30)
    assert f"as of {month_ago}" in html


def test_rows_of_unreadable_datasets_are_counted_not_shown(client, city, grid_worker):
    html = get(client, grid_worker, card_url(city.b)).content.decode()
    # The grid worker reads 民政's list (sent down) but not 公安's 户籍 (conditional).
    assert sources(html, "phone") == ["独居老人名单"]
    assert "户籍人口" not in html and "公安" not in html
    assert re.search(r'data-testid="hidden-records">\s*1 more record from datasets you have '
                     r'no access to', html)
    # The phone shown came from 户籍: he is told it is from a source he cannot read.
    assert "from a source you have no access to" in html
    assert 'data-testid="value-phone">139****0001<' in html


def test_card_of_a_person_with_no_readable_rows(client, city, community_staff):
    html = get(client, community_staff, card_url(city.a)).content.decode()
    assert 'data-testid="value-id_number">3701**********211X<' in html
    assert "1 more record from datasets you have no access to" in html
    assert 'data-testid="sources-' not in html
    assert 'data-testid="house-link"' in html and "HH-0001" in html


def test_out_of_scope_card_is_404(client, city, other_grid_worker, other_community_staff,
                                  handler, admin_user):
    assert get(client, other_grid_worker, card_url(city.a)).status_code == 404
    assert get(client, other_community_staff, card_url(city.b)).status_code == 404
    assert get(client, handler, card_url(city.a)).status_code == 404  # not on 民政's lists
    assert get(client, handler, "/registry/persons/999999/").status_code == 404
    assert get(client, admin_user, card_url(city.a)).status_code == 403


# -- tags on the card ---------------------------------------------------------------------------


def test_card_shows_only_tags_one_may_see(client, city, grid_worker, police_handler):
    html = get(client, grid_worker, card_url(city.b)).content.decode()
    tags = re.search(r'data-testid="tags">(.*?)</section>', html, re.S)[1]
    assert "独居老人" in tags and "from 独居老人名单" in tags
    assert "社区矫正" not in html
    police = get(client, police_handler, card_url(city.b)).content.decode()
    assert "社区矫正" in police and "独居老人" not in police


def test_handler_adds_and_removes_his_departments_tag(client, city, handler):
    client.force_login(handler)
    add = f"/registry/persons/{city.b.pk}/tags/"
    response = client.post(add, {"tag": "low_income", "note": "2024年复核"})
    assert response.status_code == 302 and response["Location"] == card_url(city.b)
    carried = PersonTag.objects.get(person=city.b, tag=city.low_income)
    assert carried.added_by == handler and carried.note == "2024年复核"
    page = client.get(card_url(city.b)).content.decode()
    assert "低保对象" in page and "2024年复核" in page and "from mz_handler" in page
    audit = AuditRecord.objects.filter(action="registry.tag_add").get()
    assert audit.object_id == str(city.b.pk) and json.loads(audit.detail)["tag"] == "low_income"
    # A retried form adds nothing twice.
    again = client.post(add, {"tag": "low_income", "note": "again"}, follow=True)
    assert "already carries" in again.content.decode()
    assert PersonTag.objects.filter(person=city.b, tag=city.low_income).count() == 1
    assert AuditRecord.objects.filter(action="registry.tag_add").count() == 1
    # Removed, audited; removing again changes nothing.
    remove = f"/registry/persons/{city.b.pk}/tags/{carried.pk}/remove/"
    assert client.post(remove).status_code == 302
    assert not PersonTag.objects.filter(pk=carried.pk).exists()
    assert AuditRecord.objects.filter(action="registry.tag_remove").count() == 1
    gone = client.post(remove, follow=True).content.decode()
    assert "no longer on this person" in gone
    assert AuditRecord.objects.filter(action="registry.tag_remove").count() == 1


def test_tag_form_offers_only_own_departments_tags(client, city, handler, police_handler,
                                                   grid_worker):
    html = get(client, handler, card_url(city.b)).content.decode()
    form = re.search(r'data-testid="tag-form">(.*?)</form>', html, re.S)[1]
    # 独居老人 is already on 王芳 (from the list), so only 低保对象 is offered.
    assert 'value="low_income"' in form and "elderly_alone" not in form
    police = get(client, police_handler, card_url(city.b)).content.decode()
    assert 'data-testid="tag-form"' not in police  # 社区矫正, its only tag, is there already
    assert 'data-testid="tag-form"' not in get(client, grid_worker, card_url(city.b)).content \
        .decode()


def test_other_departments_tags_are_refused(client, city, handler, police_handler,
                                            grid_worker):
    client.force_login(police_handler)
    assert client.post(f"/registry/persons/{city.b.pk}/tags/",
                       {"tag": "low_income"}).status_code == 403
    client.force_login(handler)
    client.post(f"/registry/persons/{city.b.pk}/tags/", {"tag": "low_income"})
    carried = PersonTag.objects.get(person=city.b, tag=city.low_income)
    # 低保对象 is held by handlers, so 公安's handler sees it — but may not remove it.
    client.force_login(police_handler)
    assert client.post(f"/registry/persons/{city.b.pk}/tags/{carried.pk}/remove/"
                       ).status_code == 403
    assert PersonTag.objects.filter(pk=carried.pk).exists()
    # A grid worker may not tag at all.
    client.force_login(grid_worker)
    assert client.post(f"/registry/persons/{city.b.pk}/tags/",
                       {"tag": "elderly_alone"}).status_code == 403
    assert not AuditRecord.objects.filter(action="registry.tag_remove").exists()


def test_tagging_out_of_scope_or_bad_input(client, city, handler):
    client.force_login(handler)
    # 张小明 is not on 民政's lists: out of the handler's sight, like a missing person.
    assert client.post(f"/registry/persons/{city.a.pk}/tags/",
                       {"tag": "low_income"}).status_code == 404
    long_note = client.post(f"/registry/persons/{city.b.pk}/tags/",
                            {"tag": "low_income", "note": "x" * 201})
    assert long_note.status_code == 422 and "at most 200 characters" in long_note.content \
        .decode()
    missing = client.post(f"/registry/persons/{city.b.pk}/tags/", {"tag": ""})
    assert missing.status_code == 422
    assert not PersonTag.objects.filter(tag=city.low_income).exists()
    assert client.get(f"/registry/persons/{city.b.pk}/tags/").status_code == 405


def test_a_tag_from_a_list_stays_while_the_person_is_on_it(client, city, handler):
    carried = PersonTag.objects.get(person=city.b, tag__code="elderly_alone")
    html = get(client, handler, card_url(city.b)).content.decode()
    assert 'data-testid="remove-elderly_alone"' not in html
    client.force_login(handler)
    response = client.post(f"/registry/persons/{city.b.pk}/tags/{carried.pk}/remove/")
    assert response.status_code == 409
    assert "comes from the list" in response.content.decode()
    assert PersonTag.objects.filter(pk=carried.pk).exists()


# -- reveal -------------------------------------------------------------------------------------


def test_card_offers_reveal_to_holders_only(client, city, grid_worker, monkeypatch):
    html = get(client, grid_worker, card_url(city.a)).content.decode()
    for field in ("name", "id_number", "phone", "address"):
        assert f'data-testid="reveal-{field}"' in html
    assert 'data-url="/api/v1/privacy/reveal"' in html
    assert 'data-object-type="registry.person"' in html
    assert "registry/reveal.js" in html
    assert 'value="visit"' in html and 'value="other"' in html  # the purposes
    # A role without privacy.reveal gets neither the buttons nor the script.
    monkeypatch.setitem(roles.PERMISSIONS, "privacy.reveal", frozenset({roles.Role.STEWARD}))
    html = get(client, grid_worker, card_url(city.a)).content.decode()
    assert "data-testid=\"reveal-" not in html and "registry/reveal.js" not in html


def _reveal(client, person, field="id_number", purpose="visit", detail="入户走访"):
    return client.post("/api/v1/privacy/reveal", json.dumps({
        "object_type": "registry.person", "object_id": str(person.pk), "field": field,
        "purpose": purpose, "detail": detail}), content_type="application/json")


def test_reveal_from_the_card_is_audited(client, city, grid_worker):
    client.force_login(grid_worker)
    response = _reveal(client, city.a)
    assert response.status_code == 200 and response.json()["value"] == ID_A
    assert response["Cache-Control"] == "no-store"
    audit = AuditRecord.objects.get(action="privacy.reveal")
    assert audit.object_type == "registry.person" and audit.object_id == str(city.a.pk)
    assert json.loads(audit.detail)["field"] == "id_number"
    assert audit.purpose == "visit: 入户走访" and ID_A not in audit.detail


def test_reveal_refused_without_permission_or_out_of_scope(client, city, grid_worker,
                                                           other_grid_worker, monkeypatch):
    client.force_login(other_grid_worker)
    assert _reveal(client, city.b).status_code == 404
    monkeypatch.setitem(roles.PERMISSIONS, "privacy.reveal", frozenset({roles.Role.STEWARD}))
    client.force_login(grid_worker)
    refused = _reveal(client, city.b)
    assert refused.status_code == 403 and ID_B not in refused.content.decode()
    reasons = sorted(json.loads(r.detail)["reason"] for r in
                     AuditRecord.objects.filter(action="privacy.reveal_refused"))
    assert reasons == ["permission", "scope"]
    assert not AuditRecord.objects.filter(action="privacy.reveal").exists()


# -- house, building, place, organisation ----------------------------------------------------


def test_house_card_lists_residents_masked(client, city, community_staff, other_community_staff):
    html = get(client, community_staff, f"/registry/houses/{city.rented.pk}/").content.decode()
    assert "出租屋" in html or "rented" in html
    assert f'data-person="{city.a.pk}"' in html and "张*明" in html
    assert "HH-0001" in html
    assert f'href="/registry/buildings/{city.building.pk}/"' in html
    assert get(client, other_community_staff,
               f"/registry/houses/{city.rented.pk}/").status_code == 404


def test_building_card_lists_its_houses(client, city, community_staff, other_community_staff):
    html = get(client, community_staff,
               f"/registry/buildings/{city.building.pk}/").content.decode()
    assert f'<tr data-house="{city.rented.pk}">' in html
    assert f'<tr data-house="{city.vacant.pk}">' in html
    assert get(client, other_community_staff,
               f"/registry/buildings/{city.building.pk}/").status_code == 404


def test_place_and_organisation_cards(client, city, community_staff, other_community_staff,
                                      tree):
    place = get(client, community_staff, f"/registry/places/{city.school.pk}/").content \
        .decode()
    assert "阳光小学" in place and f"/registry/organisations/{city.company.pk}/" in place
    org = get(client, community_staff,
              f"/registry/organisations/{city.company.pk}/").content.decode()
    assert f'<tr data-place="{city.school.pk}">' in org
    # 张小明's employer is this company: listed masked among those working here.
    employees = re.search(r'data-testid="employees">(.*?)</section>', org, re.S)[1]
    assert f'data-person="{city.a.pk}"' in employees and "张*明" in employees
    assert get(client, other_community_staff,
               f"/registry/places/{city.school.pk}/").status_code == 404
    assert get(client, other_community_staff,
               f"/registry/organisations/{city.company.pk}/").status_code == 404
    assert get(client, community_staff,
               f"/registry/places/{city.east_shop.pk}/").status_code == 404
    assert tree[EAST1]  # the shop's grid exists: 404 is scope, not absence


def test_person_card_service_counts(city, grid_worker):
    card = cards.person_card(grid_worker, city.b.pk)
    assert card.records == 1 and card.hidden_records == 1
    phone = next(f for f in card.fields if f.code == "phone")
    assert [s.dataset for s in phone.sources] == ["独居老人名单"]
    assert phone.conflict


def test_admin_keeps_things_not_people(client, city, admin_user):
    client.force_login(admin_user)
    for model in ("building", "house", "organisation", "place", "tagdefinition"):
        assert client.get(f"/admin/registry/{model}/").status_code == 200, model
    for model in ("person", "sourcerecord", "persontag"):
        assert client.get(f"/admin/registry/{model}/").status_code == 404, model


def test_two_people_adding_the_same_tag_at_once_make_one(city, handler, monkeypatch):
    from wangge.registry import service

    real_filter = PersonTag.objects.filter
    raced = []

    def other_request_wins(*args, **kwargs):
        if not raced:  # between the check and the insert, another request adds it
            raced.append(True)
            PersonTag.objects.create(person=city.b, tag=city.low_income,
                                     region_path=city.b.region_path, note="first")
            return PersonTag.objects.none()
        return real_filter(*args, **kwargs)

    monkeypatch.setattr(PersonTag.objects, "filter", other_request_wins)
    carried, added = service.add_tag(handler, city.b.pk, "low_income", "second")
    assert not added and carried.note == "first"
    assert PersonTag.objects.filter(person=city.b, tag=city.low_income).count() == 1
    assert not AuditRecord.objects.filter(action="registry.tag_add").exists()


def test_a_grant_naming_fields_shows_only_those(client, city, elderly_list, police,
                                                police_steward):
    limited = grant(elderly_list, police, police_steward)
    limited.fields = ["name", "id_number"]
    limited.save()
    html = get(client, police_steward, card_url(city.b)).content.decode()
    assert sources(html, "id_number") == ["户籍人口*", "独居老人名单"]
    assert sources(html, "phone") == ["户籍人口*"]  # 民政's phone is not in the grant
    assert "139****0002" not in html
