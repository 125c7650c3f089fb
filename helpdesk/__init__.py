"""The helpdesk core: the pure domain and the application services over storage."""
