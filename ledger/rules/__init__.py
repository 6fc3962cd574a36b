"""Programme rules as pure-ish functions of the ledger's data (Beancount's plugin shape): data in, figures or
findings out, no writes. `share` is the ≥50% key-area rule; `checks` runs every rule and returns findings.

This package sits beside ledger.services (the layers contract keeps them independent), so it reads the tables
directly with SQL aggregates and never imports a service.
"""
