"""Figures of the frames and analyses (matplotlib and seaborn, headless). Imports the tables
and analysis rooms."""
