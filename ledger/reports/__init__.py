"""Month-end PDF reports: one per tool and a summary, reproducible byte for byte and recorded in report_record.

figures (SQL) → layout (platypus story from templates/pdf/*) → render (document, header, footer, page X of Y)
→ registry (sha256 + data fingerprint under an audit record); batch ties them together for `ledger report monthly`.
"""
