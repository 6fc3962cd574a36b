"""The command line: `ledger [--db DB] [--user NAME] COMMAND`. One module per command group registers itself."""
