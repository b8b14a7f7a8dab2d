"""The commands, one module each, mirroring the bash scripts they replace (scripts/<name>.sh)."""
