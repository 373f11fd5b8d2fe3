"""Block Kit builders: pure functions from domain objects to messages, modals and Home."""
