"""Visits to key-care persons — 走访: intervals from the tag, due and overdue, outcomes."""
