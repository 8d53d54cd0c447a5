from anyseek.engine.vectors.base import VectorIndex
from anyseek.engine.vectors.factory import backend_class, choose_kind, create_index

__all__ = ["VectorIndex", "backend_class", "choose_kind", "create_index"]
