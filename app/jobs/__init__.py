"""Background jobs: the Job record, API tokens, supplier feeds, the Celery tasks and the jobs API."""
