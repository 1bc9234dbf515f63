"""The web viewer: a live, read-only view of the memory for its owner, on 127.0.0.1.

Modules: ``access`` (who gets in: the data dir owner's token, Host/Origin checks),
``process`` (its own on-demand process: start, find, stop), ``launcher`` (that process's
entry: lock, bind, serve, idle exit), ``server`` (HTTP plumbing and the door every request
passes), ``params`` (input bounds), ``routes`` (pages, JSON, the settings change), ``feed``
(the live feed and its stream), ``pages`` (HTML), ``static/`` (one stylesheet, one script;
no external fonts, scripts or build step).
"""
