"""Optuna's storage as the record of every run: open it, queue a grid, run workers that
take, train and tell, read the finished runs back; liveness, kept models."""
