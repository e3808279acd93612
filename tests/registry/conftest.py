"""Registry fixtures (``tests/registry_fixtures.py``) for the tests in this folder."""

from tests.registry_fixtures import (  # noqa: F401 — fixtures
    civil_affairs,
    correction_tag,
    district,
    elderly_list,
    elderly_tag,
    grid_worker,
    handler,
    hukou,
    key_file,
    other_grid_worker,
    own_var_dir,
    police,
    police_handler,
    police_steward,
    steward,
)
