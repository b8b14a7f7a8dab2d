from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "catalog"
    verbose_name = "Parts catalog"

    def ready(self) -> None:
        # Registers the ``any_of`` lookup the search's groups step uses (catalog/lookups.py).
        from catalog import lookups  # noqa: F401, PLC0415
