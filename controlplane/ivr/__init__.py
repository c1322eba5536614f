"""The IVR domain: runs published flows (the pure ivr_flows library) on live calls."""
