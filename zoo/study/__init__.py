"""Loss studies (`gan-zoo study`): Lucic et al. 2018's fair comparison as a command.

  design     what a study is: its config, search space, the runs it plans and where they live
  runner     running them in child processes, resumably, and their final metrics
  analysis   the report: score distributions, expected best score vs budget, pairwise differences
"""
from zoo._lazy import lazy_exports

__getattr__ = lazy_exports(__name__, {"StudyConfig": "design", "study": "runner"})
