"""Pure decisions: plain functions of records and values, no docker, no clock, no files (each module has its
tests under tests/scripts/control_plane/decisions/)."""
