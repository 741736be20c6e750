"""The operator tools: manual DAGs (``schedule=None``) that do what the vendor apps' Tools section
did, and the daily reconciliation (see the README, "Tools"). A tool wraps at most one flow (it
imports that ``atqbo.sync`` package and the shared layer, never another tool); a tool of more than
one concept is a package whose ``__init__`` tells its story and maps its modules."""
