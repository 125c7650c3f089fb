"""Entry point for the plain Dramatiq CLI: ``dramatiq workers.entry`` (same as ``helpdesk worker``).

Building at import is what the Dramatiq CLI expects of the module it is given; nothing else
imports this module.
"""

from __future__ import annotations

import dramatiq

from helpdesk.app.runtime import build
from workers.actors import Tasks, make_broker

app = build()
broker = make_broker(app.settings)
dramatiq.set_broker(broker)
tasks = Tasks(app, broker, inbound_via_broker=True)
tasks.renderer.check()
