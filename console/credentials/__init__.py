"""API credentials, kept in the OS keyring only (arrives with the profiles work)."""
