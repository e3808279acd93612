"""Record linkage — 数据融合: one person behind the records of many departments.

Departments each keep their own list of people (公安户籍, 民政, 卫健, 人社 …). This app finds
which records describe the same person with a probabilistic model (Splink on DuckDB, offline),
so the registry can keep one master record per person with field-level provenance.

Parts: ``config`` declares the model (features, blocking, comparisons, thresholds, merge
rules) as data; ``prepare`` normalises each department's spelling; ``engine.link`` trains,
scores and clusters; ``decisions`` holds a steward's merge / keep-apart decisions and the
clustering that honours them; ``synthetic`` generates populations with known truth for tests
and ``bench/linkage.py``; ``evaluate`` scores clusters against that truth.

How the registry is meant to use it (the registry owns the tables; this app owns none):

1. Collect the current source records of every department as rows with the standard fields
   (``prepare.STANDARD_FIELDS``; ``record_id`` unique across sources, e.g. ``<source>:<key>``)
   — decrypted in memory only, never written out by the engine.
2. ``result = link(rows, decisions=active_decisions)``; ``result.clusters`` maps each record to
   a cluster whose key is its smallest ``record_id``. Map clusters to existing master persons
   by overlap (a cluster that contains a master's records keeps that master); new clusters get
   new masters.
3. ``result.review`` is the steward's queue: uncertain pairs, and likely pairs held back by the
   merge rules (``held_back`` says why), each with the level every field agreed at.
4. A steward's merge or un-merge (keep apart) is stored by the registry as a decision row
   (pair, verdict, who, when, reason, revoked_at) and written to the audit trail; it is then
   applied with ``recluster(result, active_decisions)`` without scoring again. Revoking a
   decision and clustering again restores the model's answer: both operations are reversible.
"""
