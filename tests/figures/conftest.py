from tests.cases.conftest import (  # noqa: F401 — the case fixtures, shared
    categories,
    departments,
    flow,
    make_case,
    media,
    people,
    upload,
)
