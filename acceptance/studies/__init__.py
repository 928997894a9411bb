"""Studies: measurements that no lab requirement needs, run on request (``tox -e studies``).

Each study reuses the labs' trained models where it can, adds its own runs, and writes a section of
``reports/studies.html``: findings with their numbers, never pass or fail.
"""
