"""Local emulator of the Autotask PSA REST API and the QuickBooks Online Accounting API.

See ``sandbox/README.md`` for what it emulates and where it had to guess.
"""

from sandbox.core import SeedError
from sandbox.server import Sandbox

__all__ = ["Sandbox", "SeedError"]
