"""Services: plain functions over a SQLAlchemy connection. The faces call these through ledger.facade."""
