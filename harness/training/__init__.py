"""One run, or K runs as one stacked model: model, optimiser, loop, evaluation, telemetry."""
