"""The shared fixtures live in tests/fixtures.py. The domain tests take none of them: they need no
database, broker or socket (the one autouse check there acts only on tests that use ``app``)."""

pytest_plugins = ["tests.fixtures"]
