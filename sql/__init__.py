"""The SQL models, one table per file (data, not code): installed as `loyalty.sql` so that the
engine finds them with importlib.resources in a checkout, an editable install and a wheel alike."""
