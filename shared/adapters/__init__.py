"""Adapters: the world (Resource Manager, Table and Queue Storage, sockets, the caller's permissions).

Each translates its vendor's errors into shared.errors, with their retry meaning."""
