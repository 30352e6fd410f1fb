"""The jupyter-server-proxy entry that starts the Floe hub on first use of ``<base_url>/floe-hub/``.

Registered through the ``jupyter_serverproxy_servers`` entry point (pyproject.toml) rather than a
``ServerProxy.servers`` block in ``jupyter_server_config.d``: jupyter_server reads only
``ServerApp.jpserver_extensions`` from those ``.d`` files, so a proxy entry there is silently ignored.
"""

from __future__ import annotations

import sysconfig
from pathlib import Path
from typing import Any

#: How long jupyter-server-proxy waits for the hub to answer on its socket (it starts in about a second).
HUB_START_TIMEOUT_S = 20


def hub_launcher() -> str:
    """The ``floe-hub`` console script of this environment, by absolute path: Jupyter may run without
    the environment's scripts folder on PATH (``.venv/bin/jupyter lab`` from an unactivated shell)."""
    script = Path(sysconfig.get_path("scripts")) / "floe-hub"
    return str(script) if script.exists() else "floe-hub"


def floe_hub_server() -> dict[str, Any]:
    """``ServerProcess`` settings for the hub: a private unix socket, no launcher tile."""
    return {
        "command": [hub_launcher(), "--socket", "{unix_socket}"],
        "unix_socket": True,
        "timeout": HUB_START_TIMEOUT_S,
        "launcher_entry": {"enabled": False},
        "new_browser_tab": False,
    }
