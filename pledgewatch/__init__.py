"""pledgewatch: a news-monitoring crawler for corporate pledges in the Chinese English-language press."""

__version__ = "0.1.0"
