"""Fixtures of the deployment tests: the real SMTP server of the notification tests, shared."""
from tests.repository.test_notifications import smtp  # noqa: F401 (a fixture, used by name)
