"""The hot cabinet: portions of cod and chips kept hot in Redis, one cabinet per shop.

A preparer serves an order from the cabinet when every portion it needs is there;
otherwise the order goes to the cook, who fries what it needs, sets that aside for
it, and fries a standard batch of cod or chips into the cabinet when either runs
low. Plaice is fried to order and never stocked.

An order never starves: one that finds the cabinet short (because other preparers
took the last portions a moment earlier, or the day has just begun) is not retried
against the cabinet, it goes to the cook, whose frying for it does not depend on
the cabinet at all. So every order is served, however hard preparers race.

Modules: ``decisions`` (the rules, pure), ``keys`` and ``scripts`` (the Redis key
layout and the Lua that applies the rules atomically, pure text), ``connection``
(how to reach Redis), ``errors``, ``store`` (``HotCabinet``, the one place that
talks to Redis) and ``server`` (``EmbeddedRedis``, a local redis-server).

Nothing is imported here, so the pure modules load without the Redis client.
"""
