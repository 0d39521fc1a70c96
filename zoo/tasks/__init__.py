"""Tasks, one module each: what a generator maps from and to, and the behaviour that follows from it (preview
grid, evaluation rows and baselines, card text and headline, export signatures, demo handlers).

  base              the Task object, `register_task`, `task_for(recipe)`, `EvaluationRequest`
  sampling          z → image (DCGAN, WGAN-GP, LSGAN, CGAN, StyleGAN-lite)
  translation       unpaired image ↔ image between two domains (CycleGAN)
  super_resolution  low → high resolution at any size (SRGAN)

A new task is one module with a `@register_task` Task subclass, imported once (here for the built-in ones);
its recipes set `task = "<its name>"`.
"""
from zoo.tasks import sampling, super_resolution, translation  # noqa: F401  registers the built-in tasks
from zoo.tasks.base import TASKS, EvaluationRequest, Task, get_task, register_task, task_for  # noqa: F401
