"""Live numbers from the event log: active users, today's orders and revenue, events per minute.

``tail`` reads the event log without consuming it (no offset committed, no consumer group), so
the loader and automation keep their own positions; ``metrics`` folds events into per-tenant
numbers; ``hub`` runs one tailing task per API process and wakes each tenant's WebSockets.
"""
