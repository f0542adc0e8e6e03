"""What the cells are trained on: synthetic memory problems and real sequence data.

Each task will state its chance level; the task registry arrives with the tasks issue.
"""
