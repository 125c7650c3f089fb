"""Work behind the edge: turning stored mail into tickets, delivering the outbox, firing timers."""
