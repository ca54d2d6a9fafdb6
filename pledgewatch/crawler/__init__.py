"""The crawl pipeline: settings, items, extraction, pledges, alerts and the CLI."""
