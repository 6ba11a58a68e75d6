"""``fishshop demo``: the scenarios, the local servers, the live shop, its views."""
