"""Registry fixtures (``tests/registry_fixtures.py``) for the grid matters tests."""

import pytest

from tests.factories import make_user
from tests.registry_fixtures import (  # noqa: F401 — fixtures
    civil_affairs,
    district,
    handler,
    key_file,
    own_var_dir,
    police,
    police_handler,
    steward,
)
from wangge.accounts.roles import Role


@pytest.fixture
def reviewer(tree):
    """The district's command centre: reviews its grid matters."""
    return make_user("lx_command", Role.COMMAND, tree["370102"])


@pytest.fixture
def city_command(tree):
    return make_user("jn_command", Role.COMMAND, tree["3701"])


@pytest.fixture
def street_command(tree):
    """A command account below the district: out of the district's list."""
    return make_user("jfl_command", Role.COMMAND, tree["370102001"])
