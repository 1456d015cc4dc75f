"""Cross-RMM device identity: evidence a normalizer extracts, junk values that are no evidence,
and the policy that decides when two devices are one machine (ingestion/correlation.py applies it)."""
