"""The hot cabinet: portions of cod and chips kept hot in Redis, one cabinet per shop.

Nothing is imported here, so the pure modules load without the Redis client. How it
works: docs/design/workers.md.
"""
