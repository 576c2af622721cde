"""The catalog service (FastAPI): REST, STAC and the dashboard. Needs the catalog extra."""

from zarrlake.catalog.api.app import create_app
from zarrlake.catalog.api.settings import ServiceSettings

__all__ = ["ServiceSettings", "create_app"]
