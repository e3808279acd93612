"""Routing rules (派遣规则): the most specific rule wins; editing is scoped and audited."""

from __future__ import annotations

import re

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client

from tests.cases.test_escalation import make_category
from tests.factories import make_user
from wangge.accounts.models import Department
from wangge.audit.models import AuditRecord
from wangge.cases import routing
from wangge.cases.models import RoutingRule

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.notifications.wiring")]

GRID = "370102001001001"
OTHER_GRID = "370102001002001"  # east community, same street
COMMUNITY = "370102001001"
STREET = "370102001"
OTHER_STREET_GRID = "370102002001001"
DISTRICT = "370102"
CITY = "3701"


@pytest.fixture
def cats(db):
    parent = make_category("01", "市容环境")
    child = make_category("0101", "暴露垃圾", parent=parent)
    sibling = make_category("0102", "积存垃圾渣土", parent=parent)
    other = make_category("02", "街面秩序")
    return {"parent": parent, "child": child, "sibling": sibling, "other": other}


@pytest.fixture
def depts(tree):
    def dept(code, name, node):
        return Department.objects.create(code=code, name=name, region=tree[node])

    return {
        "cg": dept("LX-CG", "历下区城管局", DISTRICT),
        "hw": dept("LX-HW", "历下区环卫中心", DISTRICT),
        "zj": dept("LX-ZJ", "历下区住建局", DISTRICT),
        "jd": dept("JF-ZF", "解放路街道综合执法队", STREET),
        "city": dept("JN-SW", "济南市水务局", CITY),
        "far": dept("QF-ZF", "千佛山街道综合执法队", "370102002"),
    }


@pytest.fixture
def admin(admin_user):
    return admin_user  # unbound: the whole deployment


def _rule(category, region, lead, assisting=(), active=True) -> RoutingRule:
    rule = RoutingRule.objects.create(category=category, region=region, lead=lead,
                                      is_active=active)
    rule.assisting.set(assisting)
    return rule


# --- Which rule wins ----------------------------------------------------------------------

def test_grid_rule_beats_street_and_district_rules(tree, cats, depts):
    _rule(cats["child"], tree[DISTRICT], depts["cg"])
    _rule(cats["child"], tree[STREET], depts["jd"])
    _rule(cats["child"], tree[GRID], depts["hw"], assisting=[depts["zj"]])
    result = routing.route(cats["child"], tree[GRID])
    assert result.lead == depts["hw"] and result.assisting == (depts["zj"],)
    assert result.rule_region_code == GRID and result.exact_category
    # The neighbouring grid has no rule of its own: the street's applies there.
    assert routing.route(cats["child"], tree[OTHER_GRID]).lead == depts["jd"]
    # The other street has neither: the district's.
    assert routing.route(cats["child"], tree[OTHER_STREET_GRID]).lead == depts["cg"]


def test_depth_comes_before_category_exactness(tree, cats, depts):
    _rule(cats["child"], tree[DISTRICT], depts["cg"])
    _rule(cats["parent"], tree[STREET], depts["jd"])
    result = routing.route(cats["child"], tree[GRID])
    assert result.lead == depts["jd"] and not result.exact_category


def test_at_the_same_node_the_exact_category_beats_its_parent(tree, cats, depts):
    _rule(cats["parent"], tree[STREET], depts["jd"])
    _rule(cats["child"], tree[STREET], depts["hw"])
    assert routing.route(cats["child"], tree[GRID]).lead == depts["hw"]
    # A sibling category only has the parent's rule.
    assert routing.route(cats["sibling"], tree[GRID]).lead == depts["jd"]


def test_no_rule_means_the_dispatchers_queue(tree, cats, depts):
    _rule(cats["child"], tree[OTHER_GRID], depts["hw"])  # another grid's rule
    _rule(cats["other"], tree[DISTRICT], depts["cg"])  # another category's rule
    assert routing.route(cats["child"], tree[GRID]) is None
    assert routing.route(cats["child"], None) is None
    # A top-level category is not covered by rules for its children.
    _rule(cats["child"], tree[DISTRICT], depts["cg"])
    assert routing.route(cats["parent"], tree[GRID]) is None


def test_inactive_rules_and_departments_are_passed_over(tree, cats, depts):
    _rule(cats["child"], tree[DISTRICT], depts["cg"], assisting=[depts["hw"], depts["zj"]])
    _rule(cats["child"], tree[STREET], depts["jd"], active=False)
    grid_rule = _rule(cats["child"], tree[GRID], depts["hw"])
    Department.objects.filter(pk=depts["hw"].pk).update(is_active=False)
    result = routing.route(cats["child"], tree[GRID])
    # The grid's lead is inactive and the street's rule is off: the district's rule applies,
    # without its inactive assisting department.
    assert result.lead == depts["cg"] and result.assisting == (depts["zj"],)
    assert result.rule_id != grid_rule.pk


def test_route_reads_the_rules_once_per_process_snapshot(tree, cats, depts,
                                                          django_assert_max_num_queries):
    _rule(cats["child"], tree[DISTRICT], depts["cg"], assisting=[depts["zj"]])
    _rule(cats["parent"], tree[GRID], depts["hw"])
    _rule(cats["child"], tree[STREET], depts["jd"])
    with django_assert_max_num_queries(3):
        result = routing.route(cats["child"], tree[GRID])
    assert result.lead == depts["hw"]
    with django_assert_max_num_queries(1):  # the snapshot serves later calls at any depth
        assert routing.route(cats["other"], tree[GRID].path) is None  # a path works too
    # An edit in this process is seen at once.
    _rule(cats["child"], tree[GRID], depts["jd"])
    assert routing.route(cats["child"], tree[GRID]).lead == depts["jd"]


# --- Editing rules: permission, scope, validation, audit -----------------------------------

def test_unbound_admin_creates_updates_and_deletes_with_audit(tree, cats, depts, admin):
    rule = routing.create_rule(admin, category=cats["child"], region=tree[STREET],
                               lead=depts["jd"], assisting=[depts["hw"]])
    assert routing.route(cats["child"], tree[GRID]).lead == depts["jd"]
    routing.update_rule(admin, rule, category=cats["child"], region=tree[STREET],
                        lead=depts["cg"], assisting=[], is_active=True)
    assert routing.route(cats["child"], tree[GRID]).assisting == ()
    routing.delete_rule(admin, rule)
    assert routing.route(cats["child"], tree[GRID]) is None
    actions = list(AuditRecord.objects.filter(action__startswith="cases.routing_rule")
                   .order_by("seq").values_list("action", flat=True))
    assert actions == ["cases.routing_rule.create", "cases.routing_rule.update",
                       "cases.routing_rule.delete"]
    update = AuditRecord.objects.get(action="cases.routing_rule.update")
    assert '"lead":"JF-ZF"' in update.detail and '"lead":"LX-CG"' in update.detail


def test_a_bound_admin_edits_only_their_subtree(tree, cats, depts):
    street_admin = make_user("street_admin", "admin", tree[STREET])
    mine = routing.create_rule(street_admin, category=cats["child"], region=tree[GRID],
                               lead=depts["cg"])
    with pytest.raises(PermissionDenied):
        routing.create_rule(street_admin, category=cats["child"], region=tree[DISTRICT],
                            lead=depts["cg"])
    with pytest.raises(PermissionDenied):
        routing.create_rule(street_admin, category=cats["child"],
                            region=tree[OTHER_STREET_GRID], lead=depts["cg"])
    theirs = _rule(cats["child"], tree[OTHER_STREET_GRID], depts["cg"])
    with pytest.raises(PermissionDenied):
        routing.update_rule(street_admin, theirs, category=cats["child"],
                            region=tree[OTHER_STREET_GRID], lead=depts["zj"])
    with pytest.raises(PermissionDenied):
        routing.delete_rule(street_admin, theirs)
    # Nor may a rule be moved out of the subtree.
    with pytest.raises(PermissionDenied):
        routing.update_rule(street_admin, mine, category=cats["child"],
                            region=tree[OTHER_STREET_GRID], lead=depts["cg"])
    assert set(routing.editable_rules(street_admin)) == {mine}
    assert RoutingRule.objects.get(pk=theirs.pk).lead == depts["cg"]


def test_staff_may_not_edit_rules(tree, cats, depts, community_staff):
    with pytest.raises(PermissionDenied):
        routing.create_rule(community_staff, category=cats["child"], region=tree[GRID],
                            lead=depts["cg"])
    assert not RoutingRule.objects.exists()


def test_rules_that_cannot_route_are_refused_with_the_field(tree, cats, depts, admin):
    with pytest.raises(ValidationError) as err:  # a street department can't serve the district
        routing.create_rule(admin, category=cats["child"], region=tree[DISTRICT],
                            lead=depts["jd"])
    assert "lead" in err.value.message_dict
    with pytest.raises(ValidationError) as err:
        routing.create_rule(admin, category=cats["child"], region=tree[GRID], lead=depts["cg"],
                            assisting=[depts["cg"]])
    assert "assisting" in err.value.message_dict
    Department.objects.filter(pk=depts["zj"].pk).update(is_active=False)
    depts["zj"].refresh_from_db()
    with pytest.raises(ValidationError) as err:
        routing.create_rule(admin, category=cats["child"], region=tree[GRID], lead=depts["zj"])
    assert "inactive" in err.value.message_dict["lead"][0]
    routing.create_rule(admin, category=cats["child"], region=tree[GRID], lead=depts["city"])
    with pytest.raises(ValidationError) as err:
        routing.create_rule(admin, category=cats["child"], region=tree[GRID], lead=depts["cg"])
    assert "already exists" in err.value.message_dict["region"][0]
    assert RoutingRule.objects.count() == 1


# --- Pages ---------------------------------------------------------------------------------

def _client(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def _listed(html: str) -> list[int]:
    return [int(x) for x in re.findall(r'<tr data-rule="(\d+)"', html)]


def test_list_shows_the_admins_rules_only(tree, cats, depts):
    street_admin = make_user("street_admin", "admin", tree[STREET])
    mine = _rule(cats["child"], tree[GRID], depts["cg"], assisting=[depts["zj"]])
    _rule(cats["child"], tree[OTHER_STREET_GRID], depts["cg"])
    resp = _client(street_admin).get("/cases/rules/")
    html = resp.content.decode()
    assert resp.status_code == 200
    assert _listed(html) == [mine.pk]
    assert "历下区城管局" in html and "历下区住建局" in html and "暴露垃圾" in html
    assert _client(street_admin).get(f"/cases/rules/{mine.pk + 1}/").status_code == 404


def test_pages_are_for_administrators(tree, community_staff):
    assert _client(community_staff).get("/cases/rules/").status_code == 403
    assert _client(community_staff).get("/cases/rules/new/").status_code == 403
    resp = Client().get("/cases/rules/")
    assert resp.status_code == 302 and "/accounts/login/" in resp["Location"]


def test_create_through_the_form(tree, cats, depts, admin):
    c = _client(admin)
    form = c.get("/cases/rules/new/").content.decode()
    assert 'name="region_code"' in form and "解放路街道综合执法队" in form
    resp = c.post("/cases/rules/new/", {
        "category": cats["child"].pk, "region_code": STREET, "lead": depts["jd"].pk,
        "assisting": [depts["hw"].pk, depts["zj"].pk], "is_active": "on"})
    assert resp.status_code == 302 and resp["Location"] == "/cases/rules/"
    rule = RoutingRule.objects.get()
    assert rule.region == tree[STREET] and rule.lead == depts["jd"] and rule.is_active
    assert set(rule.assisting.all()) == {depts["hw"], depts["zj"]}
    assert _listed(c.get("/cases/rules/").content.decode()) == [rule.pk]


def test_form_errors_are_shown_and_nothing_saved(tree, cats, depts):
    street_admin = make_user("street_admin", "admin", tree[STREET])
    c = _client(street_admin)
    resp = c.post("/cases/rules/new/", {"category": cats["child"].pk,
                                        "region_code": OTHER_STREET_GRID,
                                        "lead": depts["cg"].pk})
    assert resp.status_code == 400
    assert OTHER_STREET_GRID in resp.content.decode()  # "no region with code … in your area"
    resp = c.post("/cases/rules/new/", {"category": cats["child"].pk, "region_code": DISTRICT,
                                        "lead": depts["cg"].pk})
    assert resp.status_code == 400  # the district is above this admin's node
    resp = c.post("/cases/rules/new/", {"category": cats["child"].pk, "region_code": COMMUNITY,
                                        "lead": depts["jd"].pk, "assisting": [depts["jd"].pk]})
    assert resp.status_code == 400 and "already the lead department" in resp.content.decode()
    # A neighbouring street's department is not even offered; the city's is.
    form = c.get("/cases/rules/new/").content.decode()
    assert "千佛山街道综合执法队" not in form and "济南市水务局" in form
    assert not RoutingRule.objects.exists()


def test_edit_and_delete_through_the_pages(tree, cats, depts, admin):
    rule = _rule(cats["child"], tree[STREET], depts["jd"])
    c = _client(admin)
    page = c.get(f"/cases/rules/{rule.pk}/").content.decode()
    assert f'value="{STREET}"' in page
    resp = c.post(f"/cases/rules/{rule.pk}/", {"category": cats["child"].pk,
                                               "region_code": STREET, "lead": depts["cg"].pk})
    assert resp.status_code == 302
    rule.refresh_from_db()
    assert rule.lead == depts["cg"] and not rule.is_active  # the box was left unticked
    assert c.get(f"/cases/rules/{rule.pk}/delete/").status_code == 405
    assert c.post(f"/cases/rules/{rule.pk}/delete/").status_code == 302
    assert not RoutingRule.objects.exists()


def test_a_rule_of_a_retired_category_can_still_be_edited(tree, cats, depts, admin):
    rule = _rule(cats["other"], tree[STREET], depts["jd"])
    cats["other"].is_active = False
    cats["other"].save()
    c = _client(admin)
    assert "街面秩序" in c.get(f"/cases/rules/{rule.pk}/").content.decode()
    assert "街面秩序" not in c.get("/cases/rules/new/").content.decode()
    resp = c.post(f"/cases/rules/{rule.pk}/", {"category": cats["other"].pk,
                                               "region_code": STREET, "lead": depts["cg"].pk,
                                               "is_active": "on"})
    assert resp.status_code == 302
    rule.refresh_from_db()
    assert rule.lead == depts["cg"]


def test_try_a_route_on_the_list_page(tree, cats, depts, admin):
    _rule(cats["parent"], tree[STREET], depts["jd"], assisting=[depts["hw"]])
    c = _client(admin)
    html = c.get("/cases/rules/", {"try_category": cats["child"].pk,
                                   "try_region": GRID}).content.decode()
    result = re.search(r'data-testid="try-result">(.*?)</p>', html, re.S).group(1)
    assert "解放路街道综合执法队" in result and STREET in result and "历下区环卫中心" in result
    html = c.get("/cases/rules/", {"try_category": cats["other"].pk,
                                   "try_region": GRID}).content.decode()
    result = re.search(r'data-testid="try-result">(.*?)</p>', html, re.S).group(1)
    assert "解放路街道综合执法队" not in result
