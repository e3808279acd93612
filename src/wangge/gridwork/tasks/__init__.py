"""Tasks, recurring inspections and campaigns sent to grids — 任务、巡检、拉网式排查."""
