"""AWS and queue adapters. Each is created from Settings at startup and closed at shutdown."""
