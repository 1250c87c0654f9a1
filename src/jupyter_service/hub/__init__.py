"""Several users: the same config serves JupyterHub, one JupyterLab per user.

`settings` renders JupyterHub's and each user's server's settings (pure); `auth` is the
hub's authenticator (the service's password and Authelia rules); `spawner` starts each
user's server as that user; `singleuser` is what runs as the user; `app` prepares the
state and runs the hub; `kubernetes` renders the zero-to-jupyterhub values.
"""
