"""Default data of the closed loop — 默认数据: categories and deadline rules, as JSON files.

``categories.json`` and ``deadlines.json`` ship with the platform; ``load_case_defaults``
puts them into the database (``wangge load-case-defaults``, the demo, a data migration).
"""

from .loader import DefaultsReport, load_case_defaults

__all__ = ["DefaultsReport", "load_case_defaults"]
