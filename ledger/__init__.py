"""专项再贷款再贴现台账 — the relending & rediscount programme ledger."""

__version__ = "0.1.0"
