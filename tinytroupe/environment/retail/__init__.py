"""A retail store on a spatial world: aisles and shelves with products, customers who walk, look,
pick and pay, and what the store measures (purchases, dwell time per zone, a heat map).

Public names: TinyRetailStore, StoreLayout, RETAIL_ACTIONS.
"""

from tinytroupe.environment.retail.layout import StoreLayout
from tinytroupe.environment.retail.store import RETAIL_ACTIONS, TinyRetailStore

__all__ = ["RETAIL_ACTIONS", "StoreLayout", "TinyRetailStore"]
