"""The pure domain: vocabulary, mail parsing, tokens, threading, trust, commands, the state
machine. The standard library and mail-parsing libraries only: no database, broker or socket."""
