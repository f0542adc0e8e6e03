"""What runs, where, and what it records: the command line, training, telemetry, storage."""
