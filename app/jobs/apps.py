from django.apps import AppConfig


class JobsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "jobs"
    verbose_name = "Background jobs"

    def ready(self) -> None:
        # Load the project's Celery app in every Django process, the web one included: a task sent from a
        # request (job_run.delay in jobs.services.job_enqueue) goes through the current app, and without this
        # that is Celery's default app, whose broker is amqp://localhost, not the Redis of the settings.
        from config import celery  # noqa: F401, PLC0415
