"""The headless Photolens engine: indexing, storage, search and models. Never imports Qt."""
from .catalog import Catalog
from .errors import (ImageError, LibraryError, ModelError, ModelNotFoundError, PhotolensError, QueryError)
from .jobs import Control, Progress
from .query import Query, parse_query
from .search import Result

__all__ = ["Catalog", "Control", "Progress", "Result", "Query", "parse_query", "PhotolensError", "ImageError",
           "LibraryError", "ModelError", "ModelNotFoundError", "QueryError"]
