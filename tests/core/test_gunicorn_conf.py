"""The production gunicorn settings: where and how many, and a worker warm before it serves."""

from __future__ import annotations

import importlib
from types import SimpleNamespace

import pytest

from wangge.regions import locate
from wangge.regions.locate import clear_cache, current_index
from wangge.regions.models import Level, Region


def test_bind_and_workers_come_from_the_environment(monkeypatch):
    from wangge.config import gunicorn as conf

    monkeypatch.setenv("WANGGE_BIND", "0.0.0.0:9000")
    monkeypatch.setenv("WANGGE_WEB_WORKERS", "3")
    try:
        reloaded = importlib.reload(conf)
        assert (reloaded.bind, reloaded.workers, reloaded.worker_class) == (
            "0.0.0.0:9000", 3, "sync")
        assert reloaded.accesslog is None
    finally:
        monkeypatch.delenv("WANGGE_BIND")
        monkeypatch.delenv("WANGGE_WEB_WORKERS")
        reloaded = importlib.reload(conf)
    assert reloaded.bind == "127.0.0.1:8000" and reloaded.workers >= 1


@pytest.mark.django_db
def test_a_worker_is_warm_before_its_first_request(tree, capsys):
    from wangge.config import gunicorn as conf

    clear_cache()
    conf.post_worker_init(SimpleNamespace(pid=4242))
    said = capsys.readouterr().err
    grids = Region.objects.filter(level=Level.GRID, geometry__isnull=False).count()
    assert grids > 0
    assert f"{conf.WARM_LINE} (pid 4242, {grids} grids indexed" in said
    # The grid index is built already: the first located case does not pay for it.
    assert locate._cached is not None and len(locate._cached[1]) == grids
    assert current_index() is locate._cached[1]
