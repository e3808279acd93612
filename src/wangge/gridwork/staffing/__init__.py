"""Workload and staffing — 工作量与网格员配置: figures, the staffing model, split/merge."""
