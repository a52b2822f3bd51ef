"""`make demo`: a failover on emulated Azure, shown as it happens (never deployed)."""
