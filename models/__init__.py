"""The shipped models, packaged as `live_digits.models` (see setup.cfg); found with importlib.resources."""
