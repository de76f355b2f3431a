"""Kept at this import path for scripts that use it: the Ray executor now lives in
:mod:`tinytroupe.environment.distributed.ray_actors`; replace or patch names there."""

from tinytroupe.environment.distributed.ray_actors import INSTALL_HINT, RayExecutor, import_ray

__all__ = ["INSTALL_HINT", "RayExecutor", "import_ray"]
