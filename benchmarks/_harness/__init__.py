"""What the benchmarks share, so that each benchmark file holds only its setups and its cases.

- ``run``: the header every benchmark prints first (machine, versions, load), the footer, the summary lines
  and the command-line switches they share (``--quick``, ``--only``);
- ``measure``: the loops that time the contenders (fixed counts, or calibrated samples in rotating rounds),
  medians, bests, per-round ratios and differences, and the rows that print them;
- ``http``: requests sent straight into an ASGI or a WSGI callable, in process (no server, no sockets);
- ``redis``: a redis-server of the run's own, connections that count their round trips, Redis's own
  command counts;
- ``redis_time``: Redis's own time per operation (INFO commandstats around each batch a runner runs);
- ``sql``: what SQLite and PostgreSQL connections send, counted under any ORM (statements by their first
  word; on PostgreSQL, round trips from libpq's protocol trace).
"""
