"""Edges: a trigger or request in, a contract answer out.

runtime, api, views and console answer the contract's shapes; settings parses the settings once and wires the engine (the
composition root); engine is the facade, one run per public method (its run steps are to move to control/)."""
