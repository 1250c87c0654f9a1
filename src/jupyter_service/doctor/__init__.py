"""`jupyter-service doctor`: the README's troubleshooting as checks, each with its fix.

`checks` and `kernels` find things out and return `CheckResult`s; `report` renders them.
"""
