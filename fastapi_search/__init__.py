"""The FastAPI parts search: the same contract as Django's, in plain SQL over asyncpg."""
