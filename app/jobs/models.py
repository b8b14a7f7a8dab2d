"""Jobs, their uploaded files, API tokens and supplier feeds. Table names: ``job``, ``job_upload_chunk``,
``api_token``, ``supplier_feed``."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

# Job.name's column width; the API refuses longer names before they reach the database.
JOB_NAME_MAX_CHARS = 200
# Job.error's size, as UTF-8 JSON: the runner cuts an error to fit when it writes it (jobs.runner.job_error_bounded).
# A rejected file lists up to 100 bad lines, and a line may be 1 MiB long: without a limit, one error could
# hold 100 MiB, loaded by every read of the job and by the admin.
JOB_ERROR_MAX_BYTES = 16 * 1024


class ApiToken(models.Model):
    """A bearer token for the write endpoints. Only its SHA-256 digest is stored: the token is 32 random bytes,
    so a fast hash is enough (no password stretching needed), and the token itself is shown once, at creation."""

    name = models.CharField(max_length=100, unique=True)
    # The token's first characters, to tell tokens apart in the admin without storing the secret.
    prefix = models.CharField(max_length=12)
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "api_token"
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name


class SupplierFeed(models.Model):
    """A supplier's price feed, pulled by the `supplier_sync` job (Celery beat schedules it)."""

    name = models.CharField(max_length=100, unique=True)
    url = models.URLField(max_length=500)
    is_enabled = models.BooleanField(default=True)
    timeout_seconds = models.PositiveSmallIntegerField(default=10)
    created_at = models.DateTimeField(auto_now_add=True)
    # What the last sync of this feed did: "done" or "failed", when, and why it failed.
    last_status = models.CharField(max_length=10, blank=True)
    last_synced_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        db_table = "supplier_feed"
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name


class Job(models.Model):
    class Kind(models.TextChoices):
        SEED = "seed"
        IMPORT = "import"
        SUPPLIER_SYNC = "supplier_sync"

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    name = models.CharField(max_length=JOB_NAME_MAX_CHARS)
    params = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    # 0..100
    progress = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Runs started, counting re-runs after a lost worker; bounded by JOBS_MAX_ATTEMPTS.
    attempts = models.PositiveSmallIntegerField(default=0)
    # Set when done; null until then.
    result = models.JSONField(null=True, blank=True)
    # Set when failed: {"message": ..., and details such as "lines": [{"line": N, "reason": ...}]}; at most
    # JOB_ERROR_MAX_BYTES, with "truncated": true when the runner had to cut it.
    error = models.JSONField(null=True, blank=True)
    # Where a re-run resumes (for example the seed batches already committed).
    checkpoint = models.JSONField(null=True, blank=True)
    # Renewed by the running task; a running job whose heartbeat is old lost its worker. For a queued job: when it
    # was last handed to the broker, so the reaper sends it again only if no worker took it (jobs/services.py).
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(ApiToken, null=True, blank=True, on_delete=models.SET_NULL, related_name="jobs")

    class Meta:
        db_table = "job"
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["created_at", "id"], name="job_created_idx"),
            models.Index(fields=["status", "created_at"], name="job_status_created_idx"),
        ]
        constraints = [
            # A supplier sync never runs twice at the same time: at most one queued or running.
            models.UniqueConstraint(
                fields=["kind"],
                condition=Q(kind="supplier_sync", status__in=["queued", "running"]),
                name="job_one_active_supplier_sync",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk}: {self.name}"


class JobUploadChunk(models.Model):
    """An uploaded file, in order, in PostgreSQL: the worker that imports it may run on another node, so the
    file cannot sit on the web container's disk. Written and read a chunk at a time, never whole in memory."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="upload_chunks")
    seq = models.PositiveIntegerField()
    data = models.BinaryField()

    class Meta:
        db_table = "job_upload_chunk"
        constraints = [models.UniqueConstraint(fields=["job", "seq"], name="job_upload_chunk_seq_uniq")]
