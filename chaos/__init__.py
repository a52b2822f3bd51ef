"""`make chaos`: the contract's guarantees as repeatable experiments that print their figures (never deployed)."""
