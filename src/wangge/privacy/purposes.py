"""Why a protected value may be revealed — 查看目的, declared once as data.

A reveal names one of these purposes and may add a free-text detail (the case number, the
visit, the payment round); "other" must say what. The purpose goes to the audit record, so
the data steward and the auditor can ask afterwards whether it was a good reason.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

DETAIL_MAX = 200


@dataclass(frozen=True)
class Purpose:
    code: str
    label: str | Promise
    needs_detail: bool = False


PURPOSES: dict[str, Purpose] = {p.code: p for p in (
    Purpose("visit", _("home visit and verification")),  # 走访核实
    Purpose("assistance", _("assistance payment")),  # 救助发放
    Purpose("case", _("case handling")),  # 案件办理
    Purpose("contact", _("contacting the person")),  # 联系本人
    Purpose("emergency", _("emergency response")),  # 应急处置
    Purpose("data_check", _("data verification")),  # 数据核查 (the steward fixing a record)
    Purpose("own_request", _("the person's own request")),  # 本人申请
    Purpose("other", _("other (say what)"), needs_detail=True),  # 其他
)}
