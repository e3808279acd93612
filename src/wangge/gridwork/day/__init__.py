"""The grid worker's day — 网格员工作台: today's work on a phone, patrols, offline sync."""
