"""API token commands: create_api_token, revoke_api_token, list_api_tokens, ensure_api_token."""
