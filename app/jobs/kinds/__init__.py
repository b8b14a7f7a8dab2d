"""What each kind of job does, given its claimed run (jobs/runner.py); each returns the job's result."""
