"""Work behind the edge: turning stored mail into tickets and delivering the outbox (Dramatiq)."""
