"""nva-failover's command-line tool: the HTTP API for people and scripts, and offline validate and plan."""
