"""Agent commands, one module each (Mailman's ``commands/``): how its value is read, what it
checks, the effect it has and its line in ``#help``. ``registry`` lists them, ``grammar`` reads
command lines with it, ``plan`` checks a mail's commands together, and ``effects`` are the
changes as data, which ``helpdesk.app`` carries out."""
