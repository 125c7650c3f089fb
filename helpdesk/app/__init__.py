"""Application services over storage: the unit of work, tickets, notifications, the chain."""
