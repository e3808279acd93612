from __future__ import annotations

from django.core.management import call_command

from wangge.cases.diagram import mermaid
from wangge.cases.workflow import TRANSITIONS


def test_every_transition_is_an_arrow_in_the_diagram():
    text = mermaid()
    for t in TRANSITIONS:
        for source in t.sources:
            assert f"{source} --> {t.target or source}: {t.action} (" in text


def test_docs_diagram_is_generated_from_the_table():
    # Fails when the table changes and docs/workflow.md was not regenerated.
    call_command("workflow_diagram", "--check")
