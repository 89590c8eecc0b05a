"""The starter project ``regimeflex init`` writes (also the repository's demo ``config/``)."""
