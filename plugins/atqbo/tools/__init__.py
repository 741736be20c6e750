"""The operator tools: manual DAGs (``schedule=None``) that do what the vendor apps' Tools section
did, each a thin wiring of the syncs' own code (see the README, "Tools")."""
