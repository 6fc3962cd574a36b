"""Pure domain rules: no database, no faces. Everything above may import this; it imports nothing above."""
