"""Shared fixtures for registry, catalogue and registry browser tests: two departments,
their stewards and handlers, a grid worker per grid of the west community, two datasets
and a care tag."""

from __future__ import annotations

import pytest

from tests.factories import make_user
from tests.registry_factories import make_dataset, make_department, make_tag
from wangge.accounts.roles import Role
from wangge.catalog.models import SharingClass
from wangge.privacy import blind


@pytest.fixture(autouse=True)
def key_file(settings, tmp_path, monkeypatch):
    """Each test its own field key file (standard suite)."""
    monkeypatch.delenv("WANGGE_FIELD_KEYRING", raising=False)
    settings.FIELD_KEY_FILE = tmp_path / "field.key"
    settings.CRYPTO_SUITE = "standard"
    blind.clear_cache()
    yield settings.FIELD_KEY_FILE
    blind.clear_cache()


@pytest.fixture(autouse=True)
def own_var_dir(settings, tmp_path):
    """Each test its own VAR_DIR: import runs write files named by their id, and two xdist
    workers both number their first run 1."""
    settings.VAR_DIR = tmp_path / "var"
    return settings.VAR_DIR


@pytest.fixture
def district(tree):
    return tree["370102"]


@pytest.fixture
def civil_affairs(district):
    """民政局: owns the care lists."""
    return make_department("mz", "历下区民政局", district)


@pytest.fixture
def police(district):
    """公安分局: owns household registration."""
    return make_department("ga", "历下公安分局", district)


@pytest.fixture
def steward(district, civil_affairs):
    return make_user("mz_steward", Role.STEWARD, district, civil_affairs)


@pytest.fixture
def police_steward(district, police):
    return make_user("ga_steward", Role.STEWARD, district, police)


@pytest.fixture
def handler(district, civil_affairs):
    return make_user("mz_handler", Role.HANDLER, district, civil_affairs)


@pytest.fixture
def police_handler(district, police):
    return make_user("ga_handler", Role.HANDLER, district, police)


@pytest.fixture
def grid_worker(tree):
    return make_user("gw_west1", Role.GRID_WORKER, tree["370102001001001"])


@pytest.fixture
def other_grid_worker(tree):
    return make_user("gw_west2", Role.GRID_WORKER, tree["370102001001002"])


@pytest.fixture
def elderly_tag(civil_affairs):
    return make_tag("elderly_alone", "独居老人", civil_affairs,
                    holders=["grid_worker", "staff"], purpose="定期探访、关爱服务")


@pytest.fixture
def correction_tag(police):
    return make_tag("community_correction", "社区矫正", police, holders=[],
                    category="key", purpose="社区矫正监管")


@pytest.fixture
def elderly_list(civil_affairs, elderly_tag):
    """民政局's 独居老人名单: sent down to grids, tags its persons."""
    return make_dataset("mz-elderly-alone", civil_affairs,
                        ("name", "id_number", "phone", "address", "grid_code"),
                        name="独居老人名单", flows_down=True, tag=elderly_tag, trust=60,
                        sharing_class=SharingClass.CONDITIONAL)


@pytest.fixture
def hukou(police):
    """公安's household register: the most trusted source, shared on conditions."""
    return make_dataset("ga-hukou", police,
                        ("name", "id_number", "birth_date", "sex", "address", "phone",
                         "household_no", "grid_code"),
                        name="户籍人口", trust=90, sharing_class=SharingClass.CONDITIONAL)
