from __future__ import annotations

import pytest

from tests.factories import build_tree, make_user
from wangge.accounts.roles import Role


@pytest.fixture
def tree(db):
    return build_tree()


@pytest.fixture
def community_staff(tree):
    return make_user("west_staff", Role.STAFF, tree["370102001001"])


@pytest.fixture
def other_community_staff(tree):
    return make_user("east_staff", Role.STAFF, tree["370102001002"])


@pytest.fixture
def admin_user(db):
    user = make_user("root_admin", Role.ADMIN, None)
    user.is_staff = True
    user.is_superuser = True
    user.save()
    return user


@pytest.fixture
def auditor(db):
    return make_user("auditor1", Role.AUDITOR, None)


def _is_transactional(request) -> bool:
    marker = request.node.get_closest_marker("django_db")
    return bool(
        (marker and marker.kwargs.get("transaction"))
        or {"transactional_db", "live_server"} & set(request.fixturenames)
    )


@pytest.fixture(autouse=True)
def _audit_guard(request):
    """Keep the append-only triggers in place during every database test.

    Transactional tests end with a flush that empties every table; the guard would refuse
    that for the audit table, so it is lifted just for the flush and restored next test.
    """
    uses_db = request.node.get_closest_marker("django_db") or {
        "db", "transactional_db", "live_server"} & set(request.fixturenames)
    if not uses_db:
        yield
        return
    from wangge.audit.guard import install_guard, remove_guard

    transactional = _is_transactional(request)
    request.getfixturevalue("transactional_db" if transactional else "db")
    install_guard()
    yield
    if transactional:
        remove_guard()


@pytest.fixture(autouse=True)
def _fresh_work_calendar():
    """Day overrides a test creates are rolled back; the calendar's cache must forget them."""
    from wangge.workcalendar.services import clear_cache

    clear_cache()
    yield
    clear_cache()


@pytest.fixture(autouse=True)
def _fresh_process_caches():
    """Each test's rows are its own: per-process caches that trust themselves for a while
    (the locate index for a second, the figures' category tops for 30 s) must not carry one
    test's rolled-back tree or categories into the next, where ids are reused."""
    from wangge.figures.recorder import clear_cache as clear_tops
    from wangge.regions.locate import clear_cache as clear_index

    clear_index()
    clear_tops()
    yield
    clear_index()
    clear_tops()
