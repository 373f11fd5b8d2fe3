"""Ways a run starts other than a click on Run: from a Slack message (and, later, others)."""
