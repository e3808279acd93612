"""Who sees which case: one rule, in the query layer (accounts.scope + Case.scope_refine)."""

from __future__ import annotations

import pytest
from django.http import Http404
from django.test import Client

from tests.cases.conftest import IN_EAST, IN_SOUTH, OUTSIDE
from tests.factories import make_user
from wangge.accounts.roles import Role
from wangge.accounts.scope import get_visible_or_404, scope_q, visible_to
from wangge.cases.models import Case
from wangge.cases.services import transition
from wangge.cases.workflow import State
from wangge.regions.models import Region

pytestmark = pytest.mark.django_db


def _codes(user) -> set[str]:
    return set(visible_to(Case, user).values_list("code", flat=True))


@pytest.fixture
def three(people, make_case):
    """A case in the west grid (resident), the east community (its resident), the other
    street (its staff)."""
    west = make_case(people.resident, title="西")
    east = make_case(people.other_resident, lon=IN_EAST[0], lat=IN_EAST[1], title="东")
    south = make_case(people.south_staff, lon=IN_SOUTH[0], lat=IN_SOUTH[1], title="南")
    return west, east, south


def test_staff_see_their_subtree(people, three):
    west, east, south = three
    assert _codes(people.staff) == {west.code}
    assert _codes(people.other_staff) == {east.code}
    assert _codes(people.street_staff) == {west.code, east.code}
    assert _codes(people.command) == {west.code, east.code, south.code}
    assert _codes(people.admin) == {west.code, east.code, south.code}


def test_residents_see_only_what_they_reported(people, three, make_case):
    west, east, _ = three
    neighbour = make_user("resident_w2", Role.RESIDENT, people.resident.region)
    assert _codes(people.resident) == {west.code}
    assert _codes(people.other_resident) == {east.code}
    assert _codes(neighbour) == set()  # same grid, someone else's report
    # A resident with no node still finds her own reports.
    floating = make_user("resident_nowhere", Role.RESIDENT, None)
    own = make_case(floating, grid="370102001001001", lon=None, lat=None, address="某处")
    assert _codes(floating) == {own.code}


def test_machine_clients_see_only_what_they_submitted(people, three, make_case):
    mine = make_case(people.machine, source="sensor")
    assert _codes(people.machine) == {mine.code}


def test_grid_workers_see_their_grid_and_their_own_reports(people, three, make_case):
    west, _, _ = three
    across = make_case(people.grid_worker, lon=IN_EAST[0], lat=IN_EAST[1], title="越界上报")
    assert across.region.code != people.grid_worker.region.code
    assert _codes(people.grid_worker) == {west.code, across.code}
    assert _codes(people.other_grid_worker) == set()


def test_handlers_see_only_what_their_department_is_assigned(people, flow, three):
    west, _, _ = three
    assert _codes(people.cg) == set()
    transition(people.staff, west.pk, "register")
    transition(people.staff, west.pk, "dispatch", departments=["CG"])
    assert _codes(people.cg) == {west.code}
    assert _codes(people.zj) == set()
    transition(people.cg, west.pk, "return", reason="非本部门")
    assert _codes(people.cg) == set()


def test_handlers_stay_inside_their_subtree(people, tree, flow, departments):
    case = flow.new_case(State.DISPATCHED)  # CG lead
    street_handler = make_user("h_cg_street", Role.HANDLER, tree["370102002"],
                               departments["CG"])
    assert _codes(street_handler) == set()  # same department, another street's node
    assert _codes(people.cg) == {case.code}


def test_inactive_or_anonymous_users_see_nothing(people, three):
    people.staff.is_active = False
    assert _codes(people.staff) == set()
    from django.contrib.auth.models import AnonymousUser

    assert _codes(AnonymousUser()) == set()


def test_models_without_a_hook_keep_the_subtree_rule(people, tree):
    # Regions have no refinement: a resident sees her node's subtree as before.
    codes = set(visible_to(Region, people.resident).values_list("code", flat=True))
    assert codes == {people.resident.region.code}
    # … while for cases the hook replaces that rule with "what she reported".
    assert scope_q(people.resident, Case) != scope_q(people.resident, Region)


def test_guessed_codes_from_another_community_are_404_via_api(people, three):
    west, east, _ = three
    c = Client()
    c.force_login(people.other_staff)
    assert c.get(f"/api/v1/cases/{east.code}").status_code == 200
    assert c.get(f"/api/v1/cases/{west.code}").status_code == 404
    assert c.get("/api/v1/cases/WG20990101999999").status_code == 404
    # The photos and the actions of a hidden case are just as missing.
    assert c.get(f"/api/v1/cases/{west.code}/photos/1").status_code == 404
    resp = c.post(f"/api/v1/cases/{west.code}/actions/register", {},
                  content_type="application/json")
    assert resp.status_code == 404
    with pytest.raises(Http404):
        get_visible_or_404(Case, people.other_staff, code=west.code)


def test_a_case_filed_outside_grids_is_seen_where_it_was_filed(people, make_case):
    case = make_case(people.staff, lon=OUTSIDE[0], lat=OUTSIDE[1])
    assert case.region.code == people.staff.region.code
    assert _codes(people.staff) == {case.code}
    assert _codes(people.grid_worker) == set()  # filed at the community, not in the grid
