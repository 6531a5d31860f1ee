"""Model registry: versions, metrics, drift and the active model per tenant and kind.

See :mod:`ml_assets.registry.store` for the promotion rule and :mod:`ml_assets.registry.drift`
for the population stability index.
"""

from ml_assets.registry.drift import feature_drift, population_stability_index
from ml_assets.registry.store import COMPARISON, Dialect, ModelRegistry, ModelVersion

__all__ = [
    "COMPARISON",
    "Dialect",
    "ModelRegistry",
    "ModelVersion",
    "feature_drift",
    "population_stability_index",
]
