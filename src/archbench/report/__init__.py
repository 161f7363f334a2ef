"""Reports: HTML pages, comparison tables, statistics."""
