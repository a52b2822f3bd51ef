"""Control: one run, step by step, I/O only through the ports (ports.py).

The hand-off to the queue-triggered executor, leases judged by local observation, completion exactly once, readiness and
the permissions gate."""
