"""Domain: pure values and decisions, the standard library and pydantic only: no Azure SDK, no HTTP, no adapter."""
