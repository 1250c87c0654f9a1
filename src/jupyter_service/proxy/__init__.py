"""nginx in front of Jupyter: render its site (pure), write and test it with `nginx -t`."""
