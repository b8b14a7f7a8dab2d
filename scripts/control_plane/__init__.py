"""The stack's control plane: deploy, update, roll back, blue-green, edge configuration, status and the
admin account, as a small standard-library package (README.md beside this file: the layout).

docker.py is the one door to docker; decisions/ holds the pure decisions; commands/ one module per command;
waits.py the polling loops; event_log.py and verdict.py what a run leaves behind; cli.py the command line.
"""
