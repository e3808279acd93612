"""Duplicate suggestion at intake (重复件提示): near, recent, same category, similar text."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.cases.test_escalation import make_case, make_category
from tests.factories import make_user
from wangge.accounts.roles import Role
from wangge.cases.duplicates import similarity, suggest_duplicates
from wangge.cases.models import Case
from wangge.cases.workflow import State
from wangge.regions.geometry import distance_m

pytestmark = pytest.mark.django_db

GRID = "370102001001001"
LON, LAT = 117.010, 36.605
# Metres → degrees of longitude at this latitude.
PER_M_LON = 1 / (111_320 * 0.8028)


def _near(metres_east: float) -> dict:
    return {"lon": LON + metres_east * PER_M_LON, "lat": LAT}


def _new(tree, title, description="", metres_east=0.0, state=State.REPORTED, **kw) -> Case:
    return make_case(tree[GRID], title=title, description=description, state=state,
                     **_near(metres_east), **kw)


def _aged(case: Case, hours: float) -> Case:
    Case.objects.filter(pk=case.pk).update(created_at=timezone.now() - timedelta(hours=hours))
    case.refresh_from_db()
    return case


def test_text_similarity_is_character_bigram_jaccard():
    assert similarity("井盖丢失", "井盖丢失") == 1.0
    assert similarity("井盖丢失", "路灯不亮") == 0.0
    # Punctuation, spaces and full-width forms say nothing about the matter.
    assert similarity("井盖 丢失！", "井盖丢失") == 1.0
    assert similarity("ＡＢＣ", "abc") == 1.0
    # 井盖 盖丢 丢失 vs 丢失 失井 井盖: two shared of four.
    assert similarity("井盖丢失", "丢失井盖") == pytest.approx(2 / 4)
    assert similarity("", "井盖") == 0.0


def test_distance_is_metres_on_the_ground():
    assert distance_m(LON, LAT, **{"lon2": LON, "lat2": LAT + 0.001}) == pytest.approx(111.2,
                                                                                     abs=0.5)
    assert distance_m(LON, LAT, _near(50)["lon"], LAT) == pytest.approx(50, abs=0.5)


def test_a_near_recent_similar_report_is_suggested(tree):
    first = _new(tree, "小区门口井盖丢失", "解放路12号小区北门井盖不见了", metres_east=40)
    second = _new(tree, "井盖丢失", "解放路12号北门口井盖丢失，很危险")
    (found,) = suggest_duplicates(second)
    assert found == first
    assert 0.3 <= found.duplicate_similarity <= 1
    assert found.duplicate_distance_m == pytest.approx(40, abs=1)
    # And the other way round.
    assert suggest_duplicates(first) == [second]


def test_far_other_category_old_closed_or_dissimilar_are_not(tree):
    other_category = make_category("02", "街面秩序")
    text = ("小区门口井盖丢失", "解放路12号小区北门井盖不见了")
    _new(tree, *text, metres_east=150)  # too far
    _new(tree, *text, category=other_category)  # another category
    _aged(_new(tree, *text), hours=80)  # older than the window
    _new(tree, *text, state=State.CLOSED)  # already closed
    _new(tree, "路灯不亮", "解放路12号小区北门路灯晚上不亮")  # another matter
    case = _new(tree, "井盖丢失", "解放路12号北门口井盖丢失，很危险")
    assert suggest_duplicates(case) == []


def test_window_distance_and_threshold_are_configurable(tree, settings):
    near_old = _aged(_new(tree, "井盖丢失", metres_east=150), hours=80)
    case = _new(tree, "井盖丢失")
    assert suggest_duplicates(case) == []
    assert suggest_duplicates(case, metres=200, hours=100) == [near_old]
    settings.DUPLICATE_METRES = 200
    settings.DUPLICATE_HOURS = 100
    assert suggest_duplicates(case) == [near_old]
    loose = _new(tree, "井盖丢了一个", metres_east=10)  # 井盖 盖丢: 2 of 6 bigrams shared
    settings.DUPLICATE_MIN_SIMILARITY = 0.9
    assert loose not in suggest_duplicates(case)
    settings.DUPLICATE_MIN_SIMILARITY = 0.3
    assert loose in suggest_duplicates(case)


def test_most_similar_first_then_nearest_and_limited(tree):
    same_far = _new(tree, "井盖丢失", "北门", metres_east=90)
    same_near = _new(tree, "井盖丢失", "北门", metres_east=20)
    partly = _new(tree, "井盖丢失北门口", "有人受伤", metres_east=5)
    case = _new(tree, "井盖丢失", "北门")
    assert suggest_duplicates(case) == [same_near, same_far, partly]
    assert suggest_duplicates(case, limit=1) == [same_near]


def test_a_case_without_a_point_gets_no_suggestions(tree):
    _new(tree, "井盖丢失")
    case = make_case(tree[GRID], title="井盖丢失", state=State.REPORTED)
    assert suggest_duplicates(case) == []


def test_suggestions_stay_within_what_the_dispatcher_sees(tree):
    # Two reports either side of the line between the west and east communities.
    east = make_case(tree["370102001002001"], title="井盖丢失", state=State.REPORTED,
                     lon=117.0202, lat=LAT)
    west = make_case(tree[GRID], title="井盖丢失", state=State.REPORTED, lon=117.0198, lat=LAT)
    west_staff = make_user("w", Role.STAFF, tree["370102001001"])
    street_staff = make_user("s", Role.STAFF, tree["370102001"])
    assert suggest_duplicates(west, user=west_staff) == []
    assert suggest_duplicates(west, user=street_staff) == [east]


def test_one_query(tree, django_assert_num_queries):
    for i in range(5):
        _new(tree, "井盖丢失", metres_east=10 * i)
    case = _new(tree, "井盖丢失")
    with django_assert_num_queries(1):
        assert len(suggest_duplicates(case)) == 5


def test_an_unsaved_report_can_be_checked_before_it_is_written(tree):
    existing = _new(tree, "井盖丢失", metres_east=30)
    draft = Case(title="井盖丢失", category=existing.category, **_near(0))
    assert suggest_duplicates(draft) == [existing]
