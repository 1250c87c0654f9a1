"""The systemd unit: `unit` renders it (pure), `install` makes the machine ready for it
(system user and group, notebook dir) and writes it."""
