"""The terminal UI (Textual). Only this package imports textual; it calls the `Ledger` facade and read-only
queries, and holds no business rule of its own."""
