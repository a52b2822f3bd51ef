"""`make bench`: measures nva-failover against the physical limit and the serial approach (never deployed)."""
