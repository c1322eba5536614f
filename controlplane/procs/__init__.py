"""Process supervision: the restart policy (pure), the programs the supervisor runs, its
watching loop and the state file ``centrala status`` reads (see ``controlplane/supervisor.py``)."""
