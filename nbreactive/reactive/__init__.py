"""Layer 6: reactivity — read sets, invalidation on commit, live queries, the result cache."""

from nbreactive.reactive.engine import CommitInfo, Reactor
from nbreactive.reactive.inspector import Inspection
from nbreactive.reactive.readset import ReadSet
from nbreactive.reactive.subscription import Subscription

__all__ = ["CommitInfo", "Inspection", "ReadSet", "Reactor", "Subscription"]
