"""Acting on what the metrics and segments found: chains, the outbox and the channels messages go out on."""
